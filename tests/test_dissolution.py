"""Dissolution (撤销), members moved into another branch (调整), rename (更名) and merge (合并): the record's steps that
end or change an organisation, each with its 批复, and the formation rate before and after, by hand."""
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from domain import DomainError, StaleError
from domain import party_orgs
from domain.coverage import set_coverage
from domain.dashboard import build_dashboard, formation_rate
from models import (
    NAME_SUFFIX, CoverageCause, CoverageChange, Document, DocumentKind, Notification, Organisation, OrgKind, PartyOrg,
    PartyOrgEvent, PartyOrgState, Role, User, db,
)
from tests.conftest import unit_by_code

JANUARY, MARCH = (datetime(2026, m, 5, tzinfo=timezone.utc) for m in (1, 3))


@pytest.fixture
def zone(make_user):
    return make_user(Role.ZONE_APPROVER)


@pytest.fixture
def world(ctx, make_application, make_org, make_user):
    """industrial_park: A (established here in March, 5+1 members, its record), B own organisation (January), C in
    A's joint branch (January, 1 member), E members and no organisation. civil_affairs: D own organisation (January).
    R, of another unit, established here in March: a branch that can take members in.

    With members: zone A B C D E R = 6, covered A B C D R = 5 (83.3%); industrial_park A B C E = 4, covered 3 (75.0%).
    """
    a = make_application("established")
    r = make_application("established", unit_code="logistics_park")
    made = {
        "B": make_org(formal_members=4, has_party_org=True, created_at=JANUARY),
        "C": make_org(formal_members=1, joint_branch_code=a.organisation.credit_code, created_at=JANUARY),
        "D": make_org(formal_members=3, has_party_org=True, kind=OrgKind.SOCIAL_ORG, unit_code="civil_affairs",
                      created_at=JANUARY),
        "E": make_org(formal_members=3, created_at=JANUARY)}
    for application in (a, r):
        set_coverage(ctx.get(Organisation, application.organisation_id), own=True, joint_code=None,
                     cause=CoverageCause.ESTABLISH, at=MARCH)
    ctx.commit()
    contact = make_user(Role.APPLICANT, organisation=a.organisation)
    made |= {"A": ctx.get(Organisation, a.organisation_id), "R": ctx.get(Organisation, r.organisation_id),
             "a": party_orgs.party_org_of(a.id), "r": party_orgs.party_org_of(r.id), "contact": contact}
    return made


def months(unit=None):
    return [(m["month"], m["new"], m["lost"], m["total"], m["rate"]) for m in build_dashboard(unit).by_month]


def dissolve(ctx, party_org, zone, reason="项目已竣工，项目部撤离", **kw):
    party_orgs.dissolve_party_org(party_org, actor=ctx.get(User, zone.id), version=party_org.version, reason=reason,
                                  **kw)
    ctx.commit()


def test_dissolving_lowers_the_rate_from_this_month_on_and_not_before(ctx, world, zone):
    park = unit_by_code("industrial_park")
    zone_rate, park_rate = formation_rate(), formation_rate(park)
    assert (zone_rate.with_members, zone_rate.covered_with_members, zone_rate.rate) == (6, 5, 83.3)
    assert (park_rate.with_members, park_rate.covered_with_members, park_rate.rate) == (4, 3, 75.0)
    # January: B C D (3 of 6, 50.0%); March: A and R (5, 83.3%). The park: B C (2 of 4), then A (3, 75.0%).
    before_zone = [("2026-01", 3, 0, 3, 50.0), ("2026-03", 2, 0, 5, 83.3)]
    before_park = [("2026-01", 2, 0, 2, 50.0), ("2026-03", 1, 0, 3, 75.0)]
    assert (months(), months(park)) == (before_zone, before_park)

    dissolve(ctx, world["a"], zone)
    this_month = datetime.now(timezone.utc).strftime("%Y-%m")  # read now, not when the module was collected

    # A and C (in A's joint branch) are no longer covered: zone 3 of 6 (50.0%), the park 1 of 4 (25.0%).
    assert formation_rate().rate == 50.0 and formation_rate(park).rate == 25.0
    assert formation_rate(unit_by_code("civil_affairs")).rate == 100.0
    assert months() == before_zone + [(this_month, 0, 2, 3, 50.0)]
    assert months(park) == before_park + [(this_month, 0, 2, 1, 25.0)]
    a, c = ctx.get(Organisation, world["A"].id), ctx.get(Organisation, world["C"].id)
    assert (a.has_party_org, a.joint_branch_code, c.joint_branch_code) == (False, None, None)


