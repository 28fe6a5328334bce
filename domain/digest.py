"""The officials' daily digest (每日待办摘要): at DIGEST_HOUR in the zone, each official with an e-mail address who
has not turned it off gets one mail: how many items wait on them, and which became overdue since yesterday. It goes
out through the outbox (domain/outbox.py) like any notice, so it is sent once, retried and recorded the same way."""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from models import Application, Channel, OutboxMessage, Role, User, db, utcnow

from jobs.queue import crontab, periodic

from .inbox import nav_counts, waiting_states
from .outbox import SUBJECT_PREFIX, page_url
from .preferences import wanted_channels

EVENT = "digest"


def became_overdue(user: User, now: datetime) -> list[Application]:
    """The applications waiting on `user` that crossed OVERDUE_DAYS in the last day (since the last digest)."""
    states = waiting_states(user.role)
    if not states:
        return []
    limit = now - timedelta(days=current_app.config["OVERDUE_DAYS"])
    return list(db.session.scalars(sa.select(Application).where(
        Application.visible_to(user), Application.state.in_(states),
        Application.state_changed_at < limit, Application.state_changed_at >= limit - timedelta(days=1))
        .order_by(Application.state_changed_at)))


def digest_text(user: User, waiting: int, overdue: list[Application]) -> str:
    lines = [f"{user.name}，您好：", "", f"目前有 {waiting} 项待您办理。"]
    if overdue:
        lines.append(f"其中 {len(overdue)} 项自昨日起已超过 {current_app.config['OVERDUE_DAYS']} 天未办理：")
        lines += [f"· {a.organisation.name}（{a.state.label}）{page_url(f'/applications/{a.id}')}" for a in overdue[:20]]
        if len(overdue) > 20:
            lines.append(f"……另有 {len(overdue) - 20} 项")
    lines += ["", f"请登录系统办理：{page_url('/applications/')}", "",
              "此邮件由系统每日自动发送。如不需要，可在“通知设置”中关闭“每日待办摘要”的邮件。"]
    return "\n".join(lines)[:1000]


def queue_digests(now: datetime | None = None) -> int:
    """Queue today's digest (发送每日待办摘要) for every official who wants it and has something waiting, if it is the
    zone's DIGEST_HOUR and they have not had today's yet. Returns how many were queued; the caller commits."""
    now = now or utcnow()
    config = current_app.config
    zone = ZoneInfo(config["DISPLAY_TIMEZONE"])
    local = now.astimezone(zone)
    if local.hour != config["DIGEST_HOUR"] or not config.get("MAIL_SERVER"):
        return 0
    day_start = datetime.combine(local.date(), time(), zone)
    had = set(db.session.scalars(sa.select(OutboxMessage.user_id).where(
        OutboxMessage.event == EVENT, OutboxMessage.created_at >= day_start)))
    officials = [u for u in db.session.scalars(sa.select(User).where(
        User.active.is_(True), User.role != Role.APPLICANT, User.email != "").order_by(User.id)) if u.id not in had]
    wanted = wanted_channels(officials, EVENT)
    queued = 0
    for user in officials:
        if Channel.EMAIL not in wanted[user.id]:
            continue
        waiting, overdue = nav_counts(user).waiting, became_overdue(user, now)
        if not waiting and not overdue:
            continue  # nothing to say: no mail
        subject = f"{SUBJECT_PREFIX}每日待办：{waiting} 项待办" + (f"，{len(overdue)} 项新超期" if overdue else "")
        db.session.add(OutboxMessage(channel=Channel.EMAIL, event=EVENT, user_id=user.id, recipient=user.email,
                                     subject=subject, body=digest_text(user, waiting, overdue),
                                     link="/applications/", created_at=now))
        queued += 1
    return queued


@periodic(crontab(minute="0"), "通知外发：每日待办摘要")
def send_digests() -> None:
    # Every hour on the hour; queue_digests acts only in the zone's DIGEST_HOUR (crontab counts hours in UTC).
    queue_digests()
    db.session.commit()
