"""The formation rate's counts (组建率), kept per unit and kind in the same transaction as organisations change.

The dashboard and the zone's overview read these rows instead of counting 110,000 organisations on each view. A write
marks what it touched: an ORM change of an organisation (or of its coverage history) the units it was and is in; a
set-based statement on either table (the registry's import, a backfill) every unit. The marked units are recounted
from the organisations, by the same SQL conditions the lists use, before the transaction commits, or before a figure
is read in it (recount_marked). Concurrent writers of one unit recount one after the other: the unit's row is locked
first, so the later one counts what the earlier committed.
"""
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.sql.visitors import iterate

from models import COUNTED, CoverageChange, CoverageMonth, FormationCount, Organisation, Unit, db

from .coverage import COVERED

MEMBERS = Organisation.formal_members + Organisation.probationary_members
# 应建未建: enough formal members for a branch of its own (three), and covered by none: neither its own nor another's
# (a joint branch, or the branch its members moved into when the zone dissolved its own, domain/party_orgs).
SHOULD_BUILD = sa.and_(Organisation.formal_members >= 3, sa.not_(COVERED))
# 应联未联: Party members but too few formal ones for a branch of its own, and in no joint branch.
SHOULD_JOIN = sa.and_(Organisation.formal_members < 3, MEMBERS > 0, sa.not_(Organisation.has_party_org),
                      Organisation.joint_branch_code.is_(None))
# Each kept figure (a FormationCount column): the condition a counted organisation meets to be counted in it.
FIGURES = {
    "organisations": sa.true(),
    "with_members": MEMBERS > 0,
    "covered": COVERED,
    "covered_with_members": sa.and_(MEMBERS > 0, COVERED),
    "should_build": SHOULD_BUILD,
    "should_join": SHOULD_JOIN,
    "with_party_org": Organisation.has_party_org,
}
# The organisation's attributes a figure reads: a change of any other (a phone number) recounts nothing.
_READ = {c.key for c in iterate(sa.and_(*FIGURES.values(), COUNTED)) if isinstance(c, sa.Column)} | {"unit_id", "kind"}
_TABLES = {Organisation.__tablename__, CoverageChange.__tablename__}
_MARKED = "formation_counts.marked"  # session.info: the unit ids to recount, or ALL
ALL = "all"


def month_of(column, dialect: str):
    """A time's month in UTC, "2026-03": a day's difference at the turn of a month does not change a trend."""
    if dialect == "postgresql":
        return sa.func.to_char(column, "YYYY-MM")
    return sa.func.strftime("%Y-%m", column)


def mark(session: Session, unit_ids) -> None:
    """Have these units (or ALL) recounted before the transaction commits."""
    marked = session.info.get(_MARKED, set())
    session.info[_MARKED] = ALL if ALL in (marked, unit_ids) else marked | set(unit_ids)


def recount(unit_ids=ALL, connection: sa.Connection | None = None) -> None:
    """Count the units' figures and coverage months again from the organisations (ALL: every unit's), in the
    session's transaction or on the connection given (the migration that made the tables fills them with this)."""
    connection = connection or db.session.connection()
    ids = None if unit_ids == ALL else sorted(unit_ids)

    def of(column):
        return sa.true() if ids is None else column.in_(ids)

    # The units' rows locked (key_share: FOR NO KEY UPDATE, which lets organisations still be added to them): a
    # concurrent recount of the same unit waits here, then counts with the other transaction's changes committed.
    connection.execute(sa.select(Unit.id).where(of(Unit.id)).order_by(Unit.id).with_for_update(key_share=True))
    for model in (FormationCount, CoverageMonth):
        connection.execute(sa.delete(model).where(of(model.unit_id)))
    connection.execute(sa.insert(FormationCount).from_select(["unit_id", "kind", *FIGURES],
                                                             counted(of(Organisation.unit_id))))
    connection.execute(sa.insert(CoverageMonth).from_select(
        ["unit_id", "month", "new", "lost"], counted_months(of(Organisation.unit_id), connection.dialect.name)))


def counted(scope=sa.true()) -> sa.Select:
    """The figures of the organisations in scope counted afresh, per unit and kind (what FormationCount keeps)."""
    return (sa.select(Organisation.unit_id, Organisation.kind,
                      *(sa.func.count().filter(condition).label(name) for name, condition in FIGURES.items()))
            .where(COUNTED, scope).group_by(Organisation.unit_id, Organisation.kind))


def counted_months(scope, dialect: str) -> sa.Select:
    """The coverage changes of the organisations in scope counted afresh, per unit and month (what CoverageMonth
    keeps)."""
    month = month_of(CoverageChange.at, dialect)
    return (sa.select(Organisation.unit_id, month.label("month"),
                      sa.func.count().filter(CoverageChange.covered).label("new"),
                      sa.func.count().filter(sa.not_(CoverageChange.covered)).label("lost"))
            .join(Organisation, Organisation.id == CoverageChange.organisation_id)
            .where(COUNTED, MEMBERS > 0, scope).group_by(Organisation.unit_id, month))


def recount_marked(session: Session | None = None) -> None:
    """Recount what this transaction's writes marked (nothing, when it wrote no organisation)."""
    session = session or db.session()
    session.flush()
    marked = session.info.pop(_MARKED, None)
    if marked:
        recount(marked, session.connection())


@event.listens_for(Session, "after_flush")
def _mark_changed_organisations(session: Session, _context) -> None:
    units = set()
    for obj in (*session.new, *session.deleted):
        if isinstance(obj, Organisation):
            units.add(obj.unit_id)
        elif isinstance(obj, CoverageChange):
            units.add(obj.organisation.unit_id)
    for obj in session.dirty:
        if isinstance(obj, Organisation):
            state = sa.inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in _READ):
                units.update({obj.unit_id, *state.attrs.unit_id.history.deleted})
    if units:
        mark(session, units)


@event.listens_for(Session, "do_orm_execute")
def _mark_set_based_writes(state) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and \
            getattr(getattr(state.statement, "table", None), "name", None) in _TABLES:
        mark(state.session, ALL)


@event.listens_for(Session, "before_commit")
def _recount_before_commit(session: Session) -> None:
    if not session.in_nested_transaction():
        recount_marked(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_marks(session: Session, transaction) -> None:
    if transaction.parent is None:  # committed (recounted) or rolled back: nothing stays marked
        session.info.pop(_MARKED, None)
