"""The 换届 panel's routes (POST /orgs/<id>/renewal/<action>) per role, with the Flask client: the whole 换届 through
the forms, each step refused to every role it is not for, bad input answered in Chinese beside its field."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from domain import party_orgs as po
from models import PartyOrg, Renewal, RenewalState, Role, User, db
from tests.conftest import PASSWORD, zone_today

ACTIONS = {step.action: step.role for step in po.RENEWAL_STEPS}
ROLES = (Role.APPLICANT, Role.UNIT_REVIEWER, Role.ZONE_APPROVER, Role.INSTRUCTOR, Role.FINANCE, Role.ADMIN)


@pytest.fixture
def record(app, make_application, make_user):
    """An established 党支部, its contact, a reviewer of its unit and a zone approver, each with a client."""
    made = make_application("established")
    users = {Role.APPLICANT: make_user(Role.APPLICANT, organisation=made.organisation),
             Role.UNIT_REVIEWER: make_user(Role.UNIT_REVIEWER), Role.ZONE_APPROVER: make_user(Role.ZONE_APPROVER),
             Role.INSTRUCTOR: make_user(Role.INSTRUCTOR), Role.FINANCE: make_user(Role.FINANCE),
             Role.ADMIN: make_user(Role.ADMIN)}
    clients = {}
    for role, user in users.items():
        clients[role] = app.test_client()
        response = clients[role].post("/auth/login", data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 302
    with app.app_context():
        party_org_id = db.session.scalar(sa.select(PartyOrg.id).where(PartyOrg.application_id == made.id))
    return party_org_id, clients


def version(app, party_org_id: int) -> int:
    with app.app_context():
        party_org = db.session.get(PartyOrg, party_org_id)
        renewal = po.open_renewal(party_org)
        return renewal.version if renewal is not None else party_org.version


def post(app, clients, role, party_org_id, action, **data):
    data.setdefault("version", version(app, party_org_id))
    return clients[role].post(f"/orgs/{party_org_id}/renewal/{action}", data=data)


def test_the_renewal_through_the_forms_starts_a_new_term(app, record):
    party_org_id, clients = record
    today = zone_today()
    planned = (today + timedelta(days=20)).isoformat()
    response = post(app, clients, Role.APPLICANT, party_org_id, "submit", planned_on=planned, secretary="党员1",
                    deputies="党员2")
    assert response.status_code == 302 and response.location.endswith(f"/orgs/{party_org_id}#renewal")
    page = clients[Role.UNIT_REVIEWER].get(f"/orgs/{party_org_id}").get_data(as_text=True)
    assert "待初审" in page and "初审通过" in page
    assert post(app, clients, Role.UNIT_REVIEWER, party_org_id, "pass").status_code == 302
    assert post(app, clients, Role.ZONE_APPROVER, party_org_id, "approve").status_code == 302
    assert post(app, clients, Role.APPLICANT, party_org_id, "report_election", elected_on=today.isoformat(),
                secretary="党员1", deputies="党员2").status_code == 302
    assert post(app, clients, Role.ZONE_APPROVER, party_org_id, "approve_election").status_code == 302
    with app.app_context():
        party_org = db.session.get(PartyOrg, party_org_id)
        assert (party_org.term_start, party_org.term_end) == (today, po.term_end(today, 3))
        assert db.session.scalar(sa.select(Renewal.state)) is RenewalState.COMPLETED
    page = clients[Role.APPLICANT].get(f"/orgs/{party_org_id}").get_data(as_text=True)
    assert "已完成换届" in page and "换届选举结果的批复" in page


def test_htmx_gets_the_record_card_and_the_counters_refresh(app, record):
    party_org_id, clients = record
    response = clients[Role.APPLICANT].post(
        f"/orgs/{party_org_id}/renewal/submit", headers={"HX-Request": "true"},
        data={"version": version(app, party_org_id), "planned_on": zone_today().isoformat(), "secretary": "党员1"})
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "counts-changed"
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith(("{#", "<article")) or 'id="record-card"' in body
    assert "<html" not in body and "已提交换届请示" in body


@pytest.mark.parametrize("action", ACTIONS)
def test_each_step_is_refused_to_every_other_role(app, record, action):
    party_org_id, clients = record
    for role in ROLES:
        response = post(app, clients, role, party_org_id, action)
        if role is ACTIONS[action]:
            assert response.status_code in (302, 409, 422), (role, action)
        else:
            assert response.status_code in (403, 404), (role, action, response.status_code)


def test_another_organisation_and_an_unknown_step_answer_404(app, record, make_user):
    party_org_id, clients = record
    stranger = make_user(Role.APPLICANT)
    other = app.test_client()
    other.post("/auth/login", data={"username": stranger.username, "password": PASSWORD})
    assert other.post(f"/orgs/{party_org_id}/renewal/submit", data={}).status_code == 404
    assert post(app, clients, Role.APPLICANT, party_org_id, "establish").status_code == 404
    assert clients[Role.APPLICANT].get(f"/orgs/{party_org_id}/renewal/submit").status_code == 405


@pytest.mark.parametrize("data, message", [
    ({"secretary": "党员1"}, "请选择计划选举日期"),
    ({"planned_on": "2026-13-45", "secretary": "党员1"}, "请填写正确的日期"),
    ({"planned_on": "PAST", "secretary": "党员1"}, "换届选举日期不能早于今天"),
    ({"planned_on": "FUTURE", "secretary": "党员1", "deputies": "党员2、党员3"}, "党支部设书记一名，必要时设副书记一名"),
    ({"planned_on": "FUTURE", "secretary": "党员1", "members": "党员2"}, "党支部不设委员会"),
    ({"planned_on": "FUTURE", "secretary": ""}, "请填写书记候选人的姓名"),
    ({"planned_on": "FUTURE", "secretary": "党员\u200b1"}, "不可见的控制字符"),
    ({"planned_on": "FUTURE", "secretary": "长" * 41}, "姓名不超过40个字"),
])
def test_bad_input_is_answered_in_chinese_and_the_form_keeps_it(app, record, data, message):
    party_org_id, clients = record
    days = {"PAST": -1, "FUTURE": 30}
    data = {k: (zone_today() + timedelta(days=days[v])).isoformat() if v in days else v for k, v in data.items()}
    response = post(app, clients, Role.APPLICANT, party_org_id, "submit", **data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert 'id="renewal-step-submit" open' in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Renewal.id))) == 0


def test_a_stale_page_is_told_and_nothing_changes(app, record):
    party_org_id, clients = record
    post(app, clients, Role.APPLICANT, party_org_id, "submit", planned_on=zone_today().isoformat(), secretary="党员1")
    response = post(app, clients, Role.UNIT_REVIEWER, party_org_id, "pass", version="0")
    assert response.status_code == 409  # the fresh page, told why
    assert "已被他人处理" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(Renewal.state)) is RenewalState.SUBMITTED


def test_a_postponement_through_the_form(app, record):
    party_org_id, clients = record
    with app.app_context():
        new_end = db.session.get(PartyOrg, party_org_id).term_end + timedelta(days=90)
    response = post(app, clients, Role.APPLICANT, party_org_id, "ask_date_change", new_date=new_end.isoformat(),
                    reason="项目收尾，党员大多在外地")
    assert response.status_code == 302
    assert post(app, clients, Role.ZONE_APPROVER, party_org_id, "refuse_date_change").status_code == 422  # no reason
    assert post(app, clients, Role.ZONE_APPROVER, party_org_id, "grant_date_change").status_code == 302
    with app.app_context():
        assert db.session.get(PartyOrg, party_org_id).term_end == new_end


def test_the_waiting_renewal_is_in_the_units_and_the_zones_inbox(app, record):
    party_org_id, clients = record
    post(app, clients, Role.APPLICANT, party_org_id, "submit", planned_on=zone_today().isoformat(), secretary="党员1")
    inbox = clients[Role.UNIT_REVIEWER].get("/applications/").get_data(as_text=True)
    assert "换届请示" in inbox and f"/orgs/{party_org_id}#renewal" in inbox
    assert "换届请示" not in clients[Role.ZONE_APPROVER].get("/applications/").get_data(as_text=True)
    post(app, clients, Role.UNIT_REVIEWER, party_org_id, "pass")
    assert f"/orgs/{party_org_id}#renewal" in clients[Role.ZONE_APPROVER].get("/applications/").get_data(
        as_text=True)
    # The list of all applications is not the 待办: it leaves the 换届 requests to it.
    assert f"/orgs/{party_org_id}#renewal" not in clients[Role.ZONE_APPROVER].get(
        "/applications/?state=all").get_data(as_text=True)
    with app.app_context():
        from domain.inbox import nav_counts
        zone = db.session.scalar(sa.select(User).where(User.role == Role.ZONE_APPROVER))
        assert nav_counts(zone).waiting == 1


@pytest.mark.parametrize("days, words", [(400, None), (100, "本届任期将于"), (-5, "本届任期已于")])
def test_the_contacts_home_says_when_a_renewal_is_due(app, record, days, words):
    party_org_id, clients = record
    with app.app_context():
        party_org = db.session.get(PartyOrg, party_org_id)
        party_org.established_on = party_org.term_start = zone_today() - timedelta(days=900)
        party_org.term_end = zone_today() + timedelta(days=days)
        db.session.commit()
    page = clients[Role.APPLICANT].get("/applicant/").get_data(as_text=True)
    if words is None:
        assert 'id="renewal-due"' not in page
        return
    assert words in page and ("尚未换届" in page) == (days < 0)
    assert f"/orgs/{party_org_id}#renewal" in page and "办理换届" in page
    post(app, clients, Role.APPLICANT, party_org_id, "submit", planned_on=zone_today().isoformat(), secretary="党员1")
    assert "换届请示待初审" in clients[Role.APPLICANT].get("/applicant/").get_data(as_text=True)


def approved(app, clients, party_org_id, days: int = 20):
    """The organisation's 换届 approved by the zone, its election `days` from today."""
    planned = zone_today() + timedelta(days=days)
    assert post(app, clients, Role.APPLICANT, party_org_id, "submit", planned_on=planned.isoformat(),
                secretary="党员1").status_code == 302
    assert post(app, clients, Role.UNIT_REVIEWER, party_org_id, "pass").status_code == 302
    assert post(app, clients, Role.ZONE_APPROVER, party_org_id, "approve").status_code == 302
    return planned


