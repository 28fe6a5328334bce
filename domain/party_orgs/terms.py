"""Terms of office (任期): how many years a kind's committee serves, and when a term that starts on a day ends."""
from datetime import date

import sqlalchemy as sa

from models import PartyOrgKind, TermLength, db

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
