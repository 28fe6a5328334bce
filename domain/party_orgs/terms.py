"""Terms of office (任期): how many years a kind's committee serves, and when a term that starts on a day ends."""
import calendar
from datetime import date

import sqlalchemy as sa

from models import LabelledEnum, PartyOrg, PartyOrgKind, PartyOrgState, Role, TermLength, User, db

from .. import DomainError
from ..audit import record_event

# 《关于党的基层组织任期的意见》(2018): 党支部 (a joint one and one with a committee too) and 党总支 3 years, 基层党委
# 5. The migration seeds term_lengths with these; the admin may change them there (3 to 5 years).
MIN_YEARS, MAX_YEARS = 3, 5  # the term_lengths table's check says the same
DEFAULT_TERM_YEARS = {
    PartyOrgKind.JOINT_BRANCH: 3, PartyOrgKind.BRANCH: 3, PartyOrgKind.BRANCH_COMMITTEE: 3,
    PartyOrgKind.GENERAL_BRANCH: 3, PartyOrgKind.PARTY_COMMITTEE: 5,
}


def term_years(kind: PartyOrgKind) -> int:
    """The years a term of this kind lasts now: the admin's value, the default where none is stored."""
    stored = db.session.scalar(sa.select(TermLength.years).where(TermLength.kind == kind))
    return stored if stored is not None else DEFAULT_TERM_YEARS[kind]


def term_lengths() -> list[tuple[PartyOrgKind, int, TermLength | None]]:
    """Every kind's term length now, with its stored row (None: the default applies), for the admin's page."""
    stored = {row.kind: row for row in db.session.scalars(sa.select(TermLength))}
    return [(kind, stored[kind].years if kind in stored else DEFAULT_TERM_YEARS[kind], stored.get(kind))
            for kind in PartyOrgKind]


def set_term_length(kind: PartyOrgKind, years: int, *, actor: User) -> TermLength:
    """Set how many years a kind's term lasts (修改任期年限), for the terms that start from now on: a term already
    running keeps its end (a 换届 or a postponement moves it)."""
    if actor.role is not Role.ADMIN:
        raise DomainError("只有系统管理员可以修改任期年限")
    if not isinstance(years, int) or not MIN_YEARS <= years <= MAX_YEARS:
        raise DomainError(f"任期年限应为 {MIN_YEARS} 至 {MAX_YEARS} 年（党章规定基层组织每届任期3年至5年）", "years")
    row = db.session.get(TermLength, kind)
    before = row.years if row is not None else DEFAULT_TERM_YEARS[kind]
    if row is None:
        row = TermLength(kind=kind, years=years)
        db.session.add(row)
    row.years = years
    db.session.flush()
    record_event("set_term_length", row, actor, f"{kind.label}任期由{before}年改为{years}年", kind=kind.value,
                 before=before, years=years)
    return row


def term_end(start: date, years: int) -> date:
    """The day a term begun on `start` ends: the same day `years` later (28 February for a 29th)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return date(start.year + years, 2, 28)


class TermStatus(LabelledEnum):
    """Where a term stands today: the lists' filter, the record's badge, the reminders and the dashboard's counts."""
    CURRENT = "current", "在届"
    DUE = "due", "半年内届满"
    EXPIRED = "expired", "届满未换届"

    @property
    def badge(self) -> str:
        return {"current": "success", "due": "warning", "expired": "danger"}[self.value]


# The higher organisation reminds an organisation about six months before its term ends (DOMAIN.md).
DUE_MONTHS = 6


def months_later(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day where it has no such day (31 August -> 28 February)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def term_expired(term_end, today: date):
    """Whether a term ending on `term_end` has expired by `today` (届满未换届): on a record's date in Python, or on the
    column in SQL (term_status_sql), the one rule of lateness."""
    return term_end < today


def term_status_sql(today: date) -> sa.ColumnElement:
    """The term status of a record as of `today`, in SQL (a TermStatus value; NULL for one no longer active): the
    one rule the lists filter by and the record page reads for its own row."""
    return sa.case(
        (PartyOrg.state != PartyOrgState.ACTIVE, sa.null()),
        (term_expired(PartyOrg.term_end, today), TermStatus.EXPIRED.value),
        (PartyOrg.term_end <= months_later(today, DUE_MONTHS), TermStatus.DUE.value),
        else_=TermStatus.CURRENT.value)
