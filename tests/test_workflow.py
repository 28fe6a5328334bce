"""The founding workflow through its domain verbs: the table, the history, the rules, stale pages, races."""

import flask
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from domain import DomainError
from domain import applications as verbs
from domain.applications import ElectionReport, StaleError
from domain.coverage import COVERED
from domain.workflow import STEP_BY_ACTION, STEPS, mermaid
from models import (
    AppState, Application, ApplicationEvent, Instructor, Notification, Organisation, PartyOrgKind, Role, User, db,
)
from models.application import days_between
from tests.conftest import complete_data, race, racers, unit_by_code, valid_credit_code, zone_today

ACTORS = ["applicant", "other_applicant", "reviewer", "other_reviewer", "zone", "instructor", "finance", "admin"]


def _actor(kind: str, application: Application, make_user) -> User:
    """A user of this kind, created in its own session (before the caller's writes, or SQLite would wait)."""
    if kind == "applicant":
        user = make_user(Role.APPLICANT, organisation=application.organisation)
    elif kind == "other_applicant":
        user = make_user(Role.APPLICANT)
    elif kind == "reviewer":
        user = make_user(Role.UNIT_REVIEWER, unit_code=application.unit.code)
    elif kind == "other_reviewer":
        user = make_user(Role.UNIT_REVIEWER, unit_code="street_north")
    else:
        user = make_user({"zone": Role.ZONE_APPROVER, "instructor": Role.INSTRUCTOR, "finance": Role.FINANCE,
                          "admin": Role.ADMIN}[kind])
    return db.session.get(User, user.id) if flask.has_app_context() else user


def _run(action: str, application: Application, actor: User) -> None:
    """Take the step with everything it needs, so that only the table can refuse it."""
    version = application.version
    if action == "submit":
        verbs.submit_application(application, actor=actor, version=version)
    elif action == "withdraw":
        verbs.withdraw_application(application, actor=actor, version=version)
    elif action == "pass":
        verbs.pass_application(application, actor=actor, version=version)
    elif action in ("return", "zone_return"):
        verbs.return_application(application, actor=actor, version=version, comment="请补充材料")
    elif action == "forward":
        verbs.forward_application(application, actor=actor, version=version, comment="属地管理",
                                  unit=unit_by_code("street_east"))
    elif action == "approve":
        instructor = Instructor(name="李卫东", home_organ="组织部", active=True, capacity=3)
        verbs.approve_application(application, actor=actor, version=version, instructor=instructor)
    elif action == "reject":
        verbs.reject_application(application, actor=actor, version=version, comment="不符合条件")
    elif action == "report_election":
        verbs.report_election(application, ElectionReport(
            election_date=zone_today(), voters_expected=5, voters_present=5, secretary_name="党员1",
            secretary_votes=5), actor=actor, version=version)
    elif action == "establish":
        verbs.establish_organisation(application, actor=actor, version=version)
    elif action == "return_election":
        verbs.return_election(application, actor=actor, version=version, comment="票数有误")
    else:
        raise AssertionError(action)


def _allowed(state: AppState, action: str, actor: str) -> bool:
    # "return" and "zone_return" are one verb (退回修改), taken by whichever role owns the state.
    actions = ("return", "zone_return") if action in ("return", "zone_return") else (action,)
    owners = {Role.APPLICANT: "applicant", Role.UNIT_REVIEWER: "reviewer", Role.ZONE_APPROVER: "zone"}
    return any(state in STEP_BY_ACTION[a].sources and actor == owners[STEP_BY_ACTION[a].role] for a in actions)