def test_the_record_stays_dissolved_read_only_with_its_batch_event_and_notice(ctx, world, zone):
    dissolve(ctx, world["a"], zone)
    party_org = ctx.get(PartyOrg, world["a"].id)
    assert party_org.state is PartyOrgState.DISSOLVED
    event = ctx.scalars(sa.select(PartyOrgEvent).where(PartyOrgEvent.party_org_id == party_org.id)).one()
    assert (event.action, event.reason, event.document.kind) == ("dissolve", "项目已竣工，项目部撤离",
                                                                 DocumentKind.DISSOLUTION)
    assert sorted(event.details["covered"]) == sorted([world["A"].id, world["C"].id])
    document = event.document
    assert document.title == f"关于撤销{party_org.name}的批复" and document.party_org_id == party_org.id
    # Read-only: no step leaves 已撤销, and the verb says why.
    assert party_orgs.available_steps(party_org, ctx.get(User, zone.id)) == []
    with pytest.raises(DomainError, match="当前为“已撤销”，不能撤销党组织"):
        dissolve(ctx, party_org, zone)
    notice = ctx.scalars(sa.select(Notification).where(Notification.user_id == world["contact"].id)).one()
    assert notice.message == f"{party_org.name}已撤销（{document.number}）。" and notice.link == f"/orgs/{party_org.id}"


def test_members_moved_into_another_branch_keep_their_hosts_covered(ctx, world, zone):
    before = months()
    dissolve(ctx, world["a"], zone, receiving=ctx.get(PartyOrg, world["r"].id))
    r_code = world["R"].credit_code
    a, c = ctx.get(Organisation, world["A"].id), ctx.get(Organisation, world["C"].id)
    assert (a.has_party_org, a.joint_branch_code, c.joint_branch_code) == (False, r_code, r_code)
    assert formation_rate().rate == 83.3 and months() == before  # covered throughout: no change kept
    # A, with 5 formal members, is not 应建未建: its members' new branch covers it. E still is.
    assert build_dashboard(None).zone.should_build == 1
    event = ctx.scalars(sa.select(PartyOrgEvent).where(PartyOrgEvent.party_org_id == world["a"].id)).one()
    assert event.details["receiving_id"] == world["r"].id
    assert ctx.scalar(sa.select(sa.func.count()).select_from(CoverageChange)
                      .where(CoverageChange.cause == CoverageCause.MOVE)) == 0
    # Dissolving the receiving branch later uncovers everything it covers by then: R, A and C.
    dissolve(ctx, ctx.get(PartyOrg, world["r"].id), zone)
    assert formation_rate().rate == round(100 * 2 / 6, 1)


@pytest.mark.parametrize("case, message", [
    ("itself", "党员不能转入本党组织或同一单位的党组织"),
    ("dissolved", "当前为“已撤销”，不能接收党员"),
])
def test_a_receiving_branch_must_be_another_active_one(ctx, world, zone, case, message):
    receiving = ctx.get(PartyOrg, world["a" if case == "itself" else "r"].id)
    if case == "dissolved":
        dissolve(ctx, receiving, zone)
    with pytest.raises(DomainError, match=message):
        dissolve(ctx, ctx.get(PartyOrg, world["a"].id), zone, receiving=receiving)


def test_only_the_zone_dissolves_with_a_reason_on_the_latest_page(ctx, world, zone, make_user):
    party_org = ctx.get(PartyOrg, world["a"].id)
    reviewer = make_user(Role.UNIT_REVIEWER)
    with pytest.raises(DomainError, match="只有开发区党工委可以撤销党组织"):
        dissolve(ctx, party_org, reviewer)
    with pytest.raises(DomainError, match="撤销党组织须填写理由"):
        dissolve(ctx, party_org, zone, reason="  ")
    with pytest.raises(StaleError):
        party_orgs.dissolve_party_org(party_org, actor=ctx.get(User, zone.id), version=party_org.version - 1,
                                      reason="x")
    with pytest.raises(DomainError, match="理由不能超过 300 字"):
        dissolve(ctx, party_org, zone, reason="长" * 301)
    assert ctx.get(PartyOrg, world["a"].id).state is PartyOrgState.ACTIVE