def test_an_approved_renewal_is_postponed_with_the_zones_approval(app, record):
    party_org_id, clients = record
    planned = approved(app, clients, party_org_id)
    with app.app_context():
        term_end = db.session.get(PartyOrg, party_org_id).term_end
    new_day = term_end + timedelta(days=60)  # past the term's end: the end moves with it
    page = clients[Role.APPLICANT].get(f"/orgs/{party_org_id}").get_data(as_text=True)
    assert 'id="renewal-step-ask_reschedule"' in page and "撤回请示" not in page
    for role in (Role.UNIT_REVIEWER, Role.ZONE_APPROVER):
        assert post(app, clients, role, party_org_id, "ask_reschedule", new_date=new_day.isoformat(),
                    reason="x").status_code == 403
    response = post(app, clients, Role.APPLICANT, party_org_id, "ask_reschedule", new_date=new_day.isoformat(),
                    reason="施工高峰，党员大多在外地")
    assert response.status_code == 302
    page = clients[Role.ZONE_APPROVER].get(f"/orgs/{party_org_id}").get_data(as_text=True)
    assert "改期待党工委审批" in page and "施工高峰，党员大多在外地" in page
    assert f"/orgs/{party_org_id}#renewal" in clients[Role.ZONE_APPROVER].get("/applications/").get_data(
        as_text=True)
    # The list of all applications is not the 待办: it leaves the 换届 requests to it.
    assert f"/orgs/{party_org_id}#renewal" not in clients[Role.ZONE_APPROVER].get(
        "/applications/?state=all").get_data(as_text=True)
    for role in (Role.APPLICANT, Role.UNIT_REVIEWER):
        assert post(app, clients, role, party_org_id, "grant_reschedule").status_code == 403
    assert post(app, clients, Role.APPLICANT, party_org_id, "report_election", elected_on=zone_today().isoformat(),
                secretary="党员1").status_code == 422  # not while the zone decides
    assert post(app, clients, Role.ZONE_APPROVER, party_org_id, "grant_reschedule").status_code == 302
    with app.app_context():
        renewal = db.session.scalar(sa.select(Renewal))
        assert (renewal.state, renewal.planned_on, renewal.asked_on) == (RenewalState.APPROVED, new_day, None)
        assert db.session.get(PartyOrg, party_org_id).term_end == new_day
    page = clients[Role.APPLICANT].get(f"/orgs/{party_org_id}").get_data(as_text=True)
    assert "延期换届的批复" in page and planned != new_day
    assert post(app, clients, Role.APPLICANT, party_org_id, "report_election", elected_on=zone_today().isoformat(),
                secretary="党员1").status_code == 302