@pytest.mark.parametrize("action", list(STEP_BY_ACTION))
@pytest.mark.parametrize("state", list(AppState))
def test_state_action_role_table(app, make_application, make_user, state, action):
    """Every state x action x actor: allowed exactly where the table says, refused in Chinese elsewhere."""
    made = make_application(state)
    actor_ids = {kind: _actor(kind, made, make_user).id for kind in ACTORS}
    with app.app_context():
        for actor_kind in ACTORS:
            application = db.session.get(Application, made.id)
            actor = db.session.get(User, actor_ids[actor_kind])
            expected = _allowed(state, action, actor_kind)
            nested = db.session.begin_nested()
            try:
                _run(action, application, actor)
            except DomainError as refusal:
                assert not expected, f"{actor_kind} refused {action} in {state}: {refusal.message}"
                assert "不能" in refusal.message or "无权" in refusal.message
            else:
                assert expected, f"{actor_kind} took {action} in {state}"
                assert application.state is STEP_BY_ACTION[action].target
                assert application.history[-1].actor_id == actor.id
            nested.rollback()
            db.session.expire_all()


def test_every_step_appends_one_history_row(app, ctx, make_application, make_user, make_instructor):
    made = make_application("draft")
    application = db.session.get(Application, made.id)
    applicant = _actor("applicant", application, make_user)
    reviewer = _actor("reviewer", application, make_user)
    zone = _actor("zone", application, make_user)
    instructor = db.session.merge(make_instructor())
    verbs.submit_application(application, actor=applicant, version=application.version)
    verbs.return_application(application, actor=reviewer, version=application.version, comment="缺少证明",
                             internal_note="第二次提醒")
    verbs.submit_application(application, actor=applicant, version=application.version)
    verbs.pass_application(application, actor=reviewer, version=application.version)
    verbs.approve_application(application, actor=zone, version=application.version, instructor=instructor)
    verbs.report_election(application, ElectionReport(zone_today(), 5, 5, "党员1", 5), actor=applicant,
                          version=application.version)
    verbs.establish_organisation(application, actor=zone, version=application.version)
    db.session.commit()
    rows = db.session.execute(sa.select(ApplicationEvent.action, ApplicationEvent.actor_role,
                                        ApplicationEvent.from_state, ApplicationEvent.to_state)
                              .where(ApplicationEvent.application_id == application.id)
                              .order_by(ApplicationEvent.id)).all()
    assert rows == [
        ("submit", Role.APPLICANT, AppState.DRAFT, AppState.SUBMITTED),
        ("return", Role.UNIT_REVIEWER, AppState.SUBMITTED, AppState.RETURNED),
        ("submit", Role.APPLICANT, AppState.RETURNED, AppState.SUBMITTED),
        ("pass", Role.UNIT_REVIEWER, AppState.SUBMITTED, AppState.UNIT_APPROVED),
        ("approve", Role.ZONE_APPROVER, AppState.UNIT_APPROVED, AppState.APPROVED),
        ("report_election", Role.APPLICANT, AppState.APPROVED, AppState.ELECTION_REPORTED),
        ("establish", Role.ZONE_APPROVER, AppState.ELECTION_REPORTED, AppState.ESTABLISHED),
    ]
    # Each step keeps its days since the one before (the dashboard's average days per step); the first has none.
    times = db.session.execute(sa.select(ApplicationEvent.at, ApplicationEvent.days_since_previous)
                               .where(ApplicationEvent.application_id == application.id)
                               .order_by(ApplicationEvent.id)).all()
    assert times[0].days_since_previous is None
    assert [t.days_since_previous for t in times[1:]] == pytest.approx(
        [days_between(before.at, t.at) for before, t in zip(times, times[1:])], abs=1e-6)  # 0.1 s
    returned = db.session.scalar(sa.select(ApplicationEvent).filter_by(action="return"))
    assert (returned.comment, returned.internal_note, returned.actor_id) == ("缺少证明", "第二次提醒", reviewer.id)
    assert application.organisation.has_party_org and application.instructor_id == instructor.id
    assert application.version == 8


def test_history_is_append_only(ctx, make_application, make_user):
    made = make_application("draft")
    application = db.session.get(Application, made.id)
    verbs.submit_application(application, actor=_actor("applicant", application, make_user), version=1)
    db.session.commit()
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        db.session.execute(sa.text("UPDATE application_events SET comment = 'x'"))
    db.session.rollback()


