"""The migrations: they build the schema the models describe, and they go down and up again."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from models import db
from tests.conftest import make_test_app


def test_upgrade_downgrade_upgrade_on_sqlite(tmp_path):
    app = make_test_app(f"sqlite:///{tmp_path / 'm.db'}")
    with app.app_context():
        upgrade()
        assert "audit_events" in sa.inspect(db.engine).get_table_names()
        downgrade(revision="base")
        assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
        upgrade()
        assert {"units", "organisations", "users", "instructors", "audit_events", "stored_files"} <= set(
            sa.inspect(db.engine).get_table_names())
        db.engine.dispose()


def test_migrations_match_the_models(app):
    """A model change without its revision fails here (on whichever database the suite runs)."""
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert diff == []


def test_submitted_at_is_filled_from_the_history(tmp_path):
    """The upgrade that adds applications.submitted_at takes each application's first "submit" from its history:
    officials keep seeing exactly what they saw before, and a draft withdrawn unsubmitted stays hidden."""
    from datetime import datetime, timezone

    from models import AppState, Application, ApplicationEvent, Organisation, OrgKind, PartyOrgKind, Role, User
    from models.unit import Unit

    app = make_test_app(f"sqlite:///{tmp_path / 'old.db'}")
    first, second = (datetime(2026, 3, d, 8, tzinfo=timezone.utc) for d in (1, 9))
    with app.app_context():
        upgrade(revision="c3d5e7f9a1b2")
        # The tables' Core inserts name only the columns given, so they fit the older schema.
        table = lambda model: model.__table__  # noqa: E731
        with db.engine.begin() as conn:
            conn.execute(sa.insert(table(Unit)), dict(id=1, code="u", name="单位", category="park", sort_order=1))
            conn.execute(sa.insert(table(User)), dict(id=1, username="z", password_hash="x", name="z",
                                                      role=Role.ZONE_APPROVER))
            for i in range(4):
                conn.execute(sa.insert(table(Organisation)), dict(
                    id=i + 1, name=f"企业{i}", credit_code=f"91150500MA0000000{i}", kind=OrgKind.ENTERPRISE, unit_id=1))
            states = [AppState.UNIT_APPROVED, AppState.WITHDRAWN, AppState.WITHDRAWN, AppState.DRAFT]
            for i, state in enumerate(states):
                conn.execute(sa.insert(table(Application)), dict(
                    id=i + 1, organisation_id=i + 1, unit_id=1, state=state, requested_kind=PartyOrgKind.BRANCH,
                    state_changed_at=second))
            # 1 was submitted twice (returned between), 2 was submitted then withdrawn, 3 withdrawn as a draft.
            for application_id, at in ((1, first), (1, second), (2, second)):
                conn.execute(sa.insert(table(ApplicationEvent)), dict(
                    application_id=application_id, at=at, actor_id=1, actor_role=Role.APPLICANT, action="submit",
                    from_state=AppState.DRAFT, to_state=AppState.SUBMITTED))
        upgrade()
        with db.engine.connect() as conn:
            found = dict(conn.execute(sa.text("SELECT id, submitted_at FROM applications")).all())
            # The migration turned foreign keys off to rebuild the table; the connection it hands back enforces them.
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            # And the new constraint keeps drafts private from now on: a draft cannot carry a submission time.
            with pytest.raises(sa.exc.IntegrityError, match="submitted_at_matches_state"):
                conn.execute(sa.text("UPDATE applications SET submitted_at = '2026-03-01 08:00:00' WHERE id = 4"))
        db.engine.dispose()
    assert [found[i] is not None for i in (1, 2, 3, 4)] == [True, True, False, False]
    assert found[1].startswith("2026-03-01") and found[2].startswith("2026-03-09")


def test_the_nine_units_get_their_superior_party_organisations(tmp_path):
    """The upgrade that adds units.superior gives the seeded units theirs (工商联党组 is led by the 非公经济组织
    综合党委, not by itself) and leaves a unit of another code blank: the 党工委 leads it."""
    from models.unit import Unit

    app = make_test_app(f"sqlite:///{tmp_path / 'old.db'}")
    with app.app_context():
        upgrade(revision="3041cb016592")
        with db.engine.begin() as conn:
            for i, code in enumerate(("federation", "industrial_park", "added_later"), start=1):
                conn.execute(sa.insert(Unit.__table__).values(
                    id=i, code=code, name=f"单位{i}", category="park", sort_order=i))
        upgrade()
        with db.engine.connect() as conn:
            found = dict(conn.execute(sa.text("SELECT code, superior FROM units")).all())
        db.engine.dispose()
    assert found == {"federation": "中共通辽经济技术开发区非公有制经济组织综合委员会",
                     "industrial_park": "中共通辽经济技术开发区新型工业园区委员会", "added_later": ""}
