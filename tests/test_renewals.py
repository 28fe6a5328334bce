"""换届 and 延期/提前换届 (issue 32): each step of the table, its refusals (the wrong state, the wrong role, bad dates,
too many candidates), the new term it starts, the 批复 it issues, and the database's one-open-request rule."""
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from domain import DomainError, StaleError
from domain import party_orgs as po
from domain.party_orgs import Slate
from models import (
    CommitteePost, CommitteeSeat, DocumentKind, Notification, PartyOrg, PartyOrgEvent, PartyOrgKind, PartyOrgState,
    Renewal, RenewalKind, RenewalState, Role, StoredFile, User, db,
)
from tests.conftest import zone_today

R = RenewalState
BRANCH_SLATE = Slate("党员1", ["党员2"])  # a 党支部 of 5 without a committee: a secretary and a deputy
COMMITTEE = Slate("党员1", ["党员2"], ["党员3", "党员4", "党员5"])  # a 党支部委员会 of 5


@pytest.fixture
def people(make_application, make_user):
    """An established 党支部 (5 formal members), its contact, a reviewer of its unit, a zone approver."""
    made = make_application("established")
    return {"made": made, "contact": make_user(Role.APPLICANT, organisation=made.organisation),
            "unit": make_user(Role.UNIT_REVIEWER), "zone": make_user(Role.ZONE_APPROVER),
            "other_unit": make_user(Role.UNIT_REVIEWER, unit_code="logistics_park")}


class World:
    """The record and the actors, loaded in the test's session."""

    def __init__(self, ctx, people):
        self.ctx = ctx
        self.org = ctx.scalar(sa.select(PartyOrg).where(PartyOrg.application_id == people["made"].id))
        self.users = {k: ctx.get(User, v.id) for k, v in people.items() if k != "made"}

    def __getitem__(self, role: str) -> User:
        return self.users[role]

    @property
    def renewal(self) -> Renewal | None:
        return po.open_renewal(self.org)

    def submit(self, planned=None, slate=BRANCH_SLATE) -> Renewal:
        open_request = po.open_renewal(self.org)  # the page posts the open request's version, else the record's
        return po.submit_renewal(self.org, planned or zone_today() + timedelta(days=30), slate, actor=self["contact"],
                                 version=open_request.version if open_request else self.org.version)

    def through(self, last: str) -> Renewal:
        """Take the 换届 from its 请示 up to and including the step `last`."""
        renewal = self.submit()
        for action, verb, role in (("pass", po.pass_renewal, "unit"), ("approve", po.approve_renewal, "zone")):
            verb(renewal, actor=self[role], version=renewal.version)
            if action == last:
                return renewal
        po.report_renewal_election(renewal, zone_today(), BRANCH_SLATE, actor=self["contact"],
                                   version=renewal.version)
        if last == "report_election":
            return renewal
        po.approve_renewal_election(renewal, actor=self["zone"], version=renewal.version)
        return renewal


@pytest.fixture
def world(ctx, people):
    return World(ctx, people)


def events(world) -> list[PartyOrgEvent]:
    """The record's history as the database has it now (PartyOrg.history is read once per session)."""
    return list(world.ctx.scalars(sa.select(PartyOrgEvent).where(PartyOrgEvent.party_org_id == world.org.id)
                                  .order_by(PartyOrgEvent.id)))


def history(world) -> list[str]:
    return [e.action for e in events(world)]


# ---------------------------------------------------------------- the whole 换届