@pytest.mark.parametrize("action, kwargs", [
    ("return", {}), ("reject", {}), ("forward", {"unit": None}),
])
def test_reasons_are_required(ctx, make_application, make_user, action, kwargs):
    made = make_application("submitted" if action != "reject" else "unit_approved")
    application = db.session.get(Application, made.id)
    actor = _actor("reviewer" if action != "reject" else "zone", application, make_user)
    verb = {"return": verbs.return_application, "reject": verbs.reject_application,
            "forward": verbs.forward_application}[action]
    with pytest.raises(DomainError, match="须填写理由"):
        verb(application, actor=actor, version=application.version, comment="  ", **kwargs)


def test_forward_moves_the_application_to_the_other_unit(ctx, make_application, make_user):
    made = make_application("submitted")
    application = db.session.get(Application, made.id)
    reviewer = _actor("reviewer", application, make_user)
    east_reviewer = db.session.get(User, make_user(Role.UNIT_REVIEWER, unit_code="street_east").id)
    with pytest.raises(DomainError, match="另一个初审单位"):
        verbs.forward_application(application, actor=reviewer, version=application.version,
                                  unit=application.unit, comment="x")
    verbs.forward_application(application, actor=reviewer, version=application.version,
                              unit=unit_by_code("street_east"), comment="属地管理")
    db.session.commit()
    assert application.unit.code == "street_east" and application.state is AppState.SUBMITTED
    assert not application.can_view(reviewer) and application.can_view(east_reviewer)
    event = db.session.scalar(sa.select(ApplicationEvent).filter_by(action="forward"))
    assert event.comment == "由新型工业园区党委转办至东城街道区域党工委：属地管理"
    assert db.session.scalar(sa.select(Notification.user_id)) == east_reviewer.id


def test_approval_needs_an_active_instructor(ctx, make_application, make_user, make_instructor):
    made = make_application("unit_approved")
    application = db.session.get(Application, made.id)
    zone = _actor("zone", application, make_user)
    with pytest.raises(DomainError, match="须选派一名党建指导员"):
        verbs.approve_application(application, actor=zone, version=application.version, instructor=None)
    retired = db.session.merge(make_instructor(active=False))
    with pytest.raises(DomainError, match="已停用"):
        verbs.approve_application(application, actor=zone, version=application.version, instructor=retired)
    assert application.state is AppState.UNIT_APPROVED


@pytest.mark.parametrize("days_ahead, counts, secretary, message", [
    (1, (5, 5, 5), "党员1", "不能晚于今天"),
    (0, (5, 6, 5), "党员1", "不能超过应到人数"),
    (0, (5, 4, 4), "党员1", "五分之四"),
    (0, (5, 5, 2), "党员1", "超过实到人数一半"),
    (0, (6, 6, 6), "党员1", "应为正式党员人数 5 名"),
    (0, (5, 5, 5), "路人甲", "应是党员名单中的正式党员"),
    (0, (5, 5, 5), "党员6", "应是党员名单中的正式党员"),  # the probationary one
])
def test_election_rules(ctx, make_application, make_user, days_ahead, counts, secretary, message):
    # The day is read when the test runs, not when it is collected: a run that crosses the zone's midnight would
    # otherwise check yesterday's "tomorrow".
    expected, present, votes = counts
    report = ElectionReport(zone_today() + timedelta(days=days_ahead), expected, present, secretary, votes)
    made = make_application("approved")
    application = db.session.get(Application, made.id)
    applicant = _actor("applicant", application, make_user)
    with pytest.raises(DomainError, match=message):
        verbs.report_election(application, report, actor=applicant, version=application.version)


def test_stale_version_changes_nothing(ctx, make_application, make_user):
    made = make_application("submitted")
    application = db.session.get(Application, made.id)
    reviewer = _actor("reviewer", application, make_user)
    verbs.pass_application(application, actor=reviewer, version=1)
    db.session.commit()
    with pytest.raises(StaleError, match="已被他人处理"):
        verbs.return_application(application, actor=reviewer, version=1, comment="晚了一步")
    db.session.rollback()
    assert application.state is AppState.UNIT_APPROVED
    assert db.session.scalar(sa.select(sa.func.count(ApplicationEvent.id))) == 1


