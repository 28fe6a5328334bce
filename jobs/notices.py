"""The outbox's tasks (通知外发): each outbox row written in a transaction is sent by a task queued after that
transaction commits (domain/outbox.py holds the rules); a periodic sweep takes up rows whose task was lost."""
import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain import outbox
from domain.digest import queue_digests
from extensions import db
from models import OutboxMessage

from .queue import crontab, periodic, task

PENDING = "outbox_pending"
log = logging.getLogger(__name__)


@task("通知外发：发送一条")
def send_outbox_message(message_id: int) -> None:
    delay = outbox.deliver(message_id)
    if delay is not None:  # retried with back-off; the claim keeps an early duplicate from sending
        send_outbox_message.schedule(args=(message_id,), delay=delay)


@periodic(crontab(minute="*"), "通知外发：接续遗漏的发送", at_start=True)
def sweep_outbox() -> None:
    for message_id in outbox.sweep():
        send_outbox_message(message_id)


@periodic(crontab(minute="0"), "通知外发：每日待办摘要")
def send_digests() -> None:
    # Every hour on the hour; queue_digests acts only in the zone's DIGEST_HOUR (crontab counts hours in UTC).
    queue_digests()
    db.session.commit()


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