def test_an_approved_renewal_advanced_keeps_the_term_and_a_refusal_keeps_the_day(app, record):
    party_org_id, clients = record
    planned = approved(app, clients, party_org_id, days=40)
    with app.app_context():
        term_end = db.session.get(PartyOrg, party_org_id).term_end
    sooner = zone_today() + timedelta(days=10)
    assert post(app, clients, Role.APPLICANT, party_org_id, "ask_reschedule", new_date=sooner.isoformat(),
                reason="书记调离").status_code == 302
    assert post(app, clients, Role.ZONE_APPROVER, party_org_id, "refuse_reschedule").status_code == 422  # no reason
    assert post(app, clients, Role.ZONE_APPROVER, party_org_id, "refuse_reschedule",
                reason="请按原计划选举").status_code == 302
    with app.app_context():
        renewal = db.session.scalar(sa.select(Renewal))
        assert (renewal.state, renewal.planned_on, renewal.asked_on) == (RenewalState.APPROVED, planned, None)
    assert post(app, clients, Role.APPLICANT, party_org_id, "ask_reschedule", new_date=sooner.isoformat(),
                reason="书记调离").status_code == 302
    assert post(app, clients, Role.ZONE_APPROVER, party_org_id, "grant_reschedule").status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(Renewal.planned_on)) == sooner
        assert db.session.get(PartyOrg, party_org_id).term_end == term_end
    assert "提前换届的批复" in clients[Role.APPLICANT].get(f"/orgs/{party_org_id}").get_data(as_text=True)


