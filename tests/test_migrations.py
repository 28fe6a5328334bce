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


def _applications(conn, states, **columns) -> None:
    """A unit, a zone user (id 1), and an organisation with an application (ids from 1) in each state, written with
    Core inserts that name only the columns given, so that they fit an older schema."""
    from models import Application, Organisation, OrgKind, PartyOrgKind, Role, User
    from models.unit import Unit

    conn.execute(sa.insert(Unit.__table__), dict(id=1, code="u", name="单位", category="park", sort_order=1))
    conn.execute(sa.insert(User.__table__), dict(id=1, username="z", password_hash="x", name="z",
                                                 role=Role.ZONE_APPROVER))
    for i, state in enumerate(states, start=1):
        conn.execute(sa.insert(Organisation.__table__), dict(
            id=i, name=f"企业{i}", credit_code=f"91150500MA0000000{i}", kind=OrgKind.ENTERPRISE, unit_id=1))
        conn.execute(sa.insert(Application.__table__), dict(
            id=i, organisation_id=i, unit_id=1, state=state, requested_kind=PartyOrgKind.BRANCH, **columns))


def test_submitted_at_is_filled_from_the_history(tmp_path):
    """The upgrade that adds applications.submitted_at takes each application's first "submit" from its history:
    officials keep seeing exactly what they saw before, and a draft withdrawn unsubmitted stays hidden."""
    from datetime import datetime, timezone

    from models import AppState, ApplicationEvent, Role

    app = make_test_app(f"sqlite:///{tmp_path / 'old.db'}")
    first, second = (datetime(2026, 3, d, 8, tzinfo=timezone.utc) for d in (1, 9))
    with app.app_context():
        upgrade(revision="c3d5e7f9a1b2")
        # The tables' Core inserts name only the columns given, so they fit the older schema.
        table = lambda model: model.__table__  # noqa: E731
        with db.engine.begin() as conn:
            _applications(conn, [AppState.UNIT_APPROVED, AppState.WITHDRAWN, AppState.WITHDRAWN, AppState.DRAFT],
                          state_changed_at=second)
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