def test_parallel_attempts_at_one_step_let_exactly_one_through(app, make_application, make_user):
    """Officials press the same button at once, each in its own connection: one wins, the others are told."""
    made = make_application("submitted")
    reviewer = make_user(Role.UNIT_REVIEWER, unit_code="industrial_park")
    n = racers(app)

    def attempt(_, go):
        application = db.session.get(Application, made.id)
        actor = db.session.get(User, reviewer.id)
        go()
        verbs.pass_application(application, actor=actor, version=1)
        db.session.commit()
        return "ok"

    results = race(app, attempt, range(n))
    # The others lose on the version (StaleError) or, on SQLite, on the lock past its busy timeout.
    assert results.count("ok") == 1 and len(results) == n, results
    assert all(isinstance(r, (StaleError, sa.exc.OperationalError)) for r in results if r != "ok"), results
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ApplicationEvent.id))) == 1
        assert db.session.get(Application, made.id).version == 2


def test_officials_see_an_application_from_its_first_submission(ctx, make_application, make_user):
    """submitted_at is the first submission: a resubmission after a return keeps it, and a withdrawal after it
    leaves the application with the officials who saw it (a draft withdrawn unsubmitted never reaches them)."""
    made = make_application("draft")
    application = db.session.get(Application, made.id)
    applicant, reviewer = (_actor(kind, application, make_user) for kind in ("applicant", "reviewer"))
    assert application.submitted_at is None and not application.was_submitted
    _run("submit", application, applicant)
    first = application.submitted_at
    assert first == application.state_changed_at and application.was_submitted
    _run("return", application, reviewer)
    _run("submit", application, applicant)
    assert application.submitted_at == first < application.state_changed_at
    _run("withdraw", application, applicant)
    db.session.commit()
    assert application.was_submitted and application.can_view(reviewer)


def test_one_open_application_per_organisation(ctx, make_org, make_user):
    org = db.session.merge(make_org(formal_members=5, probationary_members=1))
    applicant = db.session.get(User, make_user(Role.APPLICANT, organisation=org).id)
    first = verbs.start_application(org, complete_data(), actor=applicant)
    with pytest.raises(DomainError, match="已有一份正在办理的申请"):
        verbs.start_application(org, complete_data(), actor=applicant)
    verbs.withdraw_application(first, actor=applicant, version=first.version)
    second = verbs.start_application(org, complete_data(), actor=applicant)
    assert second.id != first.id
    org.has_party_org = True
    verbs.withdraw_application(second, actor=applicant, version=second.version)
    with pytest.raises(DomainError, match="已建立党组织"):
        verbs.start_application(org, complete_data(), actor=applicant)


def test_a_member_join_date_outside_1921_to_today_is_refused_by_the_domain(ctx, make_org, make_user):
    """The form marks the row; the verb refuses it too, whoever calls it."""
    org = db.session.merge(make_org(formal_members=5, probationary_members=1))
    applicant = db.session.get(User, make_user(Role.APPLICANT, organisation=org).id)
    data = complete_data()
    data.members[0].joined_on = date(1850, 1, 1)
    with pytest.raises(DomainError, match="党员1：入党日期不能早于1921年7月1日"):
        verbs.start_application(org, data, actor=applicant)
    data.members[0].joined_on = zone_today() + timedelta(days=1)
    with pytest.raises(DomainError, match="党员1：入党日期不能晚于今天"):
        verbs.start_application(org, data, actor=applicant)


def test_notifications_reach_the_right_people(ctx, make_application, make_user):
    made = make_application("draft")
    application = db.session.get(Application, made.id)
    applicant = _actor("applicant", application, make_user)
    reviewer = _actor("reviewer", application, make_user)
    other_reviewer = _actor("other_reviewer", application, make_user)
    zone = _actor("zone", application, make_user)
    verbs.submit_application(application, actor=applicant, version=1)
    verbs.return_application(application, actor=reviewer, version=2, comment="请补充材料")
    verbs.submit_application(application, actor=applicant, version=3)
    verbs.pass_application(application, actor=reviewer, version=4)
    db.session.commit()
    got = {(n.user_id, n.message) for n in db.session.scalars(sa.select(Notification))}
    name = application.organisation.name
    assert got == {
        (reviewer.id, f"{name}的成立党组织申请：提交申请"),
        (applicant.id, f"{name}的成立党组织申请：退回修改。请补充材料"),
        (zone.id, f"{name}的成立党组织申请：初审通过"),
    }
    assert other_reviewer.id not in {user for user, _ in got}


