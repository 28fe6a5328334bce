"""Crafted inputs against today's routes (党组织档案, 换届): ids, dates and names an attacker would send."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import CommitteeSeat, PartyOrg, PartyOrgState, Renewal, Role, db
from tests.conftest import zone_today
from tests.test_dissolution_routes import as_user, state_of, two  # noqa: F401  (two: a fixture)
from tests.test_renewal_routes import post, record  # noqa: F401  (the fixture)
from tests.test_renewal_routes import version as record_version


@pytest.mark.parametrize("seat_id, status, message", [
    ("abc", 422, "请从列表中选择"), ("1.5", 422, "请从列表中选择"), ("", 422, "请从列表中选择"),
    ("-1", 422, "请选择一名现任班子成员"), ("99999999999999999999", 404, "页面不存在"),
])
def test_a_forged_seat_id_is_refused_in_chinese(app, record, seat_id, status, message):  # noqa: F811
    party_org_id, clients = record
    response = clients[Role.ZONE_APPROVER].post(f"/orgs/{party_org_id}/seats/adjust", data={
        "version": record_version(app, party_org_id), "seat_id": seat_id, "post": "end",
        "day": zone_today().isoformat(), "reason": "调动"})
    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert "Invalid" not in page and "coerce" not in page
    assert message in page


@pytest.mark.parametrize("path", ["/orgs/99999999999999999999", "/orgs/1/documents/99999999999999999999.pdf"])
def test_an_id_past_the_column_is_404(app, record, path):  # noqa: F811
    _, clients = record
    assert clients[Role.ZONE_APPROVER].get(path).status_code == 404


@pytest.mark.parametrize("years_overdue, planned, message", [
    (0, "9999-12-31", "换届选举日期不能晚于本届任期届满后1年"),
    (0, "LIMIT+1", "换届选举日期不能晚于本届任期届满后1年"),
    (2, "TODAY+200", "换届选举日期不能晚于今天起6个月"),
])
def test_a_renewal_cannot_be_planned_years_ahead(app, record, years_overdue, planned, message):  # noqa: F811
    """The 请示's planned election is bounded as a postponement is: a year past the term's natural end, or six
    months from today for an organisation already later than that."""
    party_org_id, clients = record
    with app.app_context():
        party_org = db.session.get(PartyOrg, party_org_id)
        if years_overdue:
            party_org.term_start = party_org.term_start.replace(year=party_org.term_start.year - 3 - years_overdue)
            party_org.term_end = party_org.term_end.replace(year=party_org.term_end.year - 3 - years_overdue)
            party_org.established_on = party_org.term_start
            db.session.commit()
        limit = party_org.term_end.replace(year=party_org.term_end.year + 1)
    days = {"LIMIT+1": limit + timedelta(days=1), "TODAY+200": zone_today() + timedelta(days=200)}
    response = post(app, clients, Role.APPLICANT, party_org_id, "submit",
                    planned_on=days[planned].isoformat() if planned in days else planned, secretary="党员1")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Renewal.id))) == 0
    ok = limit if not years_overdue else zone_today() + timedelta(days=150)
    assert post(app, clients, Role.APPLICANT, party_org_id, "submit", planned_on=ok.isoformat(),
                secretary="党员1").status_code == 302


def test_markup_typed_as_a_name_never_reaches_the_record_page(app, record):  # noqa: F811
    party_org_id, clients = record
    response = post(app, clients, Role.APPLICANT, party_org_id, "submit",
                    planned_on=(zone_today() + timedelta(days=5)).isoformat(), secretary="<b>x</b>")
    assert response.status_code in (302, 422)
    page = clients[Role.UNIT_REVIEWER].get(f"/orgs/{party_org_id}").get_data(as_text=True)
    assert "<b>x</b>" not in page


@pytest.mark.parametrize("query", ["?unit_id=99999999999999999999", "?page=99999999999999999999", "?kind=%00",
                                   "?term=x&page=-5", "?page=0"])
def test_forged_list_filters_are_answered(app, record, query):  # noqa: F811
    _, clients = record
    response = clients[Role.ZONE_APPROVER].get("/orgs/" + query)
    assert response.status_code == (404 if "page=9999" in query else 200)


@pytest.mark.parametrize("secretary", ["党员1、党员2", "党员1,党员2", "党员1，党员2"])
def test_the_secretary_is_one_person_not_a_list(app, record, secretary):  # noqa: F811
    """Typed as a list, the 书记 would be one seat held by two names, and the 批复 would say so."""
    party_org_id, clients = record
    response = post(app, clients, Role.APPLICANT, party_org_id, "submit",
                    planned_on=(zone_today() + timedelta(days=5)).isoformat(), secretary=secretary)
    assert response.status_code == 422
    assert "“书记候选人”只能填写一人的姓名" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Renewal.id))) == 0


def test_a_by_election_seats_one_person(app, record):  # noqa: F811
    party_org_id, clients = record
    response = clients[Role.ZONE_APPROVER].post(f"/orgs/{party_org_id}/seats/fill", data={
        "version": record_version(app, party_org_id), "name": "甲、乙", "post": "member",
        "day": zone_today().isoformat(), "reason": "补选"})
    assert response.status_code == 422
    assert "“姓名”只能填写一人的姓名" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(CommitteeSeat.id))) == 0


@pytest.mark.parametrize("receiving, status, message", [
    ("SELF", 422, "党员不能转入本党组织"), ("abc", 422, "请从列表中选择"), ("-3", 422, "请选择并入的党组织"),
    ("99999999999999999999", 404, "页面不存在"), ("DISSOLVED", 422, "不能接收党员"),
])
def test_a_forged_receiving_branch_is_refused(app, client, make_user, two, receiving, status, message):
    """合并 into itself, into a dissolved branch, or into an id typed by hand: refused, nothing changes."""
    a_id, r_id, _ = two
    as_user(app, client, make_user, Role.ZONE_APPROVER)
    if receiving == "DISSOLVED":
        with app.app_context():
            db.session.get(PartyOrg, r_id).state = PartyOrgState.DISSOLVED
            db.session.commit()
    ids = {"SELF": a_id, "DISSOLVED": r_id}
    response = client.post(f"/orgs/{a_id}/merge", data={"version": state_of(app, a_id)[1], "reason": "合并",
                                                        "receiving_id": ids.get(receiving, receiving)})
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert state_of(app, a_id)[0] is PartyOrgState.ACTIVE
