"""The audit log: appending events, sealing them into a hash chain at commit, and checking the chain.

`record_event` only queues the event on the session. The queue is written when the transaction commits,
after everything else: the chain head's row is updated first, which makes concurrent writers wait their
turn (its row lock on PostgreSQL, the single write lock on SQLite), so no two transactions can link to
the same previous row. Taking that lock last, rather than at the first event, keeps the wait short and
means a transaction never holds it while waiting for another row, so no deadlock can form around it.
"""
import hashlib
import json
from dataclasses import dataclass
from datetime import timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from models import GENESIS_HASH, AuditChainHead, AuditEvent, User, db, utcnow

from . import insert_if_absent

_QUEUE, _MARKS = "audit_queue", "audit_savepoints"


def record_event(action: str, obj: Any, actor: User | None, summary: str = "", **data: Any) -> AuditEvent:
    """Append one audit event (审计日志) about obj; it is written, chained, when the transaction commits."""
    # The summary is for reading in a list; a long reason quoted in it is cut, the verb keeps it whole.
    limit = AuditEvent.summary.type.length
    summary = summary if len(summary) <= limit else summary[:limit - 1] + "…"
    event_ = AuditEvent(action=action, object_type=obj.__tablename__, actor=actor, summary=summary, data=data,
                        at=utcnow())
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback, even before any SQL, ends a transaction and drops the queue
    # The object may be new: its id exists only after the flush at commit, so keep the object, not the id.
    session.info.setdefault(_QUEUE, []).append((event_, obj))
    return event_


def event_hash(row: AuditEvent) -> str:
    """SHA-256 over the row's content and the previous row's hash, in one fixed text form."""
    content = {
        "seq": row.seq, "at": row.at.astimezone(timezone.utc).isoformat(timespec="microseconds"), "actor_id": row.actor_id,
        "action": row.action, "object_type": row.object_type, "object_id": row.object_id,
        "summary": row.summary, "data": row.data, "prev_hash": row.prev_hash,
    }
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@event.listens_for(Session, "before_commit")
def _seal_queued_events(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint ending; the events are sealed with the outer transaction
    queue = session.info.get(_QUEUE)
    if not queue:
        return
    session.flush()  # ids of new actors and objects
    seq, prev = _advance_head(session, len(queue))
    for event_, obj in queue:
        seq += 1
        event_.object_id = getattr(obj, "id", None)  # settings are keyed by name, not id
        event_.actor_id = event_.actor.id if event_.actor is not None else None
        event_.seq, event_.prev_hash = seq, prev
        event_.hash = prev = event_hash(event_)
        session.add(event_)
    session.execute(sa.update(AuditChainHead).where(AuditChainHead.id == 1).values(last_hash=prev))
    # Emptied only now: if anything above failed, the events are still queued for a retried commit.
    session.info.pop(_QUEUE, None)


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction) -> None:
    if transaction.nested:  # where to cut the queue back to if this savepoint is rolled back
        session.info.setdefault(_MARKS, {})[id(transaction)] = len(session.info.get(_QUEUE, []))


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back_events(session: Session, transaction) -> None:
    mark = session.info.get(_MARKS, {}).pop(id(transaction), None)
    if transaction.nested and mark is not None:
        del session.info.get(_QUEUE, [])[mark:]  # the savepoint's events never happened; earlier ones stand
    elif not transaction.nested:
        session.info.pop(_QUEUE, None)
        session.info.pop(_MARKS, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_ended_transaction(session: Session, transaction) -> None:
    if transaction.parent is None:  # committed (already sealed) or rolled back: nothing stays queued
        session.info.pop(_QUEUE, None)
        session.info.pop(_MARKS, None)


def _advance_head(session: Session, count: int) -> tuple[int, str]:
    """Reserve `count` places at the end of the chain; returns the seq and hash they follow."""
    bump = (sa.update(AuditChainHead).where(AuditChainHead.id == 1)
            .values(seq=AuditChainHead.seq + count)
            .returning(AuditChainHead.seq, AuditChainHead.last_hash))
    row = session.execute(bump).one_or_none()
    if row is None:
        # A new database has no head yet (nor one restored from a table-by-table copy): start it at the last row
        # there is. Two first writers may race to create it; the loser's insert does nothing.
        last = session.execute(sa.select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc())
                               .limit(1)).one_or_none()
        insert_if_absent(session, AuditChainHead, id=1, seq=last.seq if last else 0,
                         last_hash=last.hash if last else GENESIS_HASH)
        row = session.execute(bump).one()
    return row.seq - count, row.last_hash


@dataclass
class ChainReport:
    rows: int
    problem: str | None = None  # the first break, in words; None when the chain holds
    seq: int | None = None  # where it breaks

    @property
    def intact(self) -> bool:
        return self.problem is None


def _head() -> tuple[int, str]:
    row = db.session.execute(sa.select(AuditChainHead.seq, AuditChainHead.last_hash)
                             .where(AuditChainHead.id == 1)).one_or_none()
    return (row.seq, row.last_hash) if row else (0, GENESIS_HASH)


def verify_chain(batch: int = 2000) -> ChainReport:
    """Walk the audit log in chain order and name the first row that was changed, removed or inserted.

    It may run while people work: rows committed during the walk extend the chain, so the head is read
    before and after it, and the walk must end between the two."""
    before = _head()
    expected_seq, prev, rows = 1, GENESIS_HASH, 0
    query = sa.select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch)
    for row in db.session.scalars(query):
        rows += 1
        if row.seq != expected_seq:
            return ChainReport(rows, f"第 {expected_seq} 条记录缺失（下一条是第 {row.seq} 条，id {row.id}）",
                               expected_seq)
        if row.prev_hash != prev:
            return ChainReport(rows, f"第 {row.seq} 条记录（id {row.id}）与前一条接不上：前一条被改动或删除", row.seq)
        if event_hash(row) != row.hash:
            return ChainReport(rows, f"第 {row.seq} 条记录（id {row.id}）的内容被改动", row.seq)
        prev, expected_seq = row.hash, expected_seq + 1
    last, after = expected_seq - 1, _head()
    if last < before[0] or (last == before[0] and prev != before[1]):
        return ChainReport(rows, f"链尾应为第 {before[0]} 条，实际只到第 {last} 条：最新的记录被删除或改动",
                           last + 1)
    if last > after[0]:
        return ChainReport(rows, f"第 {after[0] + 1} 条及以后的记录不在链上（链尾是第 {after[0]} 条）：疑为插入",
                           after[0] + 1)
    return ChainReport(rows)
