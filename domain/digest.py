"""The officials' daily digest (每日待办摘要): at DIGEST_HOUR in the zone, each official with an e-mail address who
has not turned it off gets one mail: how many items wait on them, and which became overdue since yesterday. An official
away (代理) gets theirs as always, and their substitute gets a copy that says so (代 李四 处理), the substitute being the
one who can act on those items while the span runs. It goes out through the outbox (domain/outbox.py) like any notice,
so it is sent once, retried and recorded the same way.

Once a day whatever runs it: each digest claims a sent_reminders key (kind "digest", the recipient, the zone's date,
and for a substitute's copy whose it is) in the transaction that queues its mail, as the reminders do
(domain/reminders.py). A second consumer firing the same hour, a restart within it, or a rerun finds the key taken and
queues nothing."""
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from jobs.queue import crontab, periodic
from models import Application, Channel, OutboxMessage, Role, User, db, utcnow

from .inbox import nav_counts, waiting_states
from .outbox import SUBJECT_PREFIX, page_url
from .preferences import wanted_channels
from .reminders import claim_once
from .substitutes import stand_ins

EVENT = "digest"


@dataclass(frozen=True)
class Digest:
    """One mail owed: to whom, under which key of the day, and what it says."""
    recipient: User
    period: str
    subject: str
    body: str


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


def digest_text(user: User, waiting: int, overdue: list[Application], official: User | None = None) -> str:
    """The digest's body for `user`; `official` when it is the digest of someone `user` stands in for."""
    lines = [f"{user.name}，您好：", ""]
    if official is None:
        lines.append(f"目前有 {waiting} 项待您办理。")
    else:
        lines += [f"您正在代理{official.name}，以下是{official.name}的每日待办，请代 {official.name} 处理。",
                  f"目前有 {waiting} 项待{official.name}办理。"]
    if overdue:
        lines.append(f"其中 {len(overdue)} 项自昨日起已超过 {current_app.config['OVERDUE_DAYS']} 天未办理：")
        lines += [f"· {a.organisation.name}（{a.state.label}）{page_url(f'/applications/{a.id}')}" for a in overdue[:20]]
        if len(overdue) > 20:
            lines.append(f"……另有 {len(overdue) - 20} 项")
    lines += ["", f"请登录系统办理：{page_url('/applications/')}", "",
              "此邮件由系统每日自动发送。如不需要，可在“通知设置”中关闭“每日待办摘要”的邮件。"]
    return "\n".join(lines)[:1000]


def _subject(waiting: int, overdue: list[Application], official: User | None) -> str:
    on_behalf = f"（代{official.name}处理）" if official is not None else ""
    return (f"{SUBJECT_PREFIX}每日待办{on_behalf}：{waiting} 项待办"
            + (f"，{len(overdue)} 项新超期" if overdue else ""))


def owed_digests(now: datetime, day: date) -> list[Digest]:
    """Today's digests: each official's own, and a copy for the substitute of each official away at `now`."""
    officials = list(db.session.scalars(sa.select(User).where(
        User.active.is_(True), User.role != Role.APPLICANT).order_by(User.id)))
    wanted = wanted_channels(officials, EVENT)
    substitutes = stand_ins(officials, now)

    def wants(user: User | None) -> bool:
        return user is not None and bool(user.email) and Channel.EMAIL in wanted.get(user.id, set())

    owed = []
    for user in officials:
        substitute = substitutes.get(user.id)
        readers = [(user, None, day.isoformat())] if wants(user) else []
        if wants(substitute):
            readers.append((substitute, user, f"{day.isoformat()}:{user.id}"))
        if not readers:
            continue
        waiting, overdue = nav_counts(user).waiting, became_overdue(user, now)
        if not waiting and not overdue:
            continue  # nothing to say: no mail
        owed += [Digest(reader, period, _subject(waiting, overdue, official),
                        digest_text(reader, waiting, overdue, official)) for reader, official, period in readers]
    return owed


def queue_digests(now: datetime | None = None) -> int:
    """Queue today's digest (发送每日待办摘要) for every official who wants it and has something waiting, and its copy
    for their substitute, if it is the zone's DIGEST_HOUR and they have not had today's yet. Each is committed with
    its key; returns how many were queued."""
    now = now or utcnow()
    config = current_app.config
    local = now.astimezone(ZoneInfo(config["DISPLAY_TIMEZONE"]))
    if local.hour != config["DIGEST_HOUR"] or not config.get("MAIL_SERVER"):
        return 0
    owed = owed_digests(now, local.date())
    db.session.commit()  # end the reading transaction before the first claim (claim_once says why)
    queued = 0
    for digest in owed:
        if claim_once(EVENT, digest.recipient.id, digest.period) is None:
            continue
        db.session.add(OutboxMessage(channel=Channel.EMAIL, event=EVENT, user_id=digest.recipient.id,
                                     recipient=digest.recipient.email, subject=digest.subject, body=digest.body,
                                     link="/applications/", created_at=now))
        db.session.commit()
        queued += 1
    return queued


@periodic(crontab(minute="0"), "通知外发：每日待办摘要")
def send_digests() -> None:
    # Every hour on the hour; queue_digests acts only in the zone's DIGEST_HOUR (crontab counts hours in UTC).
    queue_digests()
