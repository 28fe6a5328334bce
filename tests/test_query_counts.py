"""Every list and detail page runs the same number of SQL queries for 10 rows as for 1,000, and at most 10 (the
dashboard, one aggregate per panel, 11).

A count, not a timing: it catches an N+1 (a lazy load per row) on any machine and on both databases. The rows
are inserted in bulk (a few statements per table), so the 1,000-row world costs about a second to build.
"""
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from models import (
    AppState, Application, ApplicationEvent, ApplicationMember, Assignment, ChecklistItem, Delivery, Document,
    DocumentKind, Gender, GuidanceVisit, Instructor, MemberStatus, Notification, Organisation, OrgKind,
    PartyOrgKind, Role, StoredFile, User, VisitForm, db, instructor_units,
)

from .conftest import PASSWORD, unit_by_code, valid_credit_code
from tests.conftest import zone_today

MAX_QUERIES = 10
# The dashboard is a page of panels, one aggregate each (rates by unit and kind, the trend, the pipeline, its oldest
# overdue, the step times, the instructors' loads, the funds, the terms of office) besides the user, the units and
# the navigation's counters: one more panel is one more query, never one per row (the check above).
MAX_QUERIES_OF = {"/registry/": 11}
# (role, path); "{detail}" is the application with n events, visits, assignments and members.
PAGES = [
    (Role.ZONE_APPROVER, "/applications/"),
    (Role.UNIT_REVIEWER, "/applications/"),
    (Role.ZONE_APPROVER, "/applications/?state=all"),
    (Role.UNIT_REVIEWER, "/applications/?state=all"),
    (Role.ZONE_APPROVER, "/applications/notifications"),
    (Role.ZONE_APPROVER, "/applications/{detail}"),
    (Role.UNIT_REVIEWER, "/applications/{detail}"),
    (Role.INSTRUCTOR, "/applications/{detail}"),
    (Role.INSTRUCTOR, "/instructor/"),
    (Role.UNIT_REVIEWER, "/review/"),
    (Role.ZONE_APPROVER, "/zone/"),
    (Role.ZONE_APPROVER, "/zone/instructors"),
    (Role.ZONE_APPROVER, "/zone/assign"),
    (Role.ADMIN, "/admin/"),
    (Role.ADMIN, "/admin/instructors"),
    (Role.ADMIN, "/admin/documents"),
    (Role.ZONE_APPROVER, "/registry/"),
    (Role.UNIT_REVIEWER, "/registry/"),
    (Role.ZONE_APPROVER, "/registry/todo?list=build"),
]
PDF = b"%PDF-1.4\n% placeholder\n%%EOF\n"


def _ids(model, start: int, rows: list[dict]) -> list[int]:
    db.session.execute(sa.insert(model), rows)
    return list(db.session.scalars(sa.select(model.id).where(model.id >= start).order_by(model.id)))


