"""Queries over the organisation registry (摸底): lists and counts for the officials' pages."""
import sqlalchemy as sa

from models import Organisation, Unit, db


def name_or_code_matches(text: str) -> sa.ColumnElement[bool]:
    """An organisation whose name or credit code contains the fragment (wildcards taken literally)."""
    text = text.strip()
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return sa.or_(Organisation.name.like(pattern, escape="\\"),
                  Organisation.credit_code.like(pattern.upper(), escape="\\"))


def search_organisations(*, unit: Unit | None = None, text: str = "", page: int = 1, per_page: int = 50):
    """One page of organisations, optionally of one unit and matching a name or credit-code fragment."""
    query = sa.select(Organisation).order_by(Organisation.name, Organisation.id)
    if unit is not None:
        query = query.where(Organisation.unit_id == unit.id)
    if text.strip():
        query = query.where(name_or_code_matches(text))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def unit_summary() -> list[dict]:
    """Per unit: organisations, those with Party members, those with a Party organisation (one query)."""
    members = Organisation.formal_members + Organisation.probationary_members
    rows = db.session.execute(
        sa.select(
            Unit,
            sa.func.count(Organisation.id),
            sa.func.count(Organisation.id).filter(members > 0),
            sa.func.count(Organisation.id).filter(Organisation.has_party_org),
        )
        .outerjoin(Organisation, Organisation.unit_id == Unit.id)
        .group_by(Unit.id)
        .order_by(Unit.sort_order)
    )
    return [
        {"unit": unit, "organisations": total, "with_members": with_members, "with_party_org": with_org}
        for unit, total, with_members, with_org in rows
    ]
