"""Coverage history (coverage_changes): every change of coverage is kept, and the trend by month reads it as it was."""
import re
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from domain.coverage import set_coverage
from domain.dashboard import build_dashboard
from models import CoverageCause, CoverageChange, Organisation, OrgKind, db
from tests.conftest import make_test_app

MARCH, MAY = (datetime(2026, m, 10, tzinfo=timezone.utc) for m in (3, 5))


def test_set_coverage_writes_a_change_only_when_the_coverage_changes(ctx, make_org):
    host = make_org(has_party_org=True)
    org = db.session.get(Organisation, make_org(formal_members=1).id)
    assert not set_coverage(org, own=False, joint_code=None, cause=CoverageCause.REGISTRY)  # uncovered already
    assert set_coverage(org, own=False, joint_code=host.credit_code, cause=CoverageCause.JOINT_BRANCH, at=MARCH)
    # Out of the joint branch into an own organisation: covered before and after, no change to keep.
    assert not set_coverage(org, own=True, joint_code=host.credit_code, cause=CoverageCause.ESTABLISH)
    assert (org.has_party_org, org.joint_branch_code) == (True, None)
    assert set_coverage(org, own=False, joint_code=None, cause=CoverageCause.DISSOLUTION, at=MAY)
    db.session.flush()
    rows = db.session.execute(sa.select(CoverageChange.covered, CoverageChange.cause)
                              .where(CoverageChange.organisation_id == org.id).order_by(CoverageChange.id)).all()
    assert rows == [(True, CoverageCause.JOINT_BRANCH), (False, CoverageCause.DISSOLUTION)]


def test_a_loss_of_coverage_lowers_the_months_from_its_own_on(ctx, make_org):
    # Three organisations with members, none covered by the factory: 甲 covered in March, 乙 in March and no
    # longer in May, 丙 never. With members: 3. March: 2 covered (66.7%); May: 1 (33.3%).
    a, b, _ = (db.session.get(Organisation, make_org(formal_members=4).id) for _ in range(3))
    set_coverage(a, own=True, joint_code=None, cause=CoverageCause.ESTABLISH, at=MARCH)
    set_coverage(b, own=True, joint_code=None, cause=CoverageCause.ESTABLISH, at=MARCH)
    db.session.commit()
    before = build_dashboard().by_month
    set_coverage(b, own=False, joint_code=None, cause=CoverageCause.DISSOLUTION, at=MAY)
    db.session.commit()
    after = build_dashboard().by_month
    assert before == [{"month": "2026-03", "new": 2, "lost": 0, "total": 2, "rate": 66.7}]
    assert after == [before[0], {"month": "2026-05", "new": 0, "lost": 1, "total": 1, "rate": 33.3}]


def test_the_upgrade_backfills_the_organisations_covered_today(tmp_path):
    """Each covered organisation gets one row: since its first establish step, or its registry entry."""
    from models import AppState, Application, ApplicationEvent, Instructor, PartyOrgKind, Role, User
    from models.unit import Unit

    script = next(Path("migrations/versions").glob("*_coverage_changes.py")).read_text()
    head, down = (re.search(rf"^{name} = '(\w+)'", script, re.M).group(1) for name in ("revision", "down_revision"))
    app = make_test_app(f"sqlite:///{tmp_path / 'old.db'}")
    created = datetime(2025, 1, 5, tzinfo=timezone.utc)
    with app.app_context():
        upgrade(revision=down)
        table = lambda model: model.__table__  # noqa: E731
        with db.engine.begin() as conn:
            conn.execute(sa.insert(table(Unit)), dict(id=1, code="u", name="单位", category="park", sort_order=1))
            conn.execute(sa.insert(table(User)), dict(id=1, username="z", password_hash="x", name="z",
                                                      role=Role.ZONE_APPROVER))
            # 1 established through the app in March, 2 organised before the system, 3 in 2's joint branch, 4 not.
            for i, (own, joint) in enumerate([(True, None), (True, None), (False, "91150500MA00000001"),
                                              (False, None)]):
                conn.execute(sa.insert(table(Organisation)), dict(
                    id=i + 1, name=f"企业{i}", credit_code=f"91150500MA0000000{i}", kind=OrgKind.ENTERPRISE, unit_id=1,
                    has_party_org=own, joint_branch_code=joint, created_at=created))
            conn.execute(sa.insert(table(Instructor)), dict(id=1, name="指导员", home_organ="组织部", phone="13900000000"))
            conn.execute(sa.insert(table(Application)), dict(
                id=1, organisation_id=1, unit_id=1, state=AppState.ESTABLISHED, requested_kind=PartyOrgKind.BRANCH,
                state_changed_at=MARCH, submitted_at=MARCH, instructor_id=1))
            conn.execute(sa.insert(table(ApplicationEvent)), dict(
                application_id=1, at=MARCH, actor_id=1, actor_role=Role.ZONE_APPROVER, action="establish",
                from_state=AppState.ELECTION_REPORTED, to_state=AppState.ESTABLISHED))
        upgrade(revision=head)
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT organisation_id, substr(at, 1, 10), covered, cause "
                                        "FROM coverage_changes ORDER BY organisation_id")).all()
        db.engine.dispose()
    assert rows == [(1, "2026-03-10", 1, "backfill"), (2, "2025-01-05", 1, "backfill"),
                    (3, "2025-01-05", 1, "backfill")]


def test_only_the_coverage_module_assigns_coverage():
    """Coverage changes in one place (domain/coverage.py), so that none escapes the history."""
    assigns = re.compile(r"\.(has_party_org|joint_branch_code)(\s*,\s*\w+\.\w+)*\s*=[^=]")
    found = [f"{path}:{n}" for folder in ("domain", "blueprints", "jobs", "models") for path in Path(folder).rglob("*.py")
             if path.as_posix() != "domain/coverage.py"
             for n, line in enumerate(path.read_text().splitlines(), 1) if assigns.search(line)]
    assert found == []
