"""Substitutes (代理, domain/substitutes.py): the rules, what a substitute sees and does, and the page per role."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from domain import DomainError
from domain.applications import pass_application
from domain.substitutes import SubstituteData, acting_for, name_substitute, zone_midnight
from models import Application, ApplicationEvent, AuditEvent, Role, Substitution, User, db, utcnow
from tests.conftest import sign_in_directly, zone_today

def name(official_id: int, substitute_id: int, days: tuple[int, int] = (0, 7), reason: str = "外出学习") -> Substitution:
    official = db.session.get(User, official_id)
    return name_substitute(official, SubstituteData(substitute_id, zone_today() + timedelta(days=days[0]),
                                                    zone_today() + timedelta(days=days[1]), reason))


def refusal(official_id: int, substitute_id: int, days: tuple[int, int] = (0, 7), reason: str = "外出学习") -> str:
    with pytest.raises(DomainError) as raised:
        name(official_id, substitute_id, days, reason)
    db.session.rollback()
    return raised.value.message


def test_the_rules_refuse_oneself_another_role_or_unit_and_an_empty_span(app, make_user):
    reviewer, colleague = make_user(Role.UNIT_REVIEWER), make_user(Role.UNIT_REVIEWER)
    elsewhere, zone = make_user(Role.UNIT_REVIEWER, unit_code="street_east"), make_user(Role.ZONE_APPROVER)
    applicant = make_user(Role.APPLICANT)
    with app.app_context():
        assert refusal(reviewer.id, reviewer.id) == "不能指定自己为代理人"
        assert refusal(reviewer.id, elsewhere.id) == "代理人须为同一角色（初审单位还须为同一单位）的在用账号"
        assert refusal(reviewer.id, zone.id) == "代理人须为同一角色（初审单位还须为同一单位）的在用账号"
        assert refusal(applicant.id, reviewer.id) == "只有初审单位、党工委、财务和党建指导员的账号可以指定代理人"
        assert refusal(reviewer.id, colleague.id, (3, 3)) == "代理结束日期须晚于开始日期（结束日期当天起不再代理）"
        assert refusal(reviewer.id, colleague.id, (-1, 3)) == "代理开始日期不能早于今天"
        assert refusal(reviewer.id, colleague.id, reason="  ") == "请填写代理事由"
        assert db.session.scalar(sa.select(sa.func.count(Substitution.id))) == 0


def test_no_chains_and_one_substitute_at_a_time(app, make_user):
    a, b, c = (make_user(Role.ZONE_APPROVER) for _ in range(3))
    with app.app_context():
        name(a.id, b.id, (0, 7))
        db.session.commit()
        # b stands in for a: b cannot pass it on for an overlapping span...
        assert refusal(b.id, c.id, (6, 10)) == "这段时间内您本人正在代理他人，不能再指定代理人（代理不能转授）"
        # ...nor can anyone name a, who is away, as their own substitute.
        assert refusal(c.id, a.id, (2, 4)) == f"{a.name}在这段时间内本人也不在岗（已指定代理人），请另选代理人"
        assert refusal(a.id, c.id, (5, 9)) == "这段时间内您已指定了代理人，请先核对已有的代理"
        # Half-open: the day a is back, b may name their own, and a someone else again.
        name(b.id, c.id, (7, 10))
        name(a.id, c.id, (10, 12))
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(Substitution.id))) == 3


def test_an_instructors_substitute_sees_their_organisations_while_the_span_runs(app, make_application):
    application = make_application("approved")
    other = make_application("approved")
    with app.app_context():
        away = User(username="guide_away", name="李四", role=Role.INSTRUCTOR, password_hash="x",
                    instructor_id=application.instructor_id)
        stand_in = User(username="guide_in", name="张三", role=Role.INSTRUCTOR, password_hash="x",
                        instructor_id=other.instructor_id)
        db.session.add_all([away, stand_in])
        db.session.commit()

        def seen() -> set[int]:
            return set(db.session.scalars(sa.select(Application.id).where(Application.visible_to(stand_in))))

        assert seen() == {other.id}
        substitution = name(away.id, stand_in.id, (0, 3))
        db.session.commit()
        assert seen() == {other.id, application.id}
        # The span ends by itself: moved into the past, nothing else done, it no longer shows anything.
        substitution.starts_at = zone_midnight(zone_today() - timedelta(days=5))
        substitution.ends_at = zone_midnight(zone_today()) - timedelta(seconds=1)
        db.session.commit()
        assert seen() == {other.id}


def test_a_step_taken_by_a_substitute_is_recorded_on_the_officials_behalf(app, make_application, make_user):
    application = make_application("submitted")
    official, stand_in = make_user(Role.UNIT_REVIEWER), make_user(Role.UNIT_REVIEWER)
    with app.app_context():
        db.session.get(User, official.id).name = "李四"
        db.session.get(User, stand_in.id).name = "张三"
        name(official.id, stand_in.id)
        db.session.commit()
        actor = db.session.get(User, stand_in.id)
        app_row = db.session.get(Application, application.id)
        assert acting_for(actor, app_row).id == official.id
        pass_application(app_row, actor=actor, version=app_row.version)
        db.session.commit()
        event = db.session.scalars(sa.select(ApplicationEvent).where(
            ApplicationEvent.application_id == application.id).order_by(ApplicationEvent.id.desc())).first()
        assert (event.actor_id, event.on_behalf_of_id) == (stand_in.id, official.id)
        audit = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "pass")).one()
        assert audit.data["on_behalf_of_id"] == official.id and audit.summary.startswith("张三 代 李四")


def test_the_card_shows_who_acted_for_whom(app, client, make_application, make_user, login_as):
    application = make_application("submitted")
    official = make_user(Role.UNIT_REVIEWER)
    stand_in = login_as(Role.UNIT_REVIEWER)
    with app.app_context():
        db.session.get(User, official.id).name = "李四"
        db.session.get(User, stand_in.id).name = "张三"
        name(official.id, stand_in.id)
        db.session.commit()
        version = db.session.get(Application, application.id).version
    answer = client.post(f"/applications/{application.id}/steps/pass", data={"version": version, "comment": ""},
                         follow_redirects=True)
    assert answer.status_code == 200
    assert "张三 代 李四" in client.get(f"/applications/{application.id}").get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.UNIT_REVIEWER, Role.ZONE_APPROVER, Role.FINANCE, Role.INSTRUCTOR])
def test_each_official_names_a_substitute_on_their_page(app, client, make_user, login_as, role):
    me = login_as(role)
    colleague = make_user(role)
    page = client.get("/substitutes/")
    assert page.status_code == 200 and colleague.name in page.get_data(as_text=True)
    answer = client.post("/substitutes/", data={"substitute_id": colleague.id, "starts_on": zone_today().isoformat(),
                                                "ends_on": (zone_today() + timedelta(days=3)).isoformat(),
                                                "reason": "外出培训"}, follow_redirects=True)
    assert "代理人已指定。" in answer.get_data(as_text=True)
    with app.app_context():
        row = db.session.scalars(sa.select(Substitution)).one()
        assert (row.official_id, row.substitute_id, row.reason) == (me.id, colleague.id, "外出培训")


def test_a_refused_substitute_is_named_beside_its_field_and_nothing_is_saved(app, client, login_as):
    me = login_as(Role.FINANCE)
    answer = client.post("/substitutes/", data={"substitute_id": me.id, "starts_on": zone_today().isoformat(),
                                                "ends_on": (zone_today() + timedelta(days=3)).isoformat(), "reason": "x"})
    assert answer.status_code == 200 and "不能指定自己为代理人" in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Substitution.id))) == 0


def test_applicants_have_no_substitutes_page(client, login_as):
    login_as(Role.APPLICANT)
    assert client.get("/substitutes/").status_code == 403


def test_an_instructors_substitute_records_a_visit_for_the_official(app, make_application):
    from domain.guidance import VisitData, can_guide, record_visit
    from models import VisitForm

    application = make_application("approved")
    other = make_application("approved")
    with app.app_context():
        away = User(username="guide_away", name="李四", role=Role.INSTRUCTOR, password_hash="x",
                    instructor_id=application.instructor_id)
        stand_in = User(username="guide_in", name="张三", role=Role.INSTRUCTOR, password_hash="x",
                        instructor_id=other.instructor_id)
        db.session.add_all([away, stand_in])
        db.session.commit()
        row = db.session.get(Application, application.id)
        assert not can_guide(row, stand_in)
        name(away.id, stand_in.id)
        db.session.commit()
        assert can_guide(row, stand_in)
        visit = record_visit(row, VisitData(zone_today(), VisitForm.PHONE, "电话了解组建进展"), actor=stand_in)
        # The visit is the organisation's instructor's record, entered by the substitute.
        assert (visit.instructor_id, visit.recorded_by_id) == (application.instructor_id, stand_in.id)


def test_a_choice_or_date_that_is_no_value_is_refused_in_chinese(app, client, login_as, make_user):
    login_as(Role.ZONE_APPROVER)
    colleague = make_user(Role.ZONE_APPROVER)
    answer = client.post("/substitutes/", data={"substitute_id": "abc", "starts_on": "2026-02-30",
                                                "ends_on": "明天", "reason": "外出培训"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "请从列表中选择" in page and "请填写正确的日期，如 2026-01-31" in page
    assert "could not coerce" not in page and "Not a valid" not in page
    answer = client.post("/substitutes/", data={"substitute_id": colleague.id, "starts_on": zone_today().isoformat(),
                                                "ends_on": "x", "reason": "外出培训"})
    assert "请填写正确的日期，如 2026-01-31" in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Substitution.id))) == 0


def _span(app, official_id: int, substitute_id: int, days: tuple[int, int]) -> int:
    """A span written as the page would (days from today; a negative start is a span already running)."""
    with app.app_context():
        row = Substitution(official_id=official_id, substitute_id=substitute_id, reason="外出学习",
                           starts_at=zone_midnight(zone_today() + timedelta(days=days[0])),
                           ends_at=zone_midnight(zone_today() + timedelta(days=days[1])))
        db.session.add(row)
        db.session.commit()
        return row.id


def _end_events() -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "substitute.end")))


def test_the_official_ends_a_running_span_now_and_it_leaves_both_lists(app, make_user):
    from domain.substitutes import end_substitution, spans_of

    official, stand_in = make_user(Role.ZONE_APPROVER), make_user(Role.ZONE_APPROVER)
    span_id = _span(app, official.id, stand_in.id, (-2, 5))
    with app.app_context():
        before = utcnow()
        end_substitution(db.session.get(Substitution, span_id), actor=db.session.get(User, official.id))
        db.session.commit()
        row = db.session.get(Substitution, span_id)
        assert before - timedelta(seconds=2) <= row.ends_at <= utcnow()
        assert spans_of(db.session.get(User, official.id)) == ([], [])
        assert spans_of(db.session.get(User, stand_in.id)) == ([], [])
        assert db.session.scalar(sa.select(sa.func.count(Substitution.id)).where(Substitution.running())) == 0
        [event] = _end_events()
        assert event.actor_id == official.id and "提前结束了代理" in event.summary
        with pytest.raises(DomainError, match="该代理已经结束"):
            end_substitution(row, actor=db.session.get(User, official.id))


def test_a_span_not_yet_begun_is_withdrawn_and_the_audit_keeps_it(app, make_user):
    from domain.substitutes import end_substitution

    official, stand_in = make_user(Role.FINANCE), make_user(Role.FINANCE)
    span_id = _span(app, official.id, stand_in.id, (3, 5))
    with app.app_context():
        end_substitution(db.session.get(Substitution, span_id), actor=db.session.get(User, official.id))
        db.session.commit()
        assert db.session.get(Substitution, span_id) is None
        [event] = _end_events()
        assert event.object_id == span_id and "撤销了尚未开始的代理" in event.summary


def test_after_ending_early_the_official_names_another_substitute_today(app, make_user):
    from domain.substitutes import end_substitution

    official, first, second = (make_user(Role.ZONE_APPROVER) for _ in range(3))
    span_id = _span(app, official.id, first.id, (-1, 5))
    with app.app_context():
        end_substitution(db.session.get(Substitution, span_id), actor=db.session.get(User, official.id))
        db.session.commit()
        name(official.id, second.id, (0, 3))
        db.session.commit()
        running = db.session.scalars(sa.select(Substitution).where(Substitution.running())).one()
        assert running.substitute_id == second.id


@pytest.mark.parametrize(("who", "ends"), [("official", True), ("admin", True), ("substitute", False),
                                           ("colleague", False)])
def test_who_may_end_a_span_on_the_page(app, client, make_user, login_as, who, ends):
    official, stand_in = make_user(Role.UNIT_REVIEWER), make_user(Role.UNIT_REVIEWER)
    span_id = _span(app, official.id, stand_in.id, (-1, 5))
    if who == "official":
        sign_in_directly(app, client, official.id)
    elif who == "substitute":
        sign_in_directly(app, client, stand_in.id)
    else:
        login_as(Role.ADMIN if who == "admin" else Role.UNIT_REVIEWER)
    if ends:  # the button is on the page of whoever may press it
        assert f"/substitutes/{span_id}/end" in client.get("/substitutes/").get_data(as_text=True)
    answer = client.post(f"/substitutes/{span_id}/end", follow_redirects=True)
    assert answer.status_code == (200 if ends else 404)
    with app.app_context():
        assert (db.session.get(Substitution, span_id).ends_at <= utcnow()) is ends
        assert len(_end_events()) == (1 if ends else 0)
    if ends:
        assert "代理已结束。" in answer.get_data(as_text=True)


def test_the_substitute_sees_no_end_button(app, client, make_user):
    official, stand_in = make_user(Role.INSTRUCTOR), make_user(Role.INSTRUCTOR)
    span_id = _span(app, official.id, stand_in.id, (-1, 5))
    sign_in_directly(app, client, stand_in.id)
    page = client.get("/substitutes/").get_data(as_text=True)
    assert official.name in page and f"/substitutes/{span_id}/end" not in page


def test_the_admin_sees_every_span_and_names_none(app, client, make_user, login_as):
    official, stand_in = make_user(Role.FINANCE), make_user(Role.FINANCE)
    _span(app, official.id, stand_in.id, (1, 5))
    login_as(Role.ADMIN)
    page = client.get("/substitutes/").get_data(as_text=True)
    assert official.name in page and stand_in.name in page and "撤销" in page
    assert "指定代理人</button>" not in page


def _instructors_away(app, make_application, state: str = "approved") -> tuple[Application, int, int]:
    """An organisation under guidance whose instructor (李四) is away, and a colleague (张三) who may stand in."""
    application = make_application(state)
    other = make_application("approved")
    with app.app_context():
        away = User(username="guide_away", name="李四", role=Role.INSTRUCTOR, password_hash="x",
                    instructor_id=application.instructor_id)
        stand_in = User(username="guide_in", name="张三", role=Role.INSTRUCTOR, password_hash="x",
                        instructor_id=other.instructor_id)
        db.session.add_all([away, stand_in])
        db.session.commit()
        return application, away.id, stand_in.id


def _messages(user_id: int) -> list[str]:
    from models import Notification

    return list(db.session.scalars(sa.select(Notification.message).where(Notification.user_id == user_id)
                                   .order_by(Notification.id)))


def _stood_in(user_id: int) -> list[str]:
    return [m for m in _messages(user_id) if m.startswith("【代")]


def test_a_reminder_due_while_the_span_runs_tells_the_substitute_once(app, make_application):
    from domain.reminders import send_due

    application, away_id, stand_in_id = _instructors_away(app, make_application)
    interval = 30  # the settings' default visit_interval_days
    # The frozen now the reminder runs at falls inside the span; the database's clock does not.
    _span(app, away_id, stand_in_id, (interval, interval + 5))
    with app.app_context():
        at = utcnow() + timedelta(days=interval + 1)
        assert send_due(at)["visit_overdue"] == 2  # the official's organisation, and the substitute's own
        assert send_due(at + timedelta(hours=1))["visit_overdue"] == 0  # still once per key, for both
        words = f"提醒：您指导的「{application.organisation.name}」已{interval + 1}天没有指导记录，请尽快开展指导并登记。"
        # The instructor reads who stands in for them; the substitute, for whom it is.
        assert _messages(away_id) == [f"{words}（李四不在岗期间由张三代理，已同时告知张三）"]
        assert _stood_in(stand_in_id) == [f"【代李四】{words}"]


def test_a_reminder_due_after_the_span_ended_tells_only_the_official(app, make_application):
    from domain.reminders import send_due

    application, away_id, stand_in_id = _instructors_away(app, make_application)
    _span(app, away_id, stand_in_id, (0, 3))  # runs now, by the database's clock, but not at the reminder's moment
    with app.app_context():
        assert send_due(utcnow() + timedelta(days=31))["visit_overdue"] == 2
        assert len(_messages(away_id)) == 1 and len(_messages(stand_in_id)) == 1 and _stood_in(stand_in_id) == []


def test_a_notice_to_an_official_away_also_reaches_the_substitute_with_whom_it_is_for(app, make_application):
    from domain.notices import notify

    application, away_id, stand_in_id = _instructors_away(app, make_application)
    _span(app, away_id, stand_in_id, (-1, 3))
    with app.app_context():
        assert notify([db.session.get(User, away_id)], "党组织已成立，请开展指导",
                      application=db.session.get(Application, application.id)) == 2
        db.session.commit()
        assert _messages(away_id) == ["党组织已成立，请开展指导"]
        assert _messages(stand_in_id) == ["【代李四】党组织已成立，请开展指导"]


def test_a_substitute_told_in_their_own_right_is_told_once(app, make_application, make_user):
    # Every zone approver is told of a passed application; the one standing in for another gets it once, plainly.
    application = make_application("submitted")
    reviewer = make_user(Role.UNIT_REVIEWER)
    official, stand_in = make_user(Role.ZONE_APPROVER), make_user(Role.ZONE_APPROVER)
    _span(app, official.id, stand_in.id, (-1, 3))
    with app.app_context():
        row = db.session.get(Application, application.id)
        pass_application(row, actor=db.session.get(User, reviewer.id), version=row.version)
        db.session.commit()
        assert len(_messages(official.id)) == 1
        assert _messages(stand_in.id) == _messages(official.id)


def _audited(action: str) -> AuditEvent:
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).one()


def test_a_delivery_and_a_visit_by_the_substitute_are_audited_on_the_officials_behalf(app, make_application):
    from domain.guidance import VisitData, record_visit, tick_delivery
    from models import ChecklistItem, VisitForm

    application, away_id, stand_in_id = _instructors_away(app, make_application, "established")
    _span(app, away_id, stand_in_id, (-1, 3))
    with app.app_context():
        row, actor = db.session.get(Application, application.id), db.session.get(User, stand_in_id)
        tick_delivery(row, ChecklistItem.PLAQUE, zone_today(), actor=actor)
        record_visit(row, VisitData(zone_today(), VisitForm.PHONE, "电话了解换届准备"), actor=actor)
        db.session.commit()
        for action in ("tick_delivery", "record_visit"):
            event = _audited(action)
            assert (event.actor_id, event.data["on_behalf_of_id"]) == (stand_in_id, away_id)
            assert event.summary.startswith("张三 代 李四")


def test_the_instructors_own_delivery_is_audited_in_their_own_right(app, make_application):
    from domain.guidance import tick_delivery
    from models import ChecklistItem

    application, away_id, stand_in_id = _instructors_away(app, make_application, "established")
    with app.app_context():
        row = db.session.get(Application, application.id)
        tick_delivery(row, ChecklistItem.PLAQUE, zone_today(), actor=db.session.get(User, away_id))
        db.session.commit()
        event = _audited("tick_delivery")
        assert event.actor_id == away_id and "on_behalf_of_id" not in event.data and " 代 " not in event.summary


def _last(action: str) -> AuditEvent:
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.seq.desc())).first()


def test_batch_and_fund_steps_by_a_substitute_are_audited_on_the_officials_behalf(app, make_fund, make_user):
    # Funds and batches are the whole zone's: the rule is by role (domain/substitutes.py's docstring).
    from domain import funds
    from models import DisbursementBatch, FundItem

    item, pending = make_fund("checked"), make_fund("pending")
    finance_away, finance_in = make_user(Role.FINANCE), make_user(Role.FINANCE)
    zone_away, zone_in = make_user(Role.ZONE_APPROVER), make_user(Role.ZONE_APPROVER)
    _span(app, finance_away.id, finance_in.id, (-1, 3))
    _span(app, zone_away.id, zone_in.id, (-1, 3))
    with app.app_context():
        finance, zone = db.session.get(User, finance_in.id), db.session.get(User, zone_in.id)
        pending_row = db.session.get(FundItem, pending.id)
        funds.confirm_fund(pending_row, actor=zone, version=pending_row.version)
        batch = funds.create_batch([db.session.get(FundItem, item.id)], actor=finance)
        funds.submit_batch(batch, actor=finance, version=batch.version)
        funds.return_batch(batch, actor=zone, version=batch.version)
        db.session.commit()
        for action, actor, official in [("fund.confirm", zone_in, zone_away), ("batch.create", finance_in, finance_away),
                                        ("batch.submit", finance_in, finance_away),
                                        ("batch.return", zone_in, zone_away)]:
            event = _last(action)
            assert (event.actor_id, event.data.get("on_behalf_of_id")) == (actor.id, official.id), action
            assert event.summary.startswith(f"{actor.name} 代 {official.name}"), action
        # The official back at work, or a colleague standing in for nobody, acts in their own right.
        batch = db.session.get(DisbursementBatch, batch.id)
        funds.submit_batch(batch, actor=db.session.get(User, finance_away.id), version=batch.version)
        db.session.commit()
        own = _last("batch.submit")
        assert own.actor_id == finance_away.id and "on_behalf_of_id" not in own.data and " 代 " not in own.summary


def test_a_reassignment_by_the_zones_substitute_is_audited_on_the_officials_behalf(app, make_application,
                                                                                   make_instructor, make_user):
    from domain.instructors import reassign_instructor
    from models import Instructor

    application = make_application("approved")
    newcomer = make_instructor()
    zone_away, zone_in = make_user(Role.ZONE_APPROVER), make_user(Role.ZONE_APPROVER)
    _span(app, zone_away.id, zone_in.id, (-1, 3))
    with app.app_context():
        reassign_instructor(db.session.get(Application, application.id), db.session.get(Instructor, newcomer.id),
                            actor=db.session.get(User, zone_in.id), reason="原指导员调任")
        db.session.commit()
        event = _audited("reassign_instructor")
        assert (event.actor_id, event.data["on_behalf_of_id"]) == (zone_in.id, zone_away.id)
        assert event.summary.startswith(f"{zone_in.name} 代 {zone_away.name}")


@pytest.mark.parametrize("chain", [False, True], ids=["same official", "chain"])
def test_substitutions_named_at_once_cannot_overlap_or_chain(app, make_user, chain):
    # Every racer passes the overlap check alone; the lock on the users' rows makes them take turns. Same official:
    # each names another colleague for the same days. Chain: each names the next, in a ring.
    from tests.conftest import race, racers

    n = min(racers(app), 8)
    users = [make_user(Role.ZONE_APPROVER) for _ in range(n + 1)]
    pairs = [(users[k].id, users[(k + 1) % n].id) for k in range(n)] if chain else \
        [(users[0].id, users[k].id) for k in range(1, n + 1)]

    def attempt(pair, go):
        official, substitute = db.session.get(User, pair[0]), db.session.get(User, pair[1])
        data = SubstituteData(substitute.id, zone_today() + timedelta(days=1), zone_today() + timedelta(days=5), "外出学习")
        go()
        try:
            name_substitute(official, data)
        except DomainError as refused:
            db.session.rollback()
            return refused.message
        db.session.commit()
        return "ok"

    results = race(app, attempt, pairs)
    with app.app_context():
        rows = db.session.execute(sa.select(Substitution.official_id, Substitution.substitute_id)).all()
    assert all(isinstance(r, str) for r in results), results
    officials, substitutes = {o for o, _ in rows}, {s for _, s in rows}
    assert len(officials) == len(rows) and not officials & substitutes, rows  # one at a time, no chains
    if not chain:
        assert results.count("ok") == 1 and len(rows) == 1
        assert results.count("这段时间内您已指定了代理人，请先核对已有的代理") == n - 1
