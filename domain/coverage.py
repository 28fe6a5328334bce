"""Coverage (覆盖): whether an organisation counts as covered by a Party organisation, and since when.

The one place that changes Organisation.has_party_org and joint_branch_code: establishing, the registry's import,
a joint branch taking in its partners, a dissolution, a merge, members moved into another branch. Each change of
coverage is kept (coverage_changes), and the formation rate's trend by month reads them (domain/dashboard.py).
"""
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from models import (
    Application, ApplicationEvent, CoverageCause, CoverageChange, Organisation, db, utcnow,
)

CHUNK = 1000
# Covered by a Party organisation: its own (founded here or before), or a joint branch it belongs to (as
# Organisation.covered says of one row).
COVERED = sa.or_(Organisation.has_party_org, Organisation.joint_branch_code.is_not(None))


def set_coverage(org: Organisation, *, own: bool, joint_code: str | None, cause: CoverageCause,
                 at: datetime | None = None) -> bool:
    """Give the organisation its own Party organisation (own) or a joint branch's host (joint_code), or neither; a
    change of coverage is written to its history. Returns whether the coverage changed."""
    was = org.covered
    org.has_party_org, org.joint_branch_code = own, (None if own else joint_code)
    if org.covered == was:
        return False
    db.session.add(CoverageChange(organisation=org, at=at or utcnow(), covered=org.covered, cause=cause))
    return True


def record_by_code(changes: dict[str, bool], cause: CoverageCause, at: datetime | None = None) -> int:
    """Write the coverage changes of a bulk write (the registry's import), by credit code: covered or no longer.
    The organisations must be written already. Returns the rows written."""
    at = at or utcnow()
    written = 0
    codes = list(changes)
    for start in range(0, len(codes), CHUNK):
        chunk = codes[start:start + CHUNK]
        ids = db.session.execute(sa.select(Organisation.credit_code, Organisation.id)
                                 .where(Organisation.credit_code.in_(chunk)))
        rows = [{"organisation_id": id_, "at": at, "covered": changes[code], "cause": cause} for code, id_ in ids]
        if rows:
            db.session.execute(sa.insert(CoverageChange), rows)
            written += len(rows)
    return written


def backfill_coverage(org_ids: Iterable[int] | None = None) -> int:
    """Give every covered organisation without a coverage history one row: covered since the zone established its
    Party organisation (the first establish step), or since it entered the registry. The migration does the same
    for the organisations of its day; the seeding and the tests' factories call this. Returns the rows written."""
    established = (sa.select(sa.func.min(ApplicationEvent.at))
                   .join(Application, Application.id == ApplicationEvent.application_id)
                   .where(Application.organisation_id == Organisation.id, ApplicationEvent.action == "establish")
                   .scalar_subquery())
    query = (sa.select(Organisation.id, sa.func.coalesce(established, Organisation.created_at), sa.true(),
                       sa.literal(CoverageCause.BACKFILL.value))
             .where(COVERED,
                    ~sa.exists().where(CoverageChange.organisation_id == Organisation.id)))
    if org_ids is not None:
        query = query.where(Organisation.id.in_(list(org_ids)))
    result = db.session.execute(sa.insert(CoverageChange).from_select(
        ["organisation_id", "at", "covered", "cause"], query))
    return result.rowcount
