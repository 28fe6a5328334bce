"""The outbox (通知外发): a notice written in the app is also queued here, one row per person and channel they chose
(and one for the zone's group robot), in the same transaction as the notice; after that transaction commits, a task
(send_outbox_message, below) sends each row. A transaction rolled back takes its rows with it, so a step that did
not happen sends nothing.

Each row is sent at most once: the task claims it (queued -> sending) in a transaction of its own before it sends,
so two tasks given the same row (a duplicate enqueue, the sweep) cannot both send. A failed try is retried with a
growing delay, up to MAX_ATTEMPTS; a row left "sending" by a killed consumer is given up, not sent again: whether it
went out is unknown, and a notice twice is worse than a notice recorded as failed."""
import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, joinedload

from jobs.queue import crontab, periodic, task
from models import Channel, OutboxMessage, OutboxStatus, Role, User, db, utcnow

from . import channels
from .preferences import wanted_channels

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Seconds before try n + 1 after try n fails: 1, 4, 16, 64 minutes.
BACKOFF_SECONDS = (60, 240, 960, 3840)
# A row claimed this long ago and still "sending" belonged to a consumer that died.
SENDING_STALE = timedelta(minutes=10)
# A row due this long ago and never claimed lost its task (a consumer killed before taking it): the sweep re-queues it.
QUEUED_STALE = timedelta(minutes=2)
SUBJECT_PREFIX = "【开发区党建】"


def queue_notice(users: list[User], message: str, *, event: str, link: str, group: bool = True) -> list[OutboxMessage]:
    """Queue one notice on every channel its readers chose (邮件, 短信), and on the group robot for officials' notices
    of the events it carries (`group`: False for a copy of a notice already queued, such as a substitute's, so that
    the group reads it once). Flushed with the notices; sent after the commit."""
    rows, config = [], current_app.config
    # Without a mail server there is no e-mail to send: nothing is queued rather than a failure per notice.
    usable = {Channel.EMAIL} if config.get("MAIL_SERVER") else set()
    usable.add(Channel.SMS)  # the log backend, at least
    wanted = wanted_channels(users, event)
    for user in users:
        for channel in sorted(wanted[user.id] & usable, key=lambda c: c.value):
            address = user.email if channel is Channel.EMAIL else user.mobile
            if address:  # no address, nothing to send: the settings page says so
                rows.append(OutboxMessage(channel=channel, event=event, user_id=user.id, recipient=address,
                                          subject=subject_of(message), body=body_of(user, message, link), link=link))
    if (group and config.get("WEBHOOK_URL") and event in config.get("WEBHOOK_EVENTS", ())
            and any(u.role is not Role.APPLICANT for u in users)):  # the group is the zone's officials'
        rows.append(OutboxMessage(channel=Channel.WEBHOOK, event=event, user_id=None, recipient="",
                                  subject=subject_of(message), body=message, link=link))
    db.session.add_all(rows)
    return rows


def subject_of(message: str) -> str:
    """One line: a notice may quote reasons typed on several lines, and a header cannot hold a line break (the mail
    library refuses it, and one let through would start a header of the sender's choosing)."""
    return (SUBJECT_PREFIX + " ".join(message.split()))[:200]


def page_url(link: str) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + link if link else ""


def body_of(user: User, message: str, link: str) -> str:
    url = page_url(link) or current_app.config["PUBLIC_BASE_URL"]
    return (f"{user.name}，您好：\n\n{message}\n\n请登录开发区党组织组建管理系统查看和办理：\n{url}\n\n"
            f"此邮件由系统自动发送，请勿直接回复。登录后可在“通知设置”中选择接收哪些通知、是否接收邮件和短信。")[:1000]


