"""A construction project's branch (工程项目党支部): the project and 三个同步 at founding, carried to the record; the
zone prompted when the project ends, to dissolve, move or keep the branch."""
from dataclasses import replace
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from domain import DomainError
from domain import applications as verbs
from domain import party_orgs
from domain.applications import ProjectData
from domain.party_orgs.projects import ask_for_decisions
from models import (
    THREE_SYNCS, Application, Notification, Organisation, OrgKind, PartyOrg, PartyOrgState, Project, Role, User,
)
from tests.conftest import complete_data, zone_today

SYNCS = frozenset(column for column, _ in THREE_SYNCS)


@pytest.fixture
def zone(make_user):
    return make_user(Role.ZONE_APPROVER)


def project_data(**fields) -> ProjectData:
    start = zone_today() - timedelta(days=30)
    values = dict(name="通辽开发区污水处理厂二期", builder="通辽城投建设有限公司", planned_start=start,
                  planned_end=start + timedelta(days=400), syncs=SYNCS)
    return ProjectData(**(values | fields))


def test_a_project_application_records_the_project_and_checks_it_before_submission(ctx, make_org, make_user):
    org = make_org(kind=OrgKind.PROJECT, formal_members=5, probationary_members=1)
    contact = ctx.get(User, make_user(Role.APPLICANT, organisation=org).id)
    application = verbs.start_application(ctx.get(Organisation, org.id), replace(
        complete_data(5, 1), project=project_data(name="", syncs=frozenset({"sync_founded"}))), actor=contact)
    ctx.commit()
    problems = verbs.problems_before_submission(application)
    assert "请填写工程项目名称" in problems
    assert [p for p in problems if p.startswith("请确认")] == ["请确认“行政负责人与支部书记同步配备”",
                                                             "请确认“项目推进与党建工作同步开展”"]
    start = zone_today()
    short = project_data(planned_start=start, planned_end=start + timedelta(days=150))
    verbs.save_application(application, replace(complete_data(5, 1), project=short), actor=contact,
                           version=application.version)
    assert verbs.problems_before_submission(application) == [
        "项目计划工期不足6个月，一般不单独成立党支部，请申请联合党支部"]
    with pytest.raises(DomainError, match="计划竣工日期应晚于计划开工日期"):
        verbs.save_application(application, replace(complete_data(5, 1), project=project_data(
            planned_end=start - timedelta(days=1), planned_start=start)), actor=contact, version=application.version)
    verbs.save_application(application, replace(complete_data(5, 1), project=project_data()), actor=contact,
                           version=application.version)
    ctx.commit()
    assert verbs.problems_before_submission(application) == []
    project = ctx.scalars(sa.select(Project)).one()
    assert (project.name, project.builder, project.syncs) == (
        "通辽开发区污水处理厂二期", "通辽城投建设有限公司", [(label, True) for _, label in THREE_SYNCS])


def test_another_kind_records_no_project(ctx, make_org, make_user):
    org = make_org(formal_members=5, probationary_members=1)
    contact = ctx.get(User, make_user(Role.APPLICANT, organisation=org).id)
    application = verbs.start_application(ctx.get(Organisation, org.id),
                                          replace(complete_data(5, 1), project=project_data()), actor=contact)
    ctx.commit()
    assert application.project is None and ctx.scalar(sa.select(sa.func.count()).select_from(Project)) == 0


@pytest.fixture
def branch(ctx, make_application, make_user):
    """An established project branch whose project ends in ten days, and its contact."""
    made = make_application("established")
    ctx.get(Organisation, made.organisation_id).kind = OrgKind.PROJECT
    party_org = party_orgs.party_org_of(made.id)
    ctx.add(Project(application_id=made.id, party_org=party_org, name="二期工程", builder="城投",
                    planned_start=zone_today() - timedelta(days=400), planned_end=zone_today() + timedelta(days=10),
                    sync_founded=True, sync_staffed=True, sync_working=True))
    ctx.commit()
    contact = make_user(Role.APPLICANT, organisation=made.organisation)
    return party_org.id, contact


