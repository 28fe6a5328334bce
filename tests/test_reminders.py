"""Reminders and escalation (domain/reminders.py): each due reminder reaches its people once, with a frozen "now"
(send_due takes the moment it runs at; the items are made today and the clock is moved forward instead)."""
from datetime import timedelta

import sqlalchemy as sa

from domain.reminders import send_due, send_reminders
from jobs.queue import PERIODIC, task_name
from models import Application, Notification, Role, SentReminder, User, db, utcnow
from tests.conftest import PASSWORD_HASH, on_postgresql, race, racers

NOTHING = {"step_overdue": 0, "step_escalated": 0, "visit_overdue": 0, "fund_unpaid": 0, "term_due": 0}


def messages_of(user_id: int) -> list[str]:
    return list(db.session.scalars(sa.select(Notification.message).where(Notification.user_id == user_id)
                                   .order_by(Notification.id)))


def sent(**counts) -> dict[str, int]:
    return {**NOTHING, **counts}


def test_a_step_waiting_past_the_overdue_days_reminds_its_reviewers_once(app, make_application, make_user):
    application = make_application("submitted")
    reviewer = make_user(Role.UNIT_REVIEWER)
    other_unit = make_user(Role.UNIT_REVIEWER, unit_code="street_east")
    zone = make_user(Role.ZONE_APPROVER)
    days = app.config["OVERDUE_DAYS"]
    with app.app_context():
        assert send_due(utcnow() + timedelta(days=days - 1)) == sent()
        assert send_due(utcnow() + timedelta(days=days, hours=1)) == sent(step_overdue=1)
        assert send_due(utcnow() + timedelta(days=days, hours=2)) == sent()  # the rerun tells nobody again
        assert messages_of(reviewer.id) == [
            f"提醒：「{application.organisation.name}」的申请在“待初审”环节已等待{days}天，请尽快办理。"]
        assert messages_of(other_unit.id) == [] and messages_of(zone.id) == []


def test_at_twice_the_overdue_days_the_zone_is_told(app, make_application, make_user):
    application = make_application("submitted")
    reviewer = make_user(Role.UNIT_REVIEWER)
    zones = [make_user(Role.ZONE_APPROVER), make_user(Role.ZONE_APPROVER)]
    days = 2 * app.config["OVERDUE_DAYS"]
    with app.app_context():
        assert send_due(utcnow() + timedelta(days=days, hours=1)) == sent(step_overdue=1, step_escalated=1)
        expected = (f"督办：「{application.organisation.name}」的申请在“待初审”环节已等待{days}天仍未办理"
                    f"（应由初审单位办理），请督促。")
        assert [messages_of(z.id) for z in zones] == [[expected], [expected]]
        assert len(messages_of(reviewer.id)) == 1


def test_a_new_wait_of_the_same_application_is_a_new_period(app, make_application, make_user):
    application = make_application("unit_approved")
    zone = make_user(Role.ZONE_APPROVER)
    days = app.config["OVERDUE_DAYS"]
    with app.app_context():
        assert send_due(utcnow() + timedelta(days=days, hours=1)) == sent(step_overdue=1)
        db.session.get(Application, application.id).state_changed_at = utcnow() + timedelta(days=days + 1)
        db.session.commit()
        assert send_due(utcnow() + timedelta(days=days, hours=2)) == sent()
        assert send_due(utcnow() + timedelta(days=2 * days + 2)) == sent(step_overdue=1)
        assert len(messages_of(zone.id)) == 2


def test_an_overdue_guidance_visit_reminds_the_instructor(app, make_application):
    application = make_application("approved")
    with app.app_context():
        instructor = User(username="guide1", name="指导员甲", role=Role.INSTRUCTOR,
                          instructor_id=application.instructor_id, password_hash=PASSWORD_HASH)
        db.session.add(instructor)
        db.session.commit()
        interval = 30  # the settings' default visit_interval_days
        assert send_due(utcnow() + timedelta(days=interval))["visit_overdue"] == 0
        assert send_due(utcnow() + timedelta(days=interval + 1))["visit_overdue"] == 1
        assert send_due(utcnow() + timedelta(days=interval + 2))["visit_overdue"] == 0
        assert messages_of(instructor.id) == [
            f"提醒：您指导的「{application.organisation.name}」已{interval + 1}天没有指导记录，请尽快开展指导并登记。"]