def test_mermaid_diagram_is_drawn_from_the_table():
    text = mermaid()
    assert text.startswith("stateDiagram-v2")
    for step in STEPS:
        for source in step.sources:
            assert f"{source.value} --> {step.target.value}: {step.label}" in text


def test_readme_shows_the_current_diagram(app):
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    output = app.test_cli_runner().invoke(args=["workflow-diagram"]).output.strip()
    assert output == mermaid()
    assert f"```mermaid\n{output}\n```" in readme, "README's diagram is stale: paste `flask --app app workflow-diagram`"


def test_every_state_is_reachable_and_every_action_unique():
    assert len({s.action for s in STEPS}) == len(STEPS)
    assert {s.target for s in STEPS} | {AppState.DRAFT} == set(AppState)


def test_establishing_takes_the_organisation_out_of_its_joint_branch_with_its_reported_members(
        ctx, make_application, make_org, make_user):
    host = make_org(has_party_org=True)
    made = make_application("election_reported", formal=5, probationary=1)
    zone_id = make_user(Role.ZONE_APPROVER).id
    application = db.session.get(Application, made.id)
    org = application.organisation
    org.formal_members, org.probationary_members, org.joint_branch_code = 0, 0, host.credit_code
    db.session.flush()
    verbs.establish_organisation(application, actor=db.session.get(User, zone_id), version=application.version)
    db.session.commit()
    assert (org.has_party_org, org.joint_branch_code, org.formal_members, org.probationary_members) == \
        (True, None, 5, 1)


def test_a_joint_branch_takes_in_its_registry_partners_when_established(
        ctx, make_application, make_org, make_user, make_instructor):
    """Partners named by credit code or unique full name join the branch (and count as covered); a name the
    registry does not hold stays text."""
    by_code, by_name = make_org(formal_members=1), make_org(name="通辽小微联合乙商贸有限公司", formal_members=0)
    made = make_application("draft", formal=2, probationary=0)
    application = db.session.get(Application, made.id)
    applicant = _actor("applicant", application, make_user)
    reviewer, zone = _actor("reviewer", application, make_user), _actor("zone", application, make_user)
    instructor = db.session.merge(make_instructor())  # (the factories write first: SQLite has one writer)
    assert application.requested_kind is PartyOrgKind.JOINT_BRANCH
    application.partner_organisations = f"{by_code.credit_code.lower()}、通辽小微联合乙商贸有限公司、街角小店"
    verbs.submit_application(application, actor=applicant, version=application.version)
    verbs.pass_application(application, actor=reviewer, version=application.version)
    verbs.approve_application(application, actor=zone, version=application.version, instructor=instructor)
    verbs.report_election(application, ElectionReport(zone_today(), 2, 2, "党员1", 2), actor=applicant,
                          version=application.version)
    verbs.establish_organisation(application, actor=zone, version=application.version)
    db.session.commit()
    host = application.organisation.credit_code
    assert db.session.get(Organisation, by_code.id).joint_branch_code == host
    assert db.session.get(Organisation, by_name.id).joint_branch_code == host
    covered = db.session.scalar(sa.select(sa.func.count(Organisation.id)).where(COVERED))
    assert covered == 3  # the host and its two registry partners


def test_a_joint_branch_cannot_name_an_unknown_code_or_an_organised_partner(ctx, make_application, make_org):
    organised = make_org(has_party_org=True)
    made = make_application("draft", formal=2, probationary=0)
    application = db.session.get(Application, made.id)
    unknown = valid_credit_code(999999)
    application.partner_organisations = f"{unknown}；{organised.name}"
    problems = verbs.problems_before_submission(application)
    assert any(unknown in p and "不在摸底名录中" in p for p in problems), problems
    assert any(organised.name in p and "已建立党组织" in p for p in problems), problems