def test_establishing_carries_the_project_to_the_record(ctx, make_application):
    made = make_application("election_reported")
    application = ctx.get(Application, made.id)
    application.project = Project(name="二期工程", builder="城投", planned_start=date(2026, 1, 1),
                                  planned_end=date(2027, 6, 30))
    ctx.commit()
    party_org = party_orgs.create_party_org(application)
    ctx.commit()
    assert ctx.get(PartyOrg, party_org.id).project.name == "二期工程"


def test_the_zone_is_asked_once_the_planned_end_passes_and_keeps_with_a_review_date(ctx, branch, zone):
    party_org_id, _ = branch
    today = zone_today()
    assert party_orgs.awaiting_decision(today) == [] and ask_for_decisions(today) == 0
    later = today + timedelta(days=11)
    assert [p.id for p in party_orgs.awaiting_decision(later)] == [party_org_id]
    assert ask_for_decisions(later) == 1 and ask_for_decisions(later) == 0  # once per wait
    notice = ctx.scalars(sa.select(Notification).where(Notification.user_id == zone.id)).one()
    assert notice.message.endswith("所在工程项目已结束，请决定撤销、调整或保留该党组织。")
    assert notice.link == f"/orgs/{party_org_id}"
    # Not due today: the zone cannot keep it yet.
    party_org = ctx.get(PartyOrg, party_org_id)
    with pytest.raises(DomainError, match="项目尚未结束"):
        party_orgs.keep_branch(party_org, actor=ctx.get(User, zone.id), version=party_org.version, reason="续建",
                               review_on=today + timedelta(days=90))


def test_the_contact_reports_the_end_then_the_zone_keeps_or_dissolves(ctx, branch, zone):
    party_org_id, contact = branch
    party_org, today = ctx.get(PartyOrg, party_org_id), zone_today()
    contact_user, zone_user = ctx.get(User, contact.id), ctx.get(User, zone.id)
    assert "keep_branch" not in [s.action for s in party_orgs.available_steps(party_org, zone_user)]
    with pytest.raises(DomainError, match="项目结束日期不能晚于今天"):
        party_orgs.report_project_end(party_org, actor=contact_user, version=party_org.version,
                                      ended_on=today + timedelta(days=1))
    party_orgs.report_project_end(party_org, actor=contact_user, version=party_org.version, ended_on=today)
    ctx.commit()
    assert [p.id for p in party_orgs.awaiting_decision(today)] == [party_org_id]
    assert "报告项目结束" not in [s.label for s in party_orgs.available_steps(party_org, contact_user)]
    assert "keep_branch" in [s.action for s in party_orgs.available_steps(party_org, zone_user)]
    for review_on, message in [(None, "请填写复核日期"), (today, "复核日期应在今天之后、一年之内"),
                               (today + timedelta(days=400), "复核日期应在今天之后、一年之内")]:
        with pytest.raises(DomainError, match=message):
            party_orgs.keep_branch(party_org, actor=zone_user, version=party_org.version, reason="续建三期",
                                   review_on=review_on)
    review_on = today + timedelta(days=90)
    party_orgs.keep_branch(party_org, actor=zone_user, version=party_org.version, reason="续建三期",
                           review_on=review_on)
    ctx.commit()
    assert party_orgs.awaiting_decision(today) == []
    assert [p.id for p in party_orgs.awaiting_decision(review_on)] == [party_org_id]  # asked again then
    assert party_org.history[-1].details["review_on"] == review_on.isoformat()
    party_orgs.dissolve_party_org(party_org, actor=zone_user, version=party_org.version, reason="项目竣工")
    ctx.commit()
    assert party_org.state is PartyOrgState.DISSOLVED and party_orgs.awaiting_decision(review_on) == []


def test_only_a_project_branch_reports_a_project_end(ctx, make_application, make_user):
    made = make_application("established")
    contact = ctx.get(User, make_user(Role.APPLICANT, organisation=made.organisation).id)
    party_org = party_orgs.party_org_of(made.id)
    assert party_orgs.available_steps(party_org, contact) == []
    with pytest.raises(DomainError, match="只有工程项目党组织可以报告项目结束"):
        party_orgs.report_project_end(party_org, actor=contact, version=party_org.version, ended_on=zone_today())