def test_established_organisations_get_their_records(tmp_path):
    """The upgrade that adds party_orgs opens a record for each established application: its name as the 批复 give
    it, the term from the establish step's date in the zone (a step at 20:00 UTC is the next day there), the
    committee from the election report linked to the member list, and the founding documents on the record."""
    from datetime import date, datetime, timezone

    from models import (
        AppState, Application, ApplicationEvent, ApplicationMember, Instructor, Organisation, OrgKind, Role, User,
    )
    from models.stored_file import StoredFile
    from models.unit import Unit

    app = make_test_app(f"sqlite:///{tmp_path / 'old.db'}")
    established_at = datetime(2024, 2, 28, 20, 0, tzinfo=timezone.utc)  # 29 February in Asia/Shanghai
    with app.app_context():
        upgrade(revision="a2f0440260d6")
        table = lambda model: model.__table__  # noqa: E731
        with db.engine.begin() as conn:
            conn.execute(sa.insert(table(Unit)), dict(id=1, code="u", name="单位", category="park", sort_order=1))
            conn.execute(sa.insert(table(User)), dict(id=1, username="z", password_hash="x", name="z",
                                                      role=Role.ZONE_APPROVER))
            conn.execute(sa.insert(table(StoredFile)), [dict(id=i, filename=f"{i}.pdf", content_type="application/pdf",
                                                             size=1, sha256="0" * 64, data=b"x", created_by_id=1)
                                                        for i in (1, 2)])
            for i, name in ((1, "甲公司"), (2, "乙协会")):
                conn.execute(sa.insert(table(Organisation)), dict(
                    id=i, name=name, credit_code=f"91150500MA0000000{i}", kind=OrgKind.ENTERPRISE, unit_id=1))
            conn.execute(sa.insert(table(Instructor)), dict(id=1, name="指导员", home_organ="组织部", phone="1"))
            conn.execute(sa.insert(table(Application)), [
                dict(id=1, organisation_id=1, unit_id=1, state=AppState.ESTABLISHED, requested_kind="party_committee",
                     instructor_id=1, submitted_at=established_at, state_changed_at=established_at,
                     secretary_name="张三", committee_members="李四、张三、王五"),
                dict(id=2, organisation_id=2, unit_id=1, state=AppState.ELECTION_REPORTED, requested_kind="branch",
                     instructor_id=1, submitted_at=established_at, state_changed_at=established_at,
                     secretary_name="赵六", committee_members=None)])
            conn.execute(sa.insert(table(ApplicationMember)), [
                dict(id=10 + i, application_id=1, position=i, name=n, gender="male", joined_on=date(2000, 1, 1),
                     status="formal") for i, n in enumerate(("张三", "李四", "王五"))])
            conn.execute(sa.insert(table(ApplicationEvent)), dict(
                application_id=1, at=established_at, actor_id=1, actor_role=Role.ZONE_APPROVER, action="establish",
                from_state=AppState.ELECTION_REPORTED, to_state=AppState.ESTABLISHED))
            conn.execute(sa.text(
                "INSERT INTO documents (id, application_id, kind, year, serial, number, title, token, file_id, "
                "issued_at, issued_by_id) VALUES (1, 1, 'approval', 2024, 1, 'n1', 't', 'a', 1, '2024-01-01', 1), "
                "(2, 2, 'approval', 2024, 2, 'n2', 't', 'b', 2, '2024-01-01', 1)"))
        upgrade()
        with db.engine.connect() as conn:
            orgs = conn.execute(sa.text("SELECT application_id, name, kind, state, established_on, term_start, "
                                        "term_end FROM party_orgs")).all()
            seats = conn.execute(sa.text("SELECT name, post, member_id, started_on, ended_on FROM committee_seats "
                                         "ORDER BY id")).all()
            documents = conn.execute(sa.text("SELECT id, party_org_id FROM documents ORDER BY id")).all()
            years = dict(conn.execute(sa.text("SELECT kind, years FROM term_lengths")).all())
        db.engine.dispose()
    assert [tuple(o) for o in orgs] == [(1, "中共甲公司委员会", "party_committee", "active", "2024-02-29",
                                         "2024-02-29", "2029-02-28")]
    assert [tuple(s) for s in seats] == [("张三", "secretary", 10, "2024-02-29", None),
                                         ("李四", "member", 11, "2024-02-29", None),
                                         ("王五", "member", 12, "2024-02-29", None)]
    assert [tuple(d) for d in documents] == [(1, 1), (2, None)]
    assert years == {"joint_branch": 3, "branch": 3, "branch_committee": 3, "general_branch": 3,
                     "party_committee": 5}


def test_each_events_days_since_the_previous_are_backfilled(tmp_path):
    """The upgrade that adds application_events.days_since_previous fills it for the history before it, as the
    dashboard paired the events (the application's event before, by id): None on an application's first event."""
    from datetime import datetime, timedelta, timezone

    from models import AppState, ApplicationEvent, Role

    app = make_test_app(f"sqlite:///{tmp_path / 'old.db'}")
    t0 = datetime(2026, 3, 1, 8, tzinfo=timezone.utc)
    with app.app_context():
        upgrade(revision="b29c439dde95")
        table = lambda model: model.__table__  # noqa: E731
        with db.engine.begin() as conn:
            _applications(conn, [AppState.SUBMITTED] * 2, state_changed_at=t0, submitted_at=t0)
            # Interleaved: 1 at day 0 and 2.5, 2 at day 1 and 5.
            for application_id, days in ((1, 0), (2, 1), (1, 2.5), (2, 5)):
                conn.execute(sa.insert(table(ApplicationEvent)), dict(
                    application_id=application_id, at=t0 + timedelta(days=days), actor_id=1,
                    actor_role=Role.APPLICANT, action="submit", from_state=AppState.DRAFT,
                    to_state=AppState.SUBMITTED))
        upgrade()
        with db.engine.connect() as conn:
            found = conn.execute(sa.text("SELECT days_since_previous FROM application_events ORDER BY id")).scalars()
            found = [None if d is None else round(d, 6) for d in found]
            with pytest.raises(sa.exc.IntegrityError, match="append-only"):  # the triggers are back
                conn.execute(sa.text("UPDATE application_events SET days_since_previous = 1"))
        db.engine.dispose()
    assert found == [None, None, 2.5, 4.0]