def test_the_renewal_runs_from_its_request_to_the_new_term(world):
    org, today = world.org, zone_today()
    org.established_on = org.term_start = today - timedelta(days=3 * 365)  # a term that has run its course
    old_secretary = CommitteeSeat(name="党员1", post=CommitteePost.SECRETARY, started_on=org.term_start)
    org.seats.append(old_secretary)  # re-elected: her old seat ends, her new one starts
    renewal = world.submit()
    assert (renewal.kind, renewal.state, renewal.secretary_candidate, renewal.deputy_candidates) == (
        RenewalKind.RENEWAL, R.SUBMITTED, "党员1", "党员2")
    po.pass_renewal(renewal, actor=world["unit"], version=renewal.version)
    assert renewal.state is R.UNIT_PASSED
    po.approve_renewal(renewal, actor=world["zone"], version=renewal.version)
    assert renewal.state is R.APPROVED
    po.report_renewal_election(renewal, today, BRANCH_SLATE, actor=world["contact"], version=renewal.version)
    assert renewal.state is R.ELECTION_REPORTED
    po.approve_renewal_election(renewal, actor=world["zone"], version=renewal.version)
    assert renewal.state is R.COMPLETED and po.open_renewal(org) is None

    assert (org.term_start, org.term_end) == (today, po.term_end(today, 3))
    assert old_secretary.ended_on == today
    assert [(s.name, s.post, s.started_on, s.member.name) for s in org.current_seats] == [
        ("党员1", CommitteePost.SECRETARY, today, "党员1"), ("党员2", CommitteePost.DEPUTY, today, "党员2")]
    assert history(world) == ["renewal.submit", "renewal.pass", "renewal.approve", "renewal.report_election",
                              "renewal.approve_election"]
    kinds = [d.kind for d in po.documents_of(org)]
    assert kinds[-2:] == [DocumentKind.RENEWAL, DocumentKind.RENEWAL_ELECTION]
    done = {e.action: e for e in events(world)}
    assert done["renewal.approve"].document.kind is DocumentKind.RENEWAL
    assert done["renewal.approve_election"].details["term_end"] == org.term_end.isoformat()


def test_each_step_tells_whom_it_concerns_with_a_link_to_the_panel(world):
    renewal = world.submit()
    unit_notice = world.ctx.scalars(sa.select(Notification).where(Notification.user_id == world["unit"].id)).one()
    assert unit_notice.link == f"/orgs/{world.org.id}#renewal" and "提交换届请示" in unit_notice.message
    # A reviewer of another unit is not told.
    assert world.ctx.scalar(sa.select(sa.func.count()).select_from(Notification)
                            .where(Notification.user_id == world["other_unit"].id)) == 0
    po.return_renewal(renewal, "候选人名单不全", actor=world["unit"], version=renewal.version)
    told = world.ctx.scalars(sa.select(Notification.message).where(Notification.user_id == world["contact"].id)).all()
    assert any("退回修改。候选人名单不全" in m for m in told)


def test_a_returned_request_is_submitted_again_and_may_be_withdrawn(world):
    renewal = world.submit()
    po.return_renewal(renewal, "请补充副书记候选人", actor=world["unit"], version=renewal.version)
    assert renewal.state is R.RETURNED and events(world)[-1].reason == "请补充副书记候选人"
    again = world.submit(slate=Slate("党员3"))
    assert again.id == renewal.id and (again.state, again.secretary_candidate) == (R.SUBMITTED, "党员3")
    po.pass_renewal(renewal, actor=world["unit"], version=renewal.version)
    po.return_renewal(renewal, "日期须调整", actor=world["zone"], version=renewal.version)  # the zone returns too
    assert renewal.state is R.RETURNED and events(world)[-1].action == "renewal.zone_return"
    po.withdraw_renewal(renewal, actor=world["contact"], version=renewal.version)
    assert renewal.state is R.WITHDRAWN and po.open_renewal(world.org) is None
    assert world.submit().id != renewal.id  # a new request may follow


def test_a_returned_election_is_reported_again(world):
    renewal = world.through("report_election")
    po.return_renewal_election(renewal, "得票情况不清", actor=world["zone"], version=renewal.version)
    assert renewal.state is R.APPROVED
    po.report_renewal_election(renewal, zone_today(), Slate("党员2"), actor=world["contact"], version=renewal.version)
    assert renewal.elected_secretary == "党员2" and renewal.elected_deputies == ""


