"""撤销, 调整, 更名, 合并 and a project branch's steps through the record's routes, per role."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import Organisation, OrgKind, PartyOrg, PartyOrgState, Project, Role, db
from tests.conftest import sign_in_directly, zone_today

HX = {"HX-Request": "true"}


@pytest.fixture
def two(app, make_application):
    """Two established branches: A (a project's, its planned end passed yesterday) and R, which may take members."""
    a, r = make_application("established"), make_application("established", unit_code="logistics_park")
    with app.app_context():
        db.session.get(Organisation, a.organisation_id).kind = OrgKind.PROJECT
        ids = {made: db.session.scalar(sa.select(PartyOrg.id).where(PartyOrg.application_id == made.id))
               for made in (a, r)}
        db.session.add(Project(application_id=a.id, party_org_id=ids[a], name="二期工程", builder="城投",
                               planned_start=zone_today() - timedelta(days=400),
                               planned_end=zone_today() - timedelta(days=1)))
        db.session.commit()
    return ids[a], ids[r], a


def as_user(app, client, make_user, role, **links):
    user = make_user(role, **links)
    sign_in_directly(app, client, user.id)
    return user


def state_of(app, party_org_id):
    with app.app_context():
        party_org = db.session.get(PartyOrg, party_org_id)
        return party_org.state, party_org.version


# The record's viewers who are not the zone are refused (403); an instructor who does not guide it sees no record (404).
@pytest.mark.parametrize("role, status", [(Role.UNIT_REVIEWER, 403), (Role.APPLICANT, 403), (Role.INSTRUCTOR, 404),
                                          (Role.FINANCE, 403), (Role.ADMIN, 403)])
def test_only_the_zone_dissolves(app, client, make_user, two, role, status):
    a_id, _, made = two
    links = {"organisation": made.organisation} if role is Role.APPLICANT else {}
    as_user(app, client, make_user, role, **links)
    response = client.post(f"/orgs/{a_id}/dissolve", data={"version": 1, "reason": "项目竣工", "receiving_id": 0})
    assert response.status_code == status and state_of(app, a_id)[0] is PartyOrgState.ACTIVE


def test_the_zone_sees_the_panels_and_dissolves_into_another_branch(app, client, make_user, two):
    a_id, r_id, made = two
    as_user(app, client, make_user, Role.ZONE_APPROVER)
    page = client.get(f"/orgs/{a_id}").get_data(as_text=True)
    for words in ("党组织调整", "撤销党组织", "并入其他党组织", "更名", "保留党组织", "项目已结束，待党工委决定",
                  "项目部与党支部同步成立"):
        assert words in page
    assert "报告项目结束" not in page  # the contact's step
    home = client.get("/zone/").get_data(as_text=True)
    assert "工程项目已结束，待决定党组织去留（1）" in home and f'href="/orgs/{a_id}"' in home
    version = state_of(app, a_id)[1]
    response = client.post(f"/orgs/{a_id}/dissolve", headers=HX,
                           data={"version": version, "reason": "项目竣工", "receiving_id": r_id})
    card = response.get_data(as_text=True)
    assert response.status_code == 200 and "已撤销党组织。" in card and "关于撤销" in card
    assert "撤销党组织</summary>" not in card  # read-only now
    assert state_of(app, a_id)[0] is PartyOrgState.DISSOLVED
    with app.app_context():
        assert db.session.get(Organisation, made.organisation_id).covered
    assert "工程项目已结束" not in client.get("/zone/").get_data(as_text=True)


@pytest.mark.parametrize("data, message", [
    ({"reason": ""}, "撤销党组织须填写理由"),
    ({"reason": "竣工", "receiving_id": "abc"}, "党员转入"),
    ({"reason": "竣工", "receiving_id": 999999}, None),  # none such: as none chosen, dissolved without moving
])
def test_bad_dissolutions_are_refused_in_words(app, client, make_user, two, data, message):
    a_id, _, _ = two
    as_user(app, client, make_user, Role.ZONE_APPROVER)
    response = client.post(f"/orgs/{a_id}/dissolve", headers=HX, data={"version": 1, **data})
    if message is None:
        assert response.status_code == 200 and state_of(app, a_id)[0] is PartyOrgState.DISSOLVED
    else:
        assert response.status_code == 422 and message in response.get_data(as_text=True)
        assert state_of(app, a_id)[0] is PartyOrgState.ACTIVE


def test_rename_merge_and_keep_through_the_routes(app, client, make_user, two):
    a_id, r_id, _ = two
    as_user(app, client, make_user, Role.ZONE_APPROVER)
    refused = client.post(f"/orgs/{a_id}/rename", headers=HX, data={"version": 1, "reason": "规范", "new_name": "某支部"})
    assert refused.status_code == 422 and "应为“中共＋单位名称＋支部”" in refused.get_data(as_text=True)
    assert client.post(f"/orgs/{a_id}/rename", headers=HX,
                       data={"version": 1, "reason": "规范名称", "new_name": "中共二期工程项目部支部"}).status_code == 200
    kept = client.post(f"/orgs/{a_id}/project/keep", headers=HX,
                       data={"version": 2, "reason": "三期续建", "review_on": "not-a-date"})
    assert kept.status_code == 422
    assert client.post(f"/orgs/{a_id}/project/keep", headers=HX, data={
        "version": 2, "reason": "三期续建", "review_on": (zone_today() + timedelta(days=60)).isoformat()}).status_code == 200
    assert client.post(f"/orgs/{a_id}/merge", headers=HX,
                       data={"version": 3, "reason": "合并", "receiving_id": 0}).status_code == 422
    merged = client.post(f"/orgs/{a_id}/merge", headers=HX, data={"version": 3, "reason": "合并", "receiving_id": r_id})
    assert merged.status_code == 200 and "已并入其他党组织。" in merged.get_data(as_text=True)
    assert state_of(app, a_id) == (PartyOrgState.DISSOLVED, 4)


def test_the_contact_reports_the_project_end(app, client, make_user, two):
    a_id, _, made = two
    as_user(app, client, make_user, Role.APPLICANT, organisation=made.organisation)
    assert "报告项目结束" in client.get(f"/orgs/{a_id}").get_data(as_text=True)
    late = client.post(f"/orgs/{a_id}/project/end", headers=HX,
                       data={"version": 1, "ended_on": (zone_today() + timedelta(days=3)).isoformat()})
    assert late.status_code == 422 and "项目结束日期不能晚于今天" in late.get_data(as_text=True)
    done = client.post(f"/orgs/{a_id}/project/end", headers=HX, data={"version": 1, "ended_on": zone_today().isoformat()})
    assert done.status_code == 200 and "联系人报告已于" in done.get_data(as_text=True)