def claim(message_id: int, now: datetime | None = None) -> bool:
    """Take the row for sending (queued -> sending) and commit, so that no other task sends it; False when another
    took it, it was sent or given up, or it is not yet due."""
    now = now or utcnow()
    taken = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.QUEUED,
               OutboxMessage.next_attempt_at <= now + timedelta(seconds=5))
        .values(status=OutboxStatus.SENDING, claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return taken == 1


def deliver(message_id: int) -> float | None:
    """Send one outbox row (发送外发通知) if it is still to be sent, and record how it went. Returns the delay in
    seconds after which it is to be tried again, or None."""
    if not claim(message_id):
        return None
    row = db.session.get(OutboxMessage, message_id)
    result = channels.channel_for(row.channel.value, current_app.config).send(channels.Message(
        recipient=row.recipient, subject=row.subject, body=row.body, event=row.event, url=page_url(row.link)))
    return record(row, result)


def record(row: OutboxMessage, result: channels.Result, now: datetime | None = None) -> float | None:
    """Write what the channel answered: sent, to be retried after a delay (returned), or failed with why."""
    now = now or utcnow()
    delay = None
    if result.ok:
        row.status, row.sent_at, row.error = OutboxStatus.SENT, now, ""
    elif result.retry and row.attempts < MAX_ATTEMPTS:
        delay = BACKOFF_SECONDS[row.attempts - 1]
        row.status, row.error = OutboxStatus.QUEUED, f"第{row.attempts}次发送失败，将重试：{result.error}"[:500]
        row.next_attempt_at = now + timedelta(seconds=delay)
    else:
        row.status, row.error = OutboxStatus.FAILED, f"第{row.attempts}次发送失败：{result.error}"[:500]
    db.session.commit()
    return delay


def sweep(now: datetime | None = None) -> list[int]:
    """Look after rows whose task was lost (清理外发队列): give up those left "sending" by a dead consumer, and return
    the ids of due rows that no task took, to be queued again (claim keeps a duplicate from sending twice)."""
    now = now or utcnow()
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < now - SENDING_STALE)
        .values(status=OutboxStatus.FAILED,
                error="发送过程中任务中断，无法确认是否已送达；为免重复发送，不再重试")
        .execution_options(synchronize_session=False))
    due = list(db.session.scalars(sa.select(OutboxMessage.id).where(
        OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.next_attempt_at < now - QUEUED_STALE)
        .order_by(OutboxMessage.id).limit(500)))
    db.session.commit()
    return due


def listing() -> sa.Select:
    """The outbox, newest first, for the administrator's page (通知外发记录): what was sent, what failed and why."""
    return sa.select(OutboxMessage).options(joinedload(OutboxMessage.user)).order_by(OutboxMessage.id.desc())


# ---------------------------------------------------------------- the tasks

PENDING = "outbox_pending"


@task("通知外发：发送一条")
def send_outbox_message(message_id: int) -> None:
    delay = deliver(message_id)
    if delay is not None:  # retried with back-off; the claim keeps an early duplicate from sending
        send_outbox_message.schedule(args=(message_id,), delay=delay)


@periodic(crontab(minute="*"), "通知外发：接续遗漏的发送", at_start=True)
def sweep_outbox() -> None:
    for message_id in sweep():
        send_outbox_message(message_id)


# Queued after the commit, never before: a task run before the commit would find no row, or the row of a transaction
# that is then rolled back. The ids are taken at each flush, when the rows have them.
@sa.event.listens_for(Session, "after_flush")
def _remember(session: Session, _context) -> None:
    ids = [row.id for row in session.new if isinstance(row, OutboxMessage)]
    if ids:
        session.info.setdefault(PENDING, []).extend(ids)


@sa.event.listens_for(Session, "after_commit")
def _send_committed(session: Session) -> None:
    for message_id in session.info.pop(PENDING, []):
        try:
            send_outbox_message(message_id)
        except Exception:  # the step is committed and must say so; the sweep sends the row within minutes
            log.exception("outbox row %s not queued; the sweep will take it up", message_id)


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction) -> None:
    # Only the end of the whole transaction forgets them: rows flushed before a savepoint that rolled back are still
    # to be sent (and a row of the savepoint itself is gone: its task finds nothing and does nothing).
    if previous_transaction.parent is None:
        session.info.pop(PENDING, None)