def _next_id(model) -> int:
    return (db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1


def build_world(n: int, users: dict[Role, User]) -> int:
    """n rows behind every list page, and one application with n of everything on its card; returns its id."""
    now = datetime.now(timezone.utc)
    unit = unit_by_code("industrial_park")
    zone, mine = users[Role.ZONE_APPROVER], users[Role.INSTRUCTOR].instructor_id
    instructors = _ids(Instructor, _next_id(Instructor), [
        dict(name=f"批量指导员{i}", home_organ="组织部", phone="", capacity=3, active=True, created_at=now)
        for i in range(n)])
    db.session.execute(sa.insert(instructor_units), [dict(instructor_id=i, unit_id=unit.id) for i in instructors])
    db.session.execute(sa.insert(User), [
        dict(username=f"bulk{n}-{i}", password_hash="x", name="批量账号", role=Role.ZONE_APPROVER, active=True,
             created_at=now) for i in range(n)])
    # Three applications per row: one waiting on the unit, one on the zone, one established and guided.
    states = [AppState.SUBMITTED, AppState.UNIT_APPROVED, AppState.ESTABLISHED]
    orgs = _ids(Organisation, _next_id(Organisation), [
        dict(name=f"批量企业{n}-{i}", credit_code=valid_credit_code(500000 + n * 4 + i), kind=OrgKind.ENTERPRISE,
             unit_id=unit.id, address="", contact_name="", contact_phone="", employees=10, formal_members=i % 7,
             probationary_members=0, has_party_org=i % 3 == 2, created_at=now) for i in range(3 * n + 1)])
    apps = _ids(Application, _next_id(Application), [
        dict(organisation_id=org, unit_id=unit.id, state=states[i % 3] if i < 3 * n else AppState.ESTABLISHED,
             version=1, state_changed_at=now - timedelta(days=i % 30), submitted_at=now, created_at=now,
             requested_kind=PartyOrgKind.BRANCH, formal_members=5, probationary_members=0, proposed_secretary="",
             partner_organisations="", work_need=False, reasons="",
             instructor_id=mine if i == 3 * n else (mine if i % 2 else instructors[i % n]) if i % 3 == 2 else None)
        for i, org in enumerate(orgs)])
    detail, guided = apps[-1], [a for i, a in enumerate(apps) if i % 3 == 2]
    guided_instructor = {a: (mine if i % 2 else instructors[i % n]) for i, a in enumerate(apps) if i % 3 == 2}
    db.session.execute(sa.insert(ApplicationEvent), [
        dict(application_id=a, at=now, actor_id=zone.id, actor_role=Role.APPLICANT, action="create", from_state=None,
             to_state=AppState.DRAFT, comment="", internal_note="") for a in apps[:-1]] + [
        dict(application_id=detail, at=now + timedelta(minutes=i), actor_id=zone.id if i % 2 else users[Role.ADMIN].id,
             actor_role=Role.ZONE_APPROVER, action="pass", from_state=AppState.SUBMITTED,
             to_state=AppState.UNIT_APPROVED, comment=f"意见{i}", internal_note="") for i in range(n)])
    # The detail's history of assignments: n-1 ended, the last one current (one current per application).
    db.session.execute(sa.insert(Assignment), [
        dict(application_id=a, instructor_id=guided_instructor[a], assigned_at=now, assigned_by_id=zone.id, reason="",
             over_capacity=False, ended_at=None) for a in guided] + [
        dict(application_id=detail, instructor_id=instructors[i % n] if i < n - 1 else mine, assigned_at=now,
             assigned_by_id=zone.id, reason=f"改派{i}", over_capacity=False, ended_at=None if i == n - 1 else now)
        for i in range(n)])
    db.session.execute(sa.insert(GuidanceVisit), [
        dict(application_id=a, instructor_id=guided_instructor[a], visited_on=zone_today(), form=VisitForm.ON_SITE,
             topics="走访", problems="", follow_up="", recorded_by_id=zone.id, created_at=now) for a in guided] + [
        dict(application_id=detail, instructor_id=instructors[i % n], visited_on=zone_today() - timedelta(days=i),
             form=VisitForm.PHONE, topics=f"指导{i}", problems="", follow_up="", recorded_by_id=zone.id, created_at=now)
        for i in range(n)])
    db.session.execute(sa.insert(Delivery), [
        dict(application_id=a, item=item, delivered_on=zone_today(), confirmed_by_id=zone.id, created_at=now)
        for a in guided + [detail] for item in list(ChecklistItem)[:3]])
    db.session.execute(sa.insert(ApplicationMember), [
        dict(application_id=detail, position=i, name=f"党员{i}", gender=Gender.MALE, joined_on=date(2010, 7, 1),
             status=MemberStatus.FORMAL) for i in range(n)])
    db.session.execute(sa.insert(Notification), [
        dict(user_id=zone.id, application_id=apps[i % len(apps)], message=f"通知{i}", created_at=now)
        for i in range(n)])
    files = _ids(StoredFile, _next_id(StoredFile), [
        dict(filename=f"批复{i}.pdf", content_type="application/pdf", size=len(PDF), sha256=f"{i:064d}", data=PDF,
             created_at=now) for i in range(n)])
    db.session.execute(sa.insert(Document), [
        dict(application_id=a, kind=DocumentKind.APPROVAL, year=2026, serial=n * 10 + i + 1, number=f"开党工委批〔2026〕{n}-{i + 1}号",
             title="批复", token=f"token-{n}-{i}", file_id=f, issued_at=now, issued_by_id=zone.id)
        for i, (a, f) in enumerate(zip(guided, files))])
    db.session.commit()
    return detail


def logged_in(app, user: User):
    client = app.test_client()
    response = client.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


@contextmanager
def recorded(engine):
    """The SQL statements run on `engine` inside the block, in order."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def count_queries(app, users: dict[Role, User], n: int) -> dict[str, int]:
    with app.app_context():
        detail = build_world(n, users)
        engine = db.engine
    # The requests run outside that context: inside it they would share its `g`, and so its logged-in user.
    clients = {role: logged_in(app, user) for role, user in users.items()}
    counts = {}
    with recorded(engine) as statements:
        for role, path in PAGES:
            url = path.format(detail=detail)
            clients[role].get(url)  # settings and other per-process caches are warm in a running server
            statements.clear()
            response = clients[role].get(url)
            assert response.status_code == 200, (role, url, response.status_code)
            counts[f"{role.value} {path}"] = len(statements)
            # The card really shows the n rows, or equal counts would prove nothing.
            if n > 50 and path.endswith("{detail}") and role is Role.ZONE_APPROVER:
                assert f"意见{n - 1}" in response.get_data(as_text=True)
    return counts


@pytest.fixture
def users(make_user):
    return {role: make_user(role) for role in (Role.ZONE_APPROVER, Role.UNIT_REVIEWER, Role.INSTRUCTOR, Role.ADMIN)}


def test_query_counts_do_not_grow_with_rows(app, users):
    small = count_queries(app, users, 10)
    large = count_queries(app, users, 1000)
    grew = {page: (small[page], large[page]) for page in small if small[page] != large[page]}
    assert not grew, f"queries grow with the rows (10 rows, 1,000 rows): {grew}"
    over = {page: count for page, count in large.items()
            if count > MAX_QUERIES_OF.get(page.split(" ", 1)[1], MAX_QUERIES)}
    assert not over, f"pages over {MAX_QUERIES} queries: {over}"


def test_the_inbox_table_alone_reads_neither_renewals_nor_units(app, users):
    """htmx fetches the 待办's table alone at each change of a filter: the same statements as the full page, less the
    换届 requests and the units of the filter, which only the full page shows; the list of all applications does not
    read the 换届 requests at all."""
    with app.app_context():
        build_world(10, users)
        engine = db.engine
    client = logged_in(app, users[Role.ZONE_APPROVER])
    client.get("/applications/")  # per-process caches warm, as in count_queries
    with recorded(engine) as full:
        assert client.get("/applications/").status_code == 200
    with recorded(engine) as table:
        assert client.get("/applications/", headers={"HX-Request": "true"}).status_code == 200
    with recorded(engine) as everything:
        assert client.get("/applications/?state=all").status_code == 200
    page_only = [s for s in full if s.startswith(("SELECT renewals.", "SELECT units."))]
    assert len(page_only) == 2
    assert table == [s for s in full if s not in page_only]
    # The list of all applications shows the filter's units but not the 待办's 换届 requests.
    assert not [s for s in everything if s.startswith("SELECT renewals.")]
    assert len([s for s in everything if s.startswith("SELECT units.")]) == 1