def test_rename_changes_the_name_with_its_batch(ctx, world, zone):
    party_org = ctx.get(PartyOrg, world["a"].id)
    old, suffix = party_org.name, NAME_SUFFIX[party_org.kind]
    new = f"中共{world['A'].name}第一{suffix}"
    party_orgs.rename_party_org(party_org, actor=ctx.get(User, zone.id), version=party_org.version,
                                reason="按上级要求规范名称", new_name=new)
    ctx.commit()
    party_org = ctx.get(PartyOrg, party_org.id)
    assert party_org.name == new and party_org.state is PartyOrgState.ACTIVE
    document = ctx.scalars(sa.select(Document).where(Document.kind == DocumentKind.RENAME)).one()
    assert document.title == f"关于同意{old}更名为{new}的批复"
    event = party_org.history[-1]
    assert (event.action, event.details["old_name"], event.details["new_name"]) == ("rename", old, new)
    assert event.details["summary"].startswith(f"更名为{new}")  # record_step's line, which the history shows
    for bad, message in [("", "请填写新名称"), (new, "新名称与现名称相同"), ("某公司支部", "应为“中共＋单位名称＋"), ("中共", "应为“中共＋单位名称＋"),
                         ("中共" + suffix, "应为“中共＋单位名称＋"), ("中共某公司党小组", "应为“中共＋单位名称＋"),
                         ("中共" + "长" * 150, "不能超过 150 字")]:
        with pytest.raises(DomainError, match=message):
            party_orgs.rename_party_org(party_org, actor=ctx.get(User, zone.id), version=party_org.version,
                                        reason="理由", new_name=bad)


def test_merge_dissolves_the_absorbed_and_its_hosts_join_the_absorbing(ctx, world, zone):
    before = months()
    absorbed, absorbing = ctx.get(PartyOrg, world["a"].id), ctx.get(PartyOrg, world["r"].id)
    party_orgs.merge_party_org(absorbed, actor=ctx.get(User, zone.id), version=absorbed.version,
                               reason="两个项目部合并", into=absorbing)
    ctx.commit()
    absorbed = ctx.get(PartyOrg, absorbed.id)
    assert absorbed.state is PartyOrgState.DISSOLVED and absorbed.history[-1].action == "merge"
    assert absorbed.history[-1].details["receiving_id"] == absorbing.id
    assert ctx.get(Organisation, world["A"].id).joint_branch_code == world["R"].credit_code
    assert months() == before and formation_rate().rate == 83.3
    document = absorbed.history[-1].document
    assert document.kind is DocumentKind.MERGE and document.title == f"关于{absorbed.name}并入{absorbing.name}的批复"
    with pytest.raises(DomainError, match="请选择并入的党组织"):
        party_orgs.merge_party_org(absorbing, actor=ctx.get(User, zone.id), version=absorbing.version,
                                   reason="理由", into=None)


def _text(document, path) -> str:
    import subprocess

    path.write_bytes(document.file.data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout.replace(
        "\n", "")


def test_the_batches_say_what_was_decided(ctx, world, zone, tmp_path):
    """The 批复 of a dissolution with its members moved, and of one without (RECORD_WORDING)."""
    r = ctx.get(PartyOrg, world["r"].id)
    dissolve(ctx, ctx.get(PartyOrg, world["a"].id), zone, receiving=r)
    dissolve(ctx, ctx.get(PartyOrg, r.id), zone, reason="企业注销")
    moved, alone = ctx.scalars(sa.select(Document).where(Document.kind == DocumentKind.DISSOLUTION)
                               .order_by(Document.id)).all()
    a_name, r_name = world["a"].name, r.name
    text = _text(moved, tmp_path / "moved.pdf")
    for words in (f"关于撤销{a_name}的批复", f"一、同意撤销{a_name}。撤销原因：项目已竣工，项目部撤离。",
                  f"二、{a_name}的党员组织关系转入{r_name}，由{r_name}负责教育、管理和监督。", "此复。", moved.number):
        assert words in text
    text = _text(alone, tmp_path / "alone.pdf")
    assert "撤销原因：企业注销。" in text and "确保每名党员都纳入党组织有效管理" in text and "转入" not in text
