"""The election report asks what the kind's members' meeting really elects (issue 29): without a committee the
secretary; with one the 委员, each with their votes, who elect the secretary from among themselves."""
import re
import subprocess

import pytest

from domain import DomainError
from domain import applications as verbs
from domain.applications import Elected, ElectionReport
from models import AppState, Application, ApplicationEvent, Document, DocumentKind, Role, User, db
from tests.conftest import zone_today

HX = {"HX-Request": "true"}


def committee(*names, votes=8):
    return tuple(Elected(name, votes) for name in names)


def report(members=committee("党员1", "党员2", "党员3"), secretary="党员1", secretary_votes=3, present=8):
    return ElectionReport(zone_today(), 8, present, secretary, secretary_votes, members)


@pytest.fixture
def branch_committee(app, make_application, make_user):
    """An approved branch of 8 formal members (a 党支部委员会), and its contact."""
    made = make_application("approved", formal=8, probationary=0)
    contact = make_user(Role.APPLICANT, organisation=made.organisation)
    return made, contact


def test_the_meeting_elects_the_committee_and_the_committee_the_secretary(ctx, branch_committee):
    made, contact = branch_committee
    application = ctx.get(Application, made.id)
    verbs.report_election(application, report(committee("党员2", "党员1", "党员3", votes=7), "党员1", 3),
                          actor=ctx.get(User, contact.id), version=application.version)
    assert application.state is AppState.ELECTION_REPORTED
    assert application.committee_members == "党员2、党员1、党员3"
    assert application.committee_votes == [{"name": "党员2", "votes": 7}, {"name": "党员1", "votes": 7},
                                           {"name": "党员3", "votes": 7}]
    assert (application.secretary_name, application.secretary_votes) == ("党员1", 3)
    event = ctx.query(ApplicationEvent).filter_by(application_id=made.id, action="report_election").one()
    assert "选举党员2、党员1、党员3为委员，委员会选举党员1为书记" in event.comment


@pytest.mark.parametrize("bad, message", [
    (report(committee("党员1", "党员2")), "党支部委员会须选举产生委员3至7名，已填写 2 名"),
    (report(committee(*[f"党员{i}" for i in range(1, 9)])), "须选举产生委员3至7名，已填写 8 名"),
    (report(committee("党员1", "党员2", "路人甲")), "委员“路人甲”应是党员名单中的正式党员"),
    (report(committee("党员1", "党员2", "党员2")), "委员“党员2”填写了不止一次"),
    (report(committee("党员1", "党员2", "党员3", votes=9)), "委员“党员1”的得票数 9 超过了实到人数 8"),
    (report(committee("党员1", "党员2", "党员3", votes=4)), "委员“党员1”的得票数 4 未超过实到人数的一半"),
    (report(committee("党员1", "党员2", "党员3", votes=None)), "请填写委员“党员1”的得票数"),
    (report(secretary="党员4"), "书记由委员会从委员中选举产生，“党员4”不在当选委员中"),
    (report(secretary_votes=4), "委员会选举书记的得票数不能超过委员人数 3"),
    (report(secretary_votes=1), "书记须获得超过委员会委员半数的赞成票"),
    (report(committee("党员1\u200b", "党员2", "党员3")), "委员姓名须为一行文字"),
])
def test_the_committee_rules_name_what_is_wrong(ctx, branch_committee, bad, message):
    made, contact = branch_committee
    application = ctx.get(Application, made.id)
    with pytest.raises(DomainError, match=message):
        verbs.report_election(application, bad, actor=ctx.get(User, contact.id), version=application.version)
    assert application.state is AppState.APPROVED


def test_a_branch_without_a_committee_elects_its_secretary_directly(ctx, make_application, make_user):
    made = make_application("approved", formal=5, probationary=1)
    contact = make_user(Role.APPLICANT, organisation=made.organisation)
    application = ctx.get(Application, made.id)
    with pytest.raises(DomainError, match="书记当选须获得超过实到人数一半的赞成票"):
        verbs.report_election(application, ElectionReport(zone_today(), 5, 5, "党员1", 2),
                              actor=ctx.get(User, contact.id), version=application.version)
    verbs.report_election(application, ElectionReport(zone_today(), 5, 5, "党员1", 5, committee("党员2", "党员3")),
                          actor=ctx.get(User, contact.id), version=application.version)
    assert application.committee_members == "" and application.committee_votes is None  # it elects none


