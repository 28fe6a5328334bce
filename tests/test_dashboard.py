"""The formation-rate dashboard on known data, the to-do lists, and who may see which route."""
import io
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from domain.coverage import set_coverage
from domain.dashboard import TodoFilter, build_dashboard, todo_page
from models import AppState, Application, ApplicationEvent, CoverageCause, Organisation, OrgKind, Role, db
from tests.conftest import export_todo, unit_by_code


@pytest.fixture
def registry(make_org):
    """Seven organisations whose figures are known by hand.

    industrial_park: A own org (5 formal), B 应建未建 (4 formal), C 应联未联 (1 formal), D joint branch of A
    (2 formal), E no members. civil_affairs (social organisations): F own org (3), G 应联未联 (0+2).
    Zone: with members A B C D F G = 6, covered A D F = 3 -> 50.0%; registry coverage 3/7 = 42.9%.
    """
    a = make_org(name="甲公司", formal_members=5, has_party_org=True)
    made = {"A": a,
            "B": make_org(name="乙公司", formal_members=4),
            "C": make_org(name="丙公司", formal_members=1),
            "D": make_org(name="丁公司", formal_members=2, joint_branch_code=a.credit_code),
            "E": make_org(name="戊公司", formal_members=0),
            "F": make_org(name="己协会", kind=OrgKind.SOCIAL_ORG, unit_code="civil_affairs", formal_members=3,
                          has_party_org=True),
            "G": make_org(name="庚协会", kind=OrgKind.SOCIAL_ORG, unit_code="civil_affairs", formal_members=0,
                          probationary_members=2)}
    return made


def by_label(rates):
    return {r.label: r for r in rates}


def test_formation_rates_of_the_zone_its_units_and_kinds(ctx, registry):
    d = build_dashboard()
    assert (d.zone.with_members, d.zone.covered_with_members, d.zone.rate) == (6, 3, 50.0)
    assert (d.zone.organisations, d.zone.covered, d.zone.coverage) == (7, 3, 42.9)
    assert (d.zone.should_build, d.zone.should_join) == (1, 2)
    units = by_label(d.by_unit)
    assert len(units) == 9 and units["新型工业园区党委"].rate == 50.0 and units["民政部门社会组织党委"].rate == 50.0
    assert units["东城街道区域党工委"].rate is None  # no organisation with members: no rate, not 0%
    kinds = by_label(d.by_kind)
    assert (kinds["非公企业"].with_members, kinds["非公企业"].covered_with_members) == (4, 2)
    assert (kinds["社会组织"].should_join, kinds["总部楼宇"].organisations) == (1, 0)
    assert d.reference == 84.8


def test_a_unit_sees_its_own_figures(ctx, registry):
    d = build_dashboard(unit_by_code("civil_affairs"))
    assert (d.zone.with_members, d.zone.covered_with_members, d.zone.organisations) == (2, 1, 2)
    assert [r.label for r in d.by_unit] == ["民政部门社会组织党委"]


def test_todo_lists_filter_and_page(ctx, registry):
    names = lambda f, scope=None: [o.name for o in todo_page(f, scope).items]  # noqa: E731
    assert names(TodoFilter(list="build")) == ["乙公司"]
    assert names(TodoFilter(list="join")) == ["丙公司", "庚协会"]
    assert names(TodoFilter(list="join", kind="social_org")) == ["庚协会"]
    assert names(TodoFilter(list="join", q="丙")) == ["丙公司"]
    civil = unit_by_code("civil_affairs")
    assert names(TodoFilter(list="join", unit_id=civil.id)) == ["庚协会"]
    # A reviewer's scope wins over any unit_id in the address.
    assert names(TodoFilter(list="join", unit_id=unit_by_code("industrial_park").id), civil) == ["庚协会"]
    assert todo_page(TodoFilter(list="join"), None, per_page=1).pages == 2


