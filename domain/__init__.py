"""Domain verbs: plain functions that change state, write the audit log and flush. The request commits."""


class DomainError(Exception):
    """A refusal a user can read: the Chinese message, and the form field it concerns if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class StaleError(DomainError):
    """The page showed an older version: someone (or another tab) acted first. Nothing was changed."""


def allowed(step, refusal: str | None, reason: str, field: str = "reason"):
    """The step of a workflow table (the founding, the record's, the 换届's), once its table's refusal for this actor
    and state is None; a step that needs a reason is refused a blank one. Every verb of those tables asks here."""
    if refusal is not None:
        raise DomainError(refusal)
    if step.needs_reason and not reason.strip():
        raise DomainError(f"{step.label}须填写理由", field)
    return step


def insert_if_absent(session, model, **values) -> None:
    """INSERT ... ON CONFLICT DO NOTHING, in PostgreSQL's or SQLite's spelling: of two first writers creating the
    same row, the second changes nothing (and then reads or updates the row the first made)."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if session.connection().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(model).values(**values).on_conflict_do_nothing())


def bump_version(obj, message: str = "该事项刚刚被他人处理，本次操作未执行。请查看最新状态。") -> None:
    """Move obj's optimistic-lock version on and write it now. The UPDATE carries "WHERE version = <old>": of two
    requests that read the same version, one wins and the other gets StaleError with the message."""
    from sqlalchemy.orm.exc import StaleDataError

    from models import db

    obj.version += 1
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise StaleError(message) from None