@pytest.mark.parametrize("new_day, reason, message", [
    ("PLANNED", "理由", "与已批准的选举日期"),
    ("PAST", "理由", "新的选举日期不能早于今天"),
    ("LIMIT+1", "理由", "新的选举日期不能晚于本届任期届满后1年"),
    ("", "理由", "请选择新的选举日期"),
    ("PLANNED+1", "", "申请延期或提前换届须填写理由"),
])
def test_a_bad_reschedule_is_answered_in_chinese(app, record, new_day, reason, message):
    party_org_id, clients = record
    planned = approved(app, clients, party_org_id)
    with app.app_context():
        limit = po.term_end(po.natural_term_end(db.session.get(PartyOrg, party_org_id)), 1)
    days = {"PLANNED": planned, "PLANNED+1": planned + timedelta(days=1), "PAST": zone_today() - timedelta(days=1),
            "LIMIT+1": limit + timedelta(days=1)}
    response = post(app, clients, Role.APPLICANT, party_org_id, "ask_reschedule",
                    new_date=days[new_day].isoformat() if new_day else "", reason=reason)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and 'id="renewal-step-ask_reschedule" open' in page
    with app.app_context():
        assert db.session.scalar(sa.select(Renewal.state)) is RenewalState.APPROVED


@pytest.mark.parametrize("overdue_days, date_change_message", [
    (30, "新的换届日期不能晚于今天起6个月"), (500, "延期换届一般不超过1年"),
])
def test_a_late_organisation_plans_its_election_within_six_months(app, record, overdue_days, date_change_message):
    """Once its term has expired (届满未换届), an organisation's election is planned, or moved, at most six months
    from today, however long ago the term ended."""
    party_org_id, clients = record
    with app.app_context():
        party_org = db.session.get(PartyOrg, party_org_id)
        party_org.term_end = zone_today() - timedelta(days=overdue_days)
        party_org.established_on = party_org.term_start = po.term_end(party_org.term_end, -3)
        db.session.commit()
    late = (zone_today() + timedelta(days=200)).isoformat()
    response = post(app, clients, Role.APPLICANT, party_org_id, "submit", planned_on=late, secretary="党员1")
    assert response.status_code == 422 and "换届选举日期不能晚于今天起6个月" in response.get_data(as_text=True)
    response = post(app, clients, Role.APPLICANT, party_org_id, "ask_date_change", new_date=late, reason="理由")
    assert response.status_code == 422 and date_change_message in response.get_data(as_text=True)
    planned = approved(app, clients, party_org_id, days=150)
    response = post(app, clients, Role.APPLICANT, party_org_id, "ask_reschedule", new_date=late, reason="理由")
    assert response.status_code == 422 and "新的选举日期不能晚于今天起6个月" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(Renewal.planned_on)) == planned