def test_a_committee_is_seated_by_post(ctx, make_application, make_user, people):
    made = make_application("established", formal=8, probationary=0)
    contact = make_user(Role.APPLICANT, organisation=made.organisation)
    world = World(ctx, {**people, "made": made, "contact": contact})
    assert world.org.kind is PartyOrgKind.BRANCH_COMMITTEE
    renewal = world.submit(slate=COMMITTEE)
    po.pass_renewal(renewal, actor=world["unit"], version=renewal.version)
    po.approve_renewal(renewal, actor=world["zone"], version=renewal.version)
    po.report_renewal_election(renewal, zone_today(), COMMITTEE, actor=world["contact"], version=renewal.version)
    po.approve_renewal_election(renewal, actor=world["zone"], version=renewal.version)
    assert [(s.name, s.post) for s in world.org.current_seats] == [
        ("党员1", CommitteePost.SECRETARY), ("党员2", CommitteePost.DEPUTY), ("党员3", CommitteePost.MEMBER),
        ("党员4", CommitteePost.MEMBER), ("党员5", CommitteePost.MEMBER)]


# ---------------------------------------------------------------- refusals

def test_the_wrong_role_is_refused(world):
    with pytest.raises(DomainError, match="只有本单位联系人可以提交换届请示"):
        po.submit_renewal(world.org, zone_today(), BRANCH_SLATE, actor=world["unit"], version=world.org.version)
    renewal = world.submit()
    with pytest.raises(DomainError, match="只有初审单位可以初审通过"):
        po.pass_renewal(renewal, actor=world["zone"], version=renewal.version)
    with pytest.raises(DomainError, match="只有初审单位可以初审通过"):  # a reviewer of another unit
        po.pass_renewal(renewal, actor=world["other_unit"], version=renewal.version)
    with pytest.raises(DomainError, match="只有开发区党工委可以批准换届"):
        po.approve_renewal(renewal, actor=world["unit"], version=renewal.version)


def test_the_wrong_state_is_refused(world):
    renewal = world.submit()
    with pytest.raises(DomainError, match="当前为“待初审”，不能批准换届"):
        po.approve_renewal(renewal, actor=world["zone"], version=renewal.version)
    with pytest.raises(DomainError, match="已有一份换届请示正在办理（待初审），须办结或撤回后才能提交换届请示"):
        world.submit()
    with pytest.raises(DomainError, match="须办结或撤回后才能申请延期或提前换届"):
        po.ask_date_change(world.org, world.org.term_end + timedelta(days=30), "工作需要", actor=world["contact"],
                           version=renewal.version)  # a fresh page's: the open request's
    po.pass_renewal(renewal, actor=world["unit"], version=renewal.version)
    po.approve_renewal(renewal, actor=world["zone"], version=renewal.version)
    with pytest.raises(DomainError, match="当前为“已批准换届，待报告选举结果”，不能撤回请示"):
        po.withdraw_renewal(renewal, actor=world["contact"], version=renewal.version)


def test_a_stale_page_is_refused(world):
    renewal = world.submit()
    version = renewal.version
    po.return_renewal(renewal, "请修改", actor=world["unit"], version=version)
    with pytest.raises(StaleError):
        po.pass_renewal(renewal, actor=world["unit"], version=version)


def test_a_return_needs_a_reason(world):
    renewal = world.submit()
    with pytest.raises(DomainError, match="退回修改须填写理由"):
        po.return_renewal(renewal, "  ", actor=world["unit"], version=renewal.version)


def test_a_planned_election_in_the_past_is_refused(world):
    with pytest.raises(DomainError, match="换届选举日期不能早于今天") as refused:
        world.submit(planned=zone_today() - timedelta(days=1))
    assert refused.value.field == "planned_on"


def test_a_plan_after_the_terms_end_waits_for_an_approved_postponement(world):
    org = world.org
    late = org.term_end + timedelta(days=30)
    with pytest.raises(DomainError, match="晚于本届任期届满日期.*请先申请延期") as refused:
        world.submit(planned=late)
    assert refused.value.field == "planned_on" and world.renewal is None
    asked = po.ask_date_change(org, late, "党员随项目外出，年底返回", actor=world["contact"], version=org.version)
    po.grant_date_change(asked, actor=world["zone"], version=asked.version)
    assert world.submit(planned=late).planned_on == late