def test_the_election_approval_names_the_committee_and_its_secretary(app, ctx, branch_committee, make_user, tmp_path):
    made, contact = branch_committee
    zone = make_user(Role.ZONE_APPROVER)
    application = ctx.get(Application, made.id)
    verbs.report_election(application, report(committee("党员2", "党员1", "党员3")),
                          actor=ctx.get(User, contact.id), version=application.version)
    verbs.establish_organisation(application, actor=ctx.get(User, zone.id), version=application.version)
    ctx.commit()
    document = ctx.query(Document).filter_by(application_id=made.id, kind=DocumentKind.ELECTION_APPROVAL).one()
    (tmp_path / "e.pdf").write_bytes(document.file.data)
    text = subprocess.run(["pdftotext", str(tmp_path / "e.pdf"), "-"], capture_output=True, text=True).stdout
    text = "".join(text.split())
    assert "同意党员1、党员2、党员3同志为" in text and "党员1同志为书记" in text


def test_the_form_sends_the_committee_rows(client, app, branch_committee):
    from tests.conftest import sign_in_directly

    made, contact = branch_committee
    sign_in_directly(app, client, contact.id)
    form = {"version": 1, "election_date": zone_today().isoformat(), "voters_expected": 8, "voters_present": 8,
            "secretary_name": "党员1", "secretary_votes": 3,
            "committee_name": ["党员1", "党员2", "党员3", ""], "committee_votes": ["8", "7", "x", ""]}
    refused = client.post(f"/applications/{made.id}/steps/report_election", data=form, headers=HX)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "请填写委员“党员3”的得票数" in page
    assert 'name="committee_name" value="党员2"' in page and 'name="committee_votes" value="x"' in page  # kept
    form["committee_votes"] = ["8", "7", "6", ""]
    done = client.post(f"/applications/{made.id}/steps/report_election", data=form, headers=HX)
    assert done.status_code == 200 and "党员3（6 票）" in done.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Application, made.id).committee_members == "党员1、党员2、党员3"


def test_a_report_sent_back_comes_back_filled_in(client, app, branch_committee, make_user):
    from tests.conftest import sign_in_directly

    made, contact = branch_committee
    zone = make_user(Role.ZONE_APPROVER)
    with app.app_context():
        application = db.session.get(Application, made.id)
        verbs.report_election(application, report(committee("党员2", "党员1", "党员3", votes=7), present=7),
                              actor=db.session.get(User, contact.id), version=application.version)
        verbs.return_election(application, actor=db.session.get(User, zone.id), version=application.version,
                              comment="实到人数有误")
        db.session.commit()
    sign_in_directly(app, client, contact.id)
    page = client.get(f"/applications/{made.id}").get_data(as_text=True)
    assert re.search(f'name="election_date"[^>]* value="{zone_today().isoformat()}"', page)
    assert 'name="voters_present" value="7"' in page and 'name="secretary_votes" value="3"' in page
    assert 'name="committee_name" value="党员2"' in page and 'name="committee_votes" value="7"' in page


def test_a_report_posted_with_thousands_of_committee_rows_is_refused_in_one_line(ctx, branch_committee):
    # An applicant can post as many committee_name rows as the 32 MB request holds: each row got its own message,
    # and the duplicate search counted every name in every other (20,000 rows: 8 s of CPU, growing as the square).
    made, contact = branch_committee
    application = ctx.get(Application, made.id)
    many = committee(*[f"党员{i}" for i in range(20000)])
    with pytest.raises(DomainError) as refused:
        verbs.report_election(application, report(many), actor=ctx.get(User, contact.id), version=application.version)
    assert refused.value.message == "选举结果不符合要求：党支部委员会须选举产生委员3至7名，已填写 20000 名"
    assert application.state is AppState.APPROVED