def record_version(app, party_org_id: int) -> int:
    with app.app_context():
        return db.session.get(PartyOrg, party_org_id).version


def fill_seat(clients, party_org_id, version: int, name: str):
    return clients[Role.ZONE_APPROVER].post(f"/orgs/{party_org_id}/seats/fill", data={
        "version": version, "name": name, "post": "deputy", "day": zone_today().isoformat(), "reason": "原副书记调离"})


def test_a_renewal_step_leaves_an_open_by_election_form_good(app, record):
    """A 补选 form opened before the 换届's 请示, review and approval still goes through: those steps leave the record
    itself as it was. The request's own form is not made stale by the 补选 either."""
    party_org_id, clients = record
    opened = record_version(app, party_org_id)
    approved(app, clients, party_org_id)
    assert fill_seat(clients, party_org_id, opened, "党员3").status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(Renewal.state)) is RenewalState.APPROVED


def test_the_new_committee_makes_an_older_by_election_form_reload(app, record):
    """The zone's approval of the election seats a new committee: a 补选 form from before it is told, in Chinese,
    that the record changed, and nothing is seated."""
    party_org_id, clients = record
    approved(app, clients, party_org_id)
    assert post(app, clients, Role.APPLICANT, party_org_id, "report_election", elected_on=zone_today().isoformat(),
                secretary="党员1").status_code == 302
    opened = record_version(app, party_org_id)
    assert post(app, clients, Role.ZONE_APPROVER, party_org_id, "approve_election").status_code == 302
    response = fill_seat(clients, party_org_id, opened, "党员3")
    assert response.status_code == 409
    assert "该党组织档案已被他人修改" in response.get_data(as_text=True)


def test_a_by_election_leaves_an_open_renewal_form_good(app, record):
    party_org_id, clients = record
    opened = version(app, party_org_id)
    assert fill_seat(clients, party_org_id, record_version(app, party_org_id), "党员3").status_code == 302
    assert post(app, clients, Role.APPLICANT, party_org_id, "submit", version=opened,
                planned_on=(zone_today() + timedelta(days=10)).isoformat(), secretary="党员1").status_code == 302