def test_an_election_before_the_zones_approval_or_in_the_future_is_refused(world):
    renewal = world.through("approve")
    with pytest.raises(DomainError, match="选举日期不能晚于今天"):
        po.report_renewal_election(renewal, zone_today() + timedelta(days=1), BRANCH_SLATE, actor=world["contact"],
                                   version=renewal.version)
    with pytest.raises(DomainError, match="选举日期不能早于同意换届的批复印发日期"):
        po.report_renewal_election(renewal, zone_today() - timedelta(days=1), BRANCH_SLATE, actor=world["contact"],
                                   version=renewal.version)


@pytest.mark.parametrize("slate, message", [
    (Slate("党员1", ["党员2", "党员3"]), "党支部设书记一名，必要时设副书记一名"),
    (Slate("党员1", [], ["党员2"]), "党支部不设委员会"),
    (Slate(""), "请填写书记候选人的姓名"),
    (Slate("党员1", ["党员1"]), "“党员1”填写了不止一次"),
    (Slate("党员1\t"), "候选人姓名"),
    (Slate("长" * 41), "候选人姓名不能超过40个字"),
])
def test_a_branch_without_a_committee_is_refused_a_wrong_slate(world, slate, message):
    with pytest.raises(DomainError, match=message):
        world.submit(slate=slate)


@pytest.mark.parametrize("count, refused", [(2, True), (3, False), (7, False), (8, True)])
def test_a_committee_has_from_3_to_7_members(ctx, make_application, make_user, people, count, refused):
    made = make_application("established", formal=9, probationary=0)
    world = World(ctx, {**people, "made": made, "contact": make_user(Role.APPLICANT, organisation=made.organisation)})
    slate = Slate("党员1", [], [f"党员{i}" for i in range(2, count + 1)])
    if refused:
        with pytest.raises(DomainError, match=f"党支部委员会由委员3至7名组成（含书记、副书记），已填写 {count} 名"):
            world.submit(slate=slate)
    else:
        assert world.submit(slate=slate).state is R.SUBMITTED


def test_a_dissolved_organisation_cannot_renew(world):
    world.org.state = PartyOrgState.DISSOLVED
    with pytest.raises(DomainError, match="当前为“已撤销”，不能提交换届请示"):
        world.submit()


@pytest.mark.parametrize("step", ["dissolve", "merge"])
def test_dissolving_or_merging_ends_the_open_request(world, make_application, step):
    absorbing_id = make_application("established").id  # made first: it writes in a session of its own
    renewal = world.through("approve")  # approved, waiting for an election that will not be held
    zone = world["zone"]
    if step == "dissolve":
        po.dissolve_party_org(world.org, actor=zone, version=world.org.version, reason="项目竣工")
    else:
        absorbing = world.ctx.scalar(sa.select(PartyOrg).where(PartyOrg.application_id == absorbing_id))
        po.merge_party_org(world.org, actor=zone, version=world.org.version, reason="企业合并", into=absorbing)
    world.ctx.commit()
    assert renewal.state is R.ENDED and renewal.state.label == "已终止"
    assert world.renewal is None
    assert world.org.state is PartyOrgState.DISSOLVED
    with pytest.raises(DomainError, match="当前为“已撤销”，不能报告换届选举结果"):
        po.report_renewal_election(renewal, zone_today(), BRANCH_SLATE, actor=world["contact"],
                                   version=renewal.version)


def test_the_database_keeps_one_open_request_per_organisation(world):
    world.submit()
    with pytest.raises(sa.exc.IntegrityError, match="uq_renewals_one_open|renewals.party_org_id"):
        with world.ctx.begin_nested():
            world.ctx.add(Renewal(party_org=world.org, kind=RenewalKind.RENEWAL, state=R.APPROVED,
                                  planned_on=zone_today(), submitted_by=world["contact"]))
            world.ctx.flush()