def test_months_steps_overdue_and_instructor_load(app, ctx, registry, make_application, make_user):
    zone_user = make_user(Role.ZONE_APPROVER)
    established = make_application("established", formal=4)
    waiting = make_application("submitted")
    t0 = datetime(2026, 3, 10, tzinfo=timezone.utc)
    with app.app_context():
        def event(application, action, at, to_state):
            db.session.add(ApplicationEvent(application_id=application.id, actor_id=zone_user.id,
                                            actor_role=Role.ZONE_APPROVER, action=action, at=at, to_state=to_state))
        event(established, "submit", t0, AppState.SUBMITTED)
        event(established, "pass", t0 + timedelta(days=2), AppState.UNIT_APPROVED)
        event(established, "approve", t0 + timedelta(days=6), AppState.APPROVED)
        event(established, "establish", t0 + timedelta(days=30), AppState.ESTABLISHED)
        event(waiting, "submit", t0, AppState.SUBMITTED)
        event(waiting, "pass", t0 + timedelta(days=4), AppState.UNIT_APPROVED)
        db.session.execute(sa.update(Application).where(Application.id == waiting.id)
                           .values(state_changed_at=datetime.now(timezone.utc) - timedelta(days=9)))
        org = db.session.get(Application, established.id).organisation
        set_coverage(org, own=True, joint_code=None, cause=CoverageCause.ESTABLISH, at=t0 + timedelta(days=30))
        db.session.commit()
    d = build_dashboard()
    assert d.zone.covered_with_members == 4
    months = {m["month"]: m for m in d.by_month}
    assert months["2026-04"]["new"] == 1  # established on 9 April, not when it registered
    assert d.by_month[-1]["total"] == 4 and d.by_month[-1]["rate"] == round(100 * 4 / 8, 1)
    steps = {s["action"]: s for s in d.step_days}
    assert steps["pass"]["days"] == 3.0 and steps["pass"]["count"] == 2
    assert steps["approve"]["days"] == 4.0 and steps["establish"]["days"] == 24.0
    assert dict(d.overdue)[AppState.SUBMITTED] == 1 and [a.id for a in d.overdue_oldest] == [waiting.id]
    assert dict(d.states)[AppState.ESTABLISHED] == 1
    loads = [i["load"] for i in d.instructors]
    assert sorted(loads, reverse=True)[0] == 1
    # A unit's steps are its applications'; an unverified organisation's application counts nowhere.
    assert build_dashboard(unit_by_code("civil_affairs")).step_days == []
    assert build_dashboard(unit_by_code("industrial_park")).step_days == d.step_days
    with app.app_context():
        db.session.execute(sa.update(Organisation).where(Organisation.id == established.organisation_id)
                           .values(verified=False))
        db.session.commit()
    steps = {s["action"]: s["count"] for s in build_dashboard().step_days}
    assert "establish" not in steps and steps["pass"] == 1


# ---------------------------------------------------------------- routes and roles

DASHBOARD_URLS = ["/registry/", "/registry/dashboard.xlsx", "/registry/todo"]
IMPORT_URLS = ["/registry/imports", "/registry/imports/template.xlsx", "/registry/imports/template.csv"]


@pytest.mark.parametrize("role", list(Role))
def test_who_may_open_the_dashboard_and_the_imports(client, login_as, role):
    login_as(role)
    for url in DASHBOARD_URLS:
        expected = 200 if role in (Role.UNIT_REVIEWER, Role.ZONE_APPROVER, Role.ADMIN) else 403
        assert client.get(url).status_code == expected, url
    for url in IMPORT_URLS:
        expected = 200 if role in (Role.UNIT_REVIEWER, Role.ADMIN) else 403
        assert client.get(url).status_code == expected, url


def test_anonymous_is_sent_to_login(client):
    for url in DASHBOARD_URLS + IMPORT_URLS:
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_a_reviewer_sees_only_their_unit(client, login_as, registry):
    login_as(Role.UNIT_REVIEWER, unit_code="civil_affairs")
    page = client.get("/registry/").get_data(as_text=True)
    assert "组建率看板：民政部门社会组织党委" in page and "新型工业园区党委" not in page
    todo = client.get("/registry/todo?list=join").get_data(as_text=True)
    assert "庚协会" in todo and "丙公司" not in todo
    sheet = load_workbook(io.BytesIO(export_todo(client, "list=join").data)).active
    assert [r[0] for r in sheet.iter_rows(min_row=4, values_only=True)] == ["庚协会"]  # under title, as-of, header


