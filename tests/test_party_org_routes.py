"""The record pages (党组织档案, issue 32): the list and its filters, a record as each role sees it, its documents,
and the committee's changes between elections (补选, 调整) through the routes."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from domain import party_orgs
from models import Application, CommitteePost, CommitteeSeat, PartyOrg, PartyOrgEvent, Role, User, db
from tests.conftest import sign_in_directly, zone_today

HX = {"HX-Request": "true"}


@pytest.fixture
def record(app, make_application, make_user):
    """An established branch with a secretary and a 委员 on its committee."""
    made = make_application("established", formal=8, probationary=0)
    with app.app_context():
        party_org = db.session.scalar(sa.select(PartyOrg).where(PartyOrg.application_id == made.id))
        for name, post in (("党员1", CommitteePost.SECRETARY), ("党员2", CommitteePost.MEMBER)):
            db.session.add(CommitteeSeat(party_org=party_org, name=name, post=post, started_on=party_org.term_start,
                                         member=party_orgs.member_of(party_org, name)))
        db.session.commit()
        return party_org.id, made


def as_user(app, client, make_user, role, **links) -> User:
    user = make_user(role, **links)
    sign_in_directly(app, client, user.id)
    return user


def test_the_record_page_shows_the_organisation(app, client, make_user, record):
    party_org_id, made = record
    as_user(app, client, make_user, Role.UNIT_REVIEWER)
    page = client.get(f"/orgs/{party_org_id}").get_data(as_text=True)
    assert f"中共{made.organisation.name}支部委员会" in page
    assert "党员1</td><td>书记" in page and "党员2</td><td>委员" in page
    assert "距届满还有" in page and "在届" in page and "六建六送（0/6）" in page
    assert "补选委员" not in page  # the zone's step: no button for a reviewer


@pytest.mark.parametrize("role, links, seen", [
    (Role.UNIT_REVIEWER, {"unit_code": "street_east"}, False),
    (Role.APPLICANT, {}, False),  # another organisation's contact
    (Role.FINANCE, {}, False),
    (Role.ZONE_APPROVER, {}, True),
])
def test_who_opens_a_record(app, client, make_user, record, role, links, seen):
    party_org_id, _ = record
    as_user(app, client, make_user, role, **links)
    assert client.get(f"/orgs/{party_org_id}").status_code == (200 if seen else 403 if role is Role.FINANCE else 404)


def test_the_contact_reaches_the_record_from_home(app, client, make_user, record):
    party_org_id, made = record
    as_user(app, client, make_user, Role.APPLICANT, organisation=made.organisation)
    assert f'href="/orgs/{party_org_id}"' in client.get("/applicant/").get_data(as_text=True)
    assert client.get(f"/orgs/{party_org_id}").status_code == 200
    assert f'href="/orgs/{party_org_id}"' in client.get(f"/applications/{made.id}").get_data(as_text=True)


def _set_term_end(app, party_org_id: int, end):
    with app.app_context():
        party_org = db.session.get(PartyOrg, party_org_id)
        party_org.term_start, party_org.established_on = end - timedelta(days=3 * 365), end - timedelta(days=3 * 365)
        party_org.term_end = end
        db.session.commit()


def test_the_list_filters_by_term_status(app, client, make_application, make_user):
    """Three records: one whose term ended yesterday (届满未换届), one ending in a month (半年内届满), one just begun."""
    ids = {}
    for name, days in (("expired", -1), ("due", 30), ("current", 3 * 365)):
        made = make_application("established")
        with app.app_context():
            ids[name] = db.session.scalar(sa.select(PartyOrg.id).where(PartyOrg.application_id == made.id))
        _set_term_end(app, ids[name], zone_today() + timedelta(days=days))
    as_user(app, client, make_user, Role.ZONE_APPROVER)

    def listed(query: str) -> set[str]:
        page = client.get(f"/orgs/?{query}", headers=HX).get_data(as_text=True)
        return {name for name, i in ids.items() if f'href="/orgs/{i}"' in page}

    assert listed("term=expired") == {"expired"}
    assert listed("term=due") == {"due"}
    assert listed("term=current") == {"current"}
    assert listed("") == listed("term=nonsense&kind=%00&unit_id=99999") == set(ids)
    assert "届满未换届" in client.get("/orgs/?term=expired").get_data(as_text=True)


def test_a_reviewer_lists_their_unit_only(app, client, make_application, make_user):
    mine, other = make_application("established"), make_application("established", unit_code="street_east")
    as_user(app, client, make_user, Role.UNIT_REVIEWER)
    with app.app_context():
        other_unit = db.session.get(Application, other.id).unit_id
    page = client.get(f"/orgs/?unit_id={other_unit}").get_data(as_text=True)
    assert mine.organisation.name in page and other.organisation.name not in page


def test_the_zone_fills_and_adjusts_seats(app, client, make_user, record):
    party_org_id, _ = record
    as_user(app, client, make_user, Role.ZONE_APPROVER)
    today = zone_today().isoformat()
    response = client.post(f"/orgs/{party_org_id}/seats/fill", headers=HX, data={
        "version": 1, "name": "党员3", "post": "deputy", "day": today, "reason": "原副书记调离，经支委会研究补选"})
    assert response.status_code == 200
    assert "已补选委员" in response.get_data(as_text=True) and "补选党员3为副书记" in response.get_data(as_text=True)
    with app.app_context():
        seat = db.session.scalar(sa.select(CommitteeSeat).filter_by(party_org_id=party_org_id, name="党员3"))
        secretary = db.session.scalar(sa.select(CommitteeSeat).filter_by(party_org_id=party_org_id, name="党员1"))
        assert (seat.post, seat.member.name, seat.ended_on) == (CommitteePost.DEPUTY, "党员3", None)
    # The secretary leaves; the deputy becomes secretary the same day.
    response = client.post(f"/orgs/{party_org_id}/seats/adjust", headers=HX, data={
        "version": 2, "seat_id": secretary.id, "post": "end", "day": today, "reason": "工作调动"})
    assert response.status_code == 200, response.get_data(as_text=True)
    response = client.post(f"/orgs/{party_org_id}/seats/adjust", headers=HX, data={
        "version": 3, "seat_id": seat.id, "post": "secretary", "day": today, "reason": "经选举改任书记"})
    assert response.status_code == 200, response.get_data(as_text=True)
    with app.app_context():
        seats = db.session.execute(sa.select(CommitteeSeat.name, CommitteeSeat.post, CommitteeSeat.ended_on)
                                   .filter_by(party_org_id=party_org_id).order_by(CommitteeSeat.id)).all()
        events = db.session.scalars(sa.select(PartyOrgEvent.action).filter_by(party_org_id=party_org_id)
                                    .order_by(PartyOrgEvent.id)).all()
    day = zone_today()
    assert [tuple(s) for s in seats] == [("党员1", CommitteePost.SECRETARY, day), ("党员2", CommitteePost.MEMBER, None),
                                         ("党员3", CommitteePost.DEPUTY, day), ("党员3", CommitteePost.SECRETARY, None)]
    assert events == ["fill_seat", "adjust_seat", "adjust_seat"]
    page = client.get(f"/orgs/{party_org_id}").get_data(as_text=True)
    assert "党员3由副书记改任书记" in page and "曾任班子成员（2 人次）" in page


@pytest.mark.parametrize("path, data, status, message", [
    ("fill", {"name": "党员3", "post": "member"}, 422, "须填写理由"),
    ("fill", {"name": "党员3", "post": "secretary", "reason": "补选"}, 422, "现任书记为党员1"),
    ("fill", {"name": "党员2", "post": "member", "reason": "补选"}, 422, "党员2已是现任班子成员"),
    ("fill", {"name": "", "post": "member", "reason": "补选"}, 422, "请填写补选人员的姓名"),
    ("fill", {"name": "党员3", "post": "nonsense", "reason": "补选"}, 422, "请选择补选的职务"),
    ("fill", {"name": "党员3", "post": "member", "reason": "补选", "day": "2999-01-01"}, 422, "不能晚于今天"),
    ("fill", {"name": "党员3", "post": "member", "reason": "补选", "day": "2000-01-01"}, 422,
     "不能早于本届任期的开始日期"),
    ("fill", {"name": "党员3", "post": "member", "reason": "补选", "version": 7}, 409, "已被他人修改"),
    ("adjust", {"seat_id": 0, "post": "end", "reason": "调整"}, 422, "请选择一名现任班子成员"),
    ("adjust", {"seat_id": "x", "post": "end", "reason": "调整"}, 422, "请从列表中选择"),
    ("adjust", {"post": "", "reason": "调整"}, 422, "请选择调整后的职务"),
])
def test_a_refused_change_says_why(app, client, make_user, record, path, data, status, message):
    party_org_id, _ = record
    as_user(app, client, make_user, Role.ZONE_APPROVER)
    response = client.post(f"/orgs/{party_org_id}/seats/{path}", headers=HX,
                           data={"version": 1, "day": zone_today().isoformat(), **data})
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(PartyOrgEvent.id))) == 0


def test_only_the_zone_changes_the_committee(app, client, make_user, record):
    party_org_id, made = record
    as_user(app, client, make_user, Role.UNIT_REVIEWER)
    assert client.post(f"/orgs/{party_org_id}/seats/fill", data={"version": 1}).status_code == 403


def test_the_record_serves_its_documents_only(app, client, make_user, make_application, record):
    from domain.documents import issue_document
    from models import Document, DocumentKind

    party_org_id, made = record
    zone = make_user(Role.ZONE_APPROVER)
    other = make_application("established")
    with app.app_context():
        application = db.session.get(Application, made.id)
        mine = issue_document(application, DocumentKind.APPROVAL, actor=db.session.get(User, zone.id))
        theirs = issue_document(db.session.get(Application, other.id), DocumentKind.APPROVAL,
                                actor=db.session.get(User, zone.id))
        db.session.commit()
        mine_id, theirs_id = mine.id, theirs.id
        assert db.session.get(Document, mine_id).party_org_id is None  # issued after the record: linked by hand here
        db.session.get(Document, mine_id).party_org_id = party_org_id
        db.session.commit()
    sign_in_directly(app, client, zone.id)
    response = client.get(f"/orgs/{party_org_id}/documents/{mine_id}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert client.get(f"/orgs/{party_org_id}/documents/{theirs_id}.pdf").status_code == 404


def test_the_admin_sets_a_term_length_for_terms_to_come(app, client, make_user, make_application):
    """Audited; the next record counts with it, one already running keeps its end; out of range is refused."""
    from domain.party_orgs import create_party_org
    from models import AuditEvent, PartyOrgKind, TermLength

    running = make_application("established")
    as_user(app, client, make_user, Role.ADMIN)
    assert "基层党委" in client.get("/admin/term-lengths").get_data(as_text=True)
    response = client.post("/admin/term-lengths", data={"party_org_kind": "branch", "years": "6"})
    assert response.status_code == 422 and "应为3至5年" in response.get_data(as_text=True)
    response = client.post("/admin/term-lengths", data={"party_org_kind": "branch", "years": "4"},
                           follow_redirects=True)
    assert "已将党支部的每届任期设为4年" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(TermLength, PartyOrgKind.BRANCH).years == 4
        audit = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "set_term_length"))
        assert audit.summary == "党支部任期由3年改为4年"
        old = db.session.scalar(sa.select(PartyOrg).where(PartyOrg.application_id == running.id))
        assert (old.term_end - old.term_start).days in (365 * 3, 365 * 3 + 1)
        application = db.session.get(Application, make_application("approved").id)
        application.requested_kind = PartyOrgKind.BRANCH
        new = create_party_org(application)
        assert new.term_end == party_orgs.term_end(new.term_start, 4)