def test_a_substitute_acts_on_the_officials_behalf(world, make_user, app):
    from domain.substitutes import SubstituteData, name_substitute

    stand_in = world.ctx.get(User, make_user(Role.UNIT_REVIEWER).id)
    name_substitute(world["unit"], SubstituteData(stand_in.id, zone_today(), zone_today() + timedelta(days=3), "出差"))
    renewal = world.submit()
    po.pass_renewal(renewal, actor=stand_in, version=renewal.version)
    event = events(world)[-1]
    assert (event.actor, event.on_behalf_of) == (stand_in, world["unit"])


# ---------------------------------------------------------------- 延期换届, 提前换届

def test_an_approved_postponement_moves_the_terms_end(world):
    org = world.org
    old_end, new_end = org.term_end, org.term_end + timedelta(days=180)
    asked = po.ask_date_change(org, new_end, "项目收尾，党员分散在外地", actor=world["contact"], version=org.version)
    assert (asked.kind, asked.state) == (RenewalKind.POSTPONE, R.ASKED)
    po.grant_date_change(asked, actor=world["zone"], version=asked.version)
    assert asked.state is R.GRANTED and org.term_end == new_end
    event = events(world)[-1]
    assert event.document.kind is DocumentKind.POSTPONEMENT
    assert event.details["old_end"] == old_end.isoformat()


def test_an_advancement_and_a_refusal(world):
    org = world.org
    old_end = org.term_end
    asked = po.ask_date_change(org, old_end - timedelta(days=100), "班子成员调动", actor=world["contact"],
                               version=org.version)
    assert asked.kind is RenewalKind.ADVANCE
    po.refuse_date_change(asked, "现班子可继续履职", actor=world["zone"], version=asked.version)
    assert asked.state is R.REFUSED and org.term_end == old_end


@pytest.mark.parametrize("days, message", [
    (0, "相同，无需申请"),
    (366 + 1, "延期换届一般不超过1年"),
    (-366 - 1, "提前换届一般不超过1年"),
])
def test_a_change_of_date_beyond_a_year_or_none_is_refused(world, days, message):
    org = world.org
    with pytest.raises(DomainError, match=message):
        po.ask_date_change(org, org.term_end + timedelta(days=days), "理由", actor=world["contact"],
                           version=org.version)


def test_a_change_of_date_into_the_past_or_without_reason_is_refused(world):
    org = world.org
    org.established_on = org.term_start = zone_today() - timedelta(days=1000)
    org.term_end = zone_today() + timedelta(days=95)
    with pytest.raises(DomainError, match="新的换届日期不能早于今天"):
        po.ask_date_change(org, zone_today() - timedelta(days=1), "理由", actor=world["contact"], version=org.version)
    with pytest.raises(DomainError, match="申请延期或提前换届须填写理由"):
        po.ask_date_change(org, org.term_end + timedelta(days=1), "", actor=world["contact"], version=org.version)
    with pytest.raises(DomainError, match="只有本单位联系人可以申请延期或提前换届"):
        po.ask_date_change(org, org.term_end + timedelta(days=1), "理由", actor=world["zone"], version=org.version)


# ---------------------------------------------------------------- the 批复

def text_of(document) -> str:
    pdf = db.session.get(StoredFile, document.file_id).data
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return text.replace("\n", "")


def test_the_renewal_approvals_say_what_was_approved(world):
    renewal = world.through("approve_election")
    org = world.org
    first, second = [e.document for e in events(world) if e.document is not None]
    assert first.title == f"关于同意{org.name}换届选举的批复"
    text = text_of(first)
    assert f"《关于{org.name}换届选举的请示》收悉" in text
    assert "原则同意党员1同志为书记候选人预备人选，党员2同志为副书记候选人预备人选" in text
    assert second.title == f"关于{org.name}换届选举结果的批复"
    text = text_of(second)
    assert f"同意党员1同志任{org.name}书记，党员2同志任副书记" in text
    assert f"新一届任期自{renewal.elected_on.year}年" in text
    assert first.number != second.number