def test_the_zone_dashboard_shows_definition_tables_and_exports(client, login_as, registry):
    login_as(Role.ZONE_APPROVER)
    page = client.get("/registry/").get_data(as_text=True)
    assert "50.0%" in page and "42.9%" in page and "84.8" in page and "组建率 = 已被党组织覆盖的组织数" in page
    assert page.count('class="chart"') == 4 and page.count("<caption>") >= 4
    assert 'id="funds"' in page
    book = load_workbook(io.BytesIO(client.get("/registry/dashboard.xlsx").data))
    assert book.sheetnames[:4] == ["概况", "组建率", "按初审单位", "按组织类别"]
    assert list(book["组建率"].iter_rows(min_row=4, values_only=True))[0][:5] == ("全区", 7, 6, 3, 0.5)
    partial = client.get("/registry/todo?list=build", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "乙公司" in partial and "<html" not in partial


def test_an_import_is_visible_to_its_author_and_the_admin_only(client, app, login_as):
    from tests.test_registry_import import csv_bytes, row, upload
    from tests.conftest import valid_credit_code

    login_as(Role.UNIT_REVIEWER)
    upload(client, csv_bytes([row(valid_credit_code())]))
    with app.app_context():
        job_id = db.session.scalar(sa.text("SELECT max(id) FROM registry_imports"))
    assert client.get(f"/registry/imports/{job_id}").status_code == 200
    client.post("/auth/logout")
    login_as(Role.UNIT_REVIEWER, unit_code="civil_affairs")
    assert client.get(f"/registry/imports/{job_id}").status_code == 404
    assert client.post(f"/registry/imports/{job_id}/commit").status_code == 404
    client.post("/auth/logout")
    login_as(Role.ADMIN)
    assert client.get(f"/registry/imports/{job_id}").status_code == 200
    client.post("/auth/logout")
    login_as(Role.ZONE_APPROVER)
    assert client.get(f"/registry/imports/{job_id}").status_code == 403


def test_seed_scale_fills_a_registry_the_dashboard_reads(app, client, login_as):
    result = app.test_cli_runner().invoke(args=["seed-scale", "--orgs", "60", "--applications", "20"])
    assert result.exit_code == 0, result.output
    # The seeded money's rows are recorded in the audit log, or the first change to one would be refused.
    audit = app.test_cli_runner().invoke(args=["verify-audit"])
    assert audit.exit_code == 0, audit.output
    with app.app_context():
        d = build_dashboard()
        established = dict(d.states)[AppState.ESTABLISHED]
        counted = db.session.scalar(sa.select(sa.func.count(ApplicationEvent.id)))
    assert d.zone.organisations == 60 and sum(n for _, n in d.states) == 20
    assert d.zone.with_members >= 20 and d.zone.covered_with_members >= established and counted >= 20
    login_as(Role.ZONE_APPROVER)
    assert client.get("/registry/").status_code == 200


def test_the_dashboard_sums_the_startup_funds(client, app, login_as, make_application, make_user):
    from domain import funds
    from models import Application, User, db

    made = make_application("established")
    zone_id = make_user(Role.ZONE_APPROVER).id
    with app.app_context():
        item = funds.create_fund_item(db.session.get(Application, made.id), actor=db.session.get(User, zone_id))
        funds.confirm_fund(item, actor=db.session.get(User, zone_id), version=item.version)
        db.session.commit()
    login_as(Role.ZONE_APPROVER)
    page = client.get("/registry/").get_data(as_text=True)
    funds_table = page[page.index('id="funds"'):page.index("</table>", page.index('id="funds"'))]
    assert "1 项" in funds_table and "2,000.00" in funds_table  # a branch's standard amount, approved, unpaid


def test_the_dashboard_counts_the_terms(client, app, login_as, make_application):
    """Four established organisations: one whose term ended yesterday, one ending within six months (and one of
    another unit, ending too), one just begun. The zone counts all; a unit its own; each count links to its list."""
    from domain.party_orgs import term_counts, TermStatus
    from models import PartyOrg
    from tests.conftest import zone_today

    ends = {"expired": -1, "due": 100, "current": 1000, "east": 100}
    ids = {}
    for name, days in ends.items():
        made = make_application("established", unit_code="street_east" if name == "east" else "industrial_park")
        with app.app_context():
            party_org = db.session.scalar(sa.select(PartyOrg).where(PartyOrg.application_id == made.id))
            party_org.term_end = zone_today() + timedelta(days=days)
            party_org.term_start = party_org.established_on = party_org.term_end - timedelta(days=3 * 365)
            ids[name] = party_org.id
            db.session.commit()
    with app.app_context():
        park = unit_by_code("industrial_park").id
        assert term_counts() == {TermStatus.CURRENT: 1, TermStatus.DUE: 2, TermStatus.EXPIRED: 1}
        assert term_counts(park) == {TermStatus.CURRENT: 1, TermStatus.DUE: 1, TermStatus.EXPIRED: 1}
    login_as(Role.ZONE_APPROVER)
    page = client.get("/registry/").get_data(as_text=True)
    terms = page[page.index('id="terms"'):page.index("</table>", page.index('id="terms"'))]
    assert 'href="/orgs/?term=due">2 个</a>' in terms and "届满未换届" in terms


def test_the_to_do_lists_partial_indexes_hold_exactly_their_rows(ctx, make_org):
    """TODO_INDEXES restates SHOULD_BUILD, SHOULD_JOIN and COUNTED in SQL for the partial indexes: over every
    combination of the columns they read, each index's condition picks the same organisations as its list's."""
    from itertools import product

    from domain.formation_counts import SHOULD_BUILD, SHOULD_JOIN
    from models import COUNTED
    from models.organisation import TODO_INDEXES

    owner = make_org(has_party_org=True)
    for formal, probationary, own, joint, verified in product((0, 2, 3), (0, 1), (False, True), (False, True),
                                                              (False, True)):
        if not (own and joint):  # a joint branch covers only organisations without one of their own
            make_org(formal_members=formal, probationary_members=probationary, has_party_org=own,
                     joint_branch_code=owner.credit_code if joint else None, verified=verified)
    for index, condition in (("ix_organisations_should_build", SHOULD_BUILD),
                             ("ix_organisations_should_join", SHOULD_JOIN)):
        listed = set(ctx.scalars(sa.select(Organisation.id).where(condition, COUNTED)))
        indexed = set(ctx.scalars(sa.select(Organisation.id).where(sa.text(TODO_INDEXES[index]))))
        assert listed and indexed == listed, index
