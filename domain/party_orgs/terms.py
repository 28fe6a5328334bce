"""Terms of office (任期): how many years a kind's committee serves, and when a term that starts on a day ends."""
import calendar
from datetime import date

import sqlalchemy as sa

from models import LabelledEnum, PartyOrg, PartyOrgKind, PartyOrgState, TermLength, db

# 《关于党的基层组织任期的意见》(2018): 党支部 (a joint one and one with a committee too) and 党总支 3 years, 基层党委
# 5. The migration seeds term_lengths with these; the admin may change them there (3 to 5 years).
DEFAULT_TERM_YEARS = {
    PartyOrgKind.JOINT_BRANCH: 3, PartyOrgKind.BRANCH: 3, PartyOrgKind.BRANCH_COMMITTEE: 3,
    PartyOrgKind.GENERAL_BRANCH: 3, PartyOrgKind.PARTY_COMMITTEE: 5,
}


def term_years(kind: PartyOrgKind) -> int:
    """The years a term of this kind lasts now: the admin's value, the default where none is stored."""
    stored = db.session.scalar(sa.select(TermLength.years).where(TermLength.kind == kind))
    return stored if stored is not None else DEFAULT_TERM_YEARS[kind]


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


def term_status_sql(today: date) -> sa.ColumnElement:
    """The term status of a record as of `today`, in SQL (a TermStatus value; NULL for one no longer active): the
    one rule the lists filter by and the record page reads for its own row."""
    return sa.case(
        (PartyOrg.state != PartyOrgState.ACTIVE, sa.null()),
        (PartyOrg.term_end < today, TermStatus.EXPIRED.value),
        (PartyOrg.term_end <= months_later(today, DUE_MONTHS), TermStatus.DUE.value),
        else_=TermStatus.CURRENT.value)