def test_the_postponement_approval_names_both_dates(world):
    org = world.org
    asked = po.ask_date_change(org, date(org.term_end.year + 1, 1, 10) if org.term_end.month > 1 else
                               org.term_end + timedelta(days=20), "工作需要", actor=world["contact"],
                               version=org.version)
    po.grant_date_change(asked, actor=world["zone"], version=asked.version)
    document = events(world)[-1].document
    assert document.title == f"关于同意{org.name}延期换届的批复"
    assert "同意" + org.name + "延期换届，换届选举于" in text_of(document)


def test_the_diagram_is_drawn_from_the_table(app):
    output = app.test_cli_runner().invoke(args=["workflow-diagram", "--renewal"]).output
    assert "    [*] --> submitted: 提交换届请示（企业/社会组织联系人）" in output
    assert "    asked --> granted: 批准延期或提前换届（开发区党工委）" in output
    assert "    approved --> ended: 党组织撤销或并入其他党组织（开发区党工委）" in output
    # The table's edges, the five final states' exits and the seven open states' ends by dissolution.
    assert output.count("-->") == sum(len(s.sources) for s in po.RENEWAL_STEPS) + 5 + 7
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert f"```mermaid\n{output.strip()}\n```" in readme, (
        "README's 换届 diagram is stale: paste `flask --app app workflow-diagram --renewal`")


def test_the_renewal_approval_keeps_the_gb_t_9704_layout(world):
    """The body of the record's 批复 sits in the founding ones' layout (tests/test_document_layout.py): within the
    156 mm type area, indented two characters, on the 22-line grid; the title whole, no line starting with 的."""
    from tests.pdf_measure import measure
    from tests.test_document_layout import BOTTOM, LEFT, LINE, PITCH, RIGHT, TOP

    world.through("approve")
    document = next(e.document for e in events(world) if e.document is not None)
    pages = measure(db.session.get(StoredFile, document.file_id).data)
    body = [line for page in pages for line in page.lines if line.size == 16 and TOP <= line.top < BOTTOM]
    assert body and all(LEFT - 0.5 <= line.x0 and line.x1 <= RIGHT + 0.5 for line in body)
    assert pages[0].find("你委").x0 - LEFT == pytest.approx(2 * PITCH, abs=0.15)
    tops = [line.top for line in pages[-1].lines if line.size == 16 and line.bottom < BOTTOM]
    steps = [b - a for a, b in zip(tops, tops[1:]) if b - a < 1.5 * LINE]
    assert steps and all(step == pytest.approx(LINE, abs=0.05) for step in steps)
    title = [line.text for line in pages[0].lines if line.size == 22]
    assert "".join(title) == document.title and all(not line.startswith("的") for line in title)


def test_the_waiting_requests_count_in_their_officials_inbox(world):
    from domain.inbox import nav_counts, waiting_renewals

    def waiting(role: str) -> tuple[int, list]:
        return nav_counts(world[role]).waiting, [r.id for r in waiting_renewals(world[role])]

    renewal = world.submit()
    assert waiting("unit") == (1, [renewal.id])
    assert waiting("other_unit") == (0, []) and waiting("zone") == (0, []) and waiting("contact") == (0, [])
    po.pass_renewal(renewal, actor=world["unit"], version=renewal.version)
    assert waiting("unit") == (0, []) and waiting("zone") == (1, [renewal.id])
    po.approve_renewal(renewal, actor=world["zone"], version=renewal.version)
    assert waiting("zone") == (0, [])  # the election is the organisation's to hold now
    po.report_renewal_election(renewal, zone_today(), BRANCH_SLATE, actor=world["contact"], version=renewal.version)
    assert waiting("zone") == (1, [renewal.id])
    world.org.state = PartyOrgState.DISSOLVED  # a dissolved organisation's request waits on nobody
    assert waiting("zone") == (0, [])