def test_an_approved_fund_unpaid_for_30_days_reminds_finance(app, make_fund):
    item = make_fund("approved")
    with app.app_context():
        finance = db.session.scalar(sa.select(User).where(User.role == Role.FINANCE))
        assert send_due(utcnow() + timedelta(days=29))["fund_unpaid"] == 0
        assert send_due(utcnow() + timedelta(days=30, hours=1))["fund_unpaid"] == 1
        assert send_due(utcnow() + timedelta(days=31))["fund_unpaid"] == 0
        assert messages_of(finance.id) == [
            f"提醒：「{item.organisation.name}」的启动经费已核定30天仍未拨付，请尽快安排拨付。"]


def test_consumers_running_the_task_at_once_send_each_reminder_once(app, make_application, make_user):
    """Several consumers (threads, each with its own connection) run the task at the same moment: one claims each
    key, the others find it taken."""
    applications = [make_application("submitted") for _ in range(3)]
    reviewer = make_user(Role.UNIT_REVIEWER)
    later = utcnow() + timedelta(days=app.config["OVERDUE_DAYS"], hours=1)
    n = min(racers(app), 10)

    def attempt(_k, go):
        go()
        return send_due(later)["step_overdue"]

    results = race(app, attempt, range(n))
    with app.app_context():
        assert len(messages_of(reviewer.id)) == len(applications)
        assert db.session.scalar(sa.select(sa.func.count(SentReminder.id))) == len(applications)
    done = [r for r in results if isinstance(r, int)]
    assert sum(done) == len(applications)
    if on_postgresql(app):
        assert len(done) == n, results


def test_the_reminders_run_as_a_periodic_task(app, make_application, make_user):
    assert task_name(send_reminders) in PERIODIC
    application = make_application("submitted")
    reviewer = make_user(Role.UNIT_REVIEWER)
    with app.app_context():
        db.session.get(Application, application.id).state_changed_at = (
            utcnow() - timedelta(days=app.config["OVERDUE_DAYS"] + 1))
        db.session.commit()
        send_reminders()  # run at once in the tests (JOBS_IMMEDIATE)
        send_reminders()
        assert len(messages_of(reviewer.id)) == 1


def test_six_months_before_a_term_ends_the_organisation_is_reminded_once(app, make_application, make_user):
    """The higher organisation reminds the contact, the instructor and the unit's reviewers (issue 32); a term moved
    by a postponement is a new period, reminded again."""
    from domain.party_orgs import months_later
    from domain.zone_time import local_date
    from models import PartyOrg

    made = make_application("established")
    contact = make_user(Role.APPLICANT, organisation=made.organisation)
    reviewer, other_unit = make_user(Role.UNIT_REVIEWER), make_user(Role.UNIT_REVIEWER, unit_code="street_east")
    guide = make_user(Role.INSTRUCTOR)
    with app.app_context():
        db.session.get(User, guide.id).instructor_id = made.instructor_id
        party_org = db.session.scalar(sa.select(PartyOrg).where(PartyOrg.application_id == made.id))
        end, name, party_org_id = party_org.term_end, party_org.name, party_org.id
        db.session.commit()
        # Three years on: the day before six months remain, nothing; on the day, one reminder to each.
        six_months_before = months_later(end, -6)
        at = lambda day: utcnow() + timedelta(days=(day - local_date(utcnow())).days)  # noqa: E731
        # (The instructor's visit reminder comes due too, three years on: only the term's counts here.)
        assert send_due(at(six_months_before - timedelta(days=1)))["term_due"] == 0
        assert send_due(at(six_months_before))["term_due"] == 1
        assert send_due(at(six_months_before + timedelta(days=1)))["term_due"] == 0
        days = (end - six_months_before).days
        expected = (f"提醒：{name}本届任期将于{end.year}年{end.month}月{end.day}日届满（还有{days}天），"
                    "请提前做好换届准备，按期提出换届请示。")
        assert [messages_of(u.id) for u in (contact, reviewer)] == [[expected]] * 2
        assert expected in messages_of(guide.id)
        assert messages_of(other_unit.id) == []
        link = db.session.scalar(sa.select(Notification.link).where(Notification.user_id == contact.id))
        assert link == f"/orgs/{party_org_id}"
        # A postponement moves the end: the new end is reminded too, once.
        db.session.get(PartyOrg, party_org_id).term_end = end + timedelta(days=30)
        db.session.commit()
        assert send_due(at(months_later(end + timedelta(days=30), -6)))["term_due"] == 1
