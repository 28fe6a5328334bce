"""The daily digest (domain/digest.py): the substitute of an official away gets their digest too, saying so, and each
digest goes out once a day however many consumers run it (its sent_reminders key)."""
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from domain.digest import queue_digests
from domain.substitutes import zone_midnight
from models import Application, OutboxMessage, Role, SentReminder, Substitution, User, db, utcnow
from tests.conftest import on_postgresql, race, racers, zone_today
from tests.test_outbox import person, smtp_sink  # noqa: F401 (a fixture)


def at_digest_hour(app):
    now = utcnow()
    app.config["DIGEST_HOUR"] = now.astimezone(ZoneInfo(app.config["DISPLAY_TIMEZONE"])).hour
    return now


def digests() -> list[tuple[int, str, str]]:
    db.session.expire_all()
    return [(r.user_id, r.subject, r.body) for r in db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.event == "digest").order_by(OutboxMessage.id))]


def test_the_substitute_of_an_official_away_gets_their_digest_saying_for_whom(ctx, app, smtp_sink, make_user,
                                                                              make_application):
    away = person(make_user, Role.ZONE_APPROVER, email="away@example.org")
    stand_in = person(make_user, Role.ZONE_APPROVER, email="standin@example.org")
    away.name, stand_in.name = "李四", "张三"
    db.session.add(Substitution(official_id=away.id, substitute_id=stand_in.id, reason="外出学习",
                                starts_at=zone_midnight(zone_today() - timedelta(days=1)),
                                ends_at=zone_midnight(zone_today() + timedelta(days=3))))
    db.session.commit()
    make_application("unit_approved")
    now = at_digest_hour(app)
    assert queue_digests(now) == 3  # 李四's, 张三's own, and 李四's copy for 张三
    mails = {(to[0], mail["Subject"]): mail.get_content() for to, mail in smtp_sink.messages}
    assert set(mails) == {("away@example.org", "【开发区党建】每日待办：1 项待办"),
                          ("standin@example.org", "【开发区党建】每日待办：1 项待办"),
                          ("standin@example.org", "【开发区党建】每日待办（代李四处理）：1 项待办")}
    copy = mails[("standin@example.org", "【开发区党建】每日待办（代李四处理）：1 项待办")]
    assert "张三，您好" in copy and "请代 李四 处理" in copy and "目前有 1 项待李四办理。" in copy


def test_a_digest_after_the_span_ended_goes_to_the_official_alone(ctx, app, smtp_sink, make_user, make_application):
    away = person(make_user, Role.ZONE_APPROVER, email="away@example.org")
    stand_in = person(make_user, Role.ZONE_APPROVER, email="standin@example.org")
    db.session.add(Substitution(official_id=away.id, substitute_id=stand_in.id, reason="外出学习",
                                starts_at=zone_midnight(zone_today() - timedelta(days=3)),
                                ends_at=zone_midnight(zone_today() - timedelta(days=1))))
    db.session.commit()
    make_application("unit_approved")
    assert queue_digests(at_digest_hour(app)) == 2
    assert all("代" not in subject for _, subject, _ in digests())


def test_a_rerun_or_a_restart_the_same_day_sends_nothing_again(ctx, app, smtp_sink, make_user, make_application):
    zone = person(make_user, Role.ZONE_APPROVER, email="zone@example.org")
    make_application("unit_approved")
    now = at_digest_hour(app)
    assert queue_digests(now) == 1
    assert queue_digests(now + timedelta(minutes=1)) == 0  # a second firing within the hour
    db.session.execute(sa.delete(OutboxMessage))  # the outbox pruned or lost: the key still holds
    db.session.commit()
    assert queue_digests(now) == 0
    assert db.session.scalars(sa.select(SentReminder.item_id).where(SentReminder.kind == "digest")).all() == [zone.id]
    assert len(smtp_sink.messages) == 1
    # The next day is a new key.
    assert queue_digests(now + timedelta(days=1)) == 1


def test_consumers_firing_at_once_queue_each_digest_once(app, smtp_sink, make_user, make_application):
    with app.app_context():
        officials = [person(make_user, Role.ZONE_APPROVER, email=f"zone{k}@example.org").id for k in range(3)]
        make_application("unit_approved")
        now = at_digest_hour(app)
    n = min(racers(app), 8)

    def attempt(_k, go):
        go()
        return queue_digests(now)

    results = race(app, attempt, range(n))
    with app.app_context():
        assert sorted(user_id for user_id, _, _ in digests()) == officials
        assert len(smtp_sink.messages) == len(officials)
    done = [r for r in results if isinstance(r, int)]
    assert sum(done) == len(officials), results
    if on_postgresql(app):
        assert len(done) == n, results  # PostgreSQL waits on the key and the loser finds it taken
