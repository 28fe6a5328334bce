"""The audit log: appending events, sealing them into a keyed hash chain at commit, and checking the chain.

`record_event` only queues the event on the session. The queue is written when the transaction commits,
after everything else: the chain head's row is updated first, which makes concurrent writers wait their
turn (its row lock on PostgreSQL, the single write lock on SQLite), so no two transactions can link to
the same previous row. Taking that lock last, rather than at the first event, keeps the wait short and
means a transaction never holds it while waiting for another row, so no deadlock can form around it.

Each row is sealed with an HMAC-SHA256 under AUDIT_KEY (config.py), which lives outside the database: someone who
can write the database can change or delete rows, but cannot seal a rewritten chain, so verify_chain names the
first row changed. Deleting the newest rows and moving the head row back would still pass; that is why the head is
also kept outside the database (`flask --app app audit-head`, checked by `verify-audit --head`).

Rows sealed before the key existed keep their plain SHA-256 (`scheme` 0, models/audit.py); re-sealing them would
launder whatever was done to them before. They may only form the beginning of the chain, closed by an `audit.rekey`
row that the upgrade sealed with the key and that names the last of them (migrations/versions/b8d0f2a4c6e8): a
rewritten old row no longer links to it, and a row claiming the old scheme after it, or a chain of old-scheme rows
without it (the whole log rewritten without the key), is refused.

The fields that move money are recorded in the same chain when the app changes them (domain/sealed_fields.py), and
verify_chain compares the tables with the last values recorded.
"""
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from models import GENESIS_HASH, AuditChainHead, AuditEvent, User, db, wall_clock
from models.audit import HMAC_SCHEME, LEGACY_SCHEME

from . import insert_if_absent
from . import sealed_fields
from .seal import audit_key, event_hash

_QUEUE, _MARKS = "audit_queue", "audit_savepoints"
REKEY_ACTION = "audit.rekey"


def record_event(action: str, obj: Any, actor: User | None, summary: str = "", **data: Any) -> AuditEvent:
    """Append one audit event (审计日志) about obj; it is written, chained, when the transaction commits."""
    # The summary is for reading in a list; a long reason quoted in it is cut, the verb keeps it whole.
    limit = AuditEvent.summary.type.length
    summary = summary if len(summary) <= limit else summary[:limit - 1] + "…"
    event_ = AuditEvent(action=action, object_type=obj.__tablename__, actor=actor, summary=summary, data=data,
                        at=wall_clock(), scheme=HMAC_SCHEME)
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback, even before any SQL, ends a transaction and drops the queue
    # The object may be new: its id exists only after the flush at commit, so keep the object, not the id.
    session.info.setdefault(_QUEUE, []).append((event_, obj))
    return event_


@event.listens_for(Session, "before_commit")
def _seal_queued_events(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint ending; the events are sealed with the outer transaction
    session.flush()  # ids of new actors and objects; and the covered fields' changes are noted by then
    queue = list(session.info.get(_QUEUE) or [])
    if not queue and not sealed_fields.has_pending(session):
        return
    seq, prev = _lock_head(session)
    # Read after the lock: no other transaction's record of these rows can be sealed between this read and ours.
    actor = queue[-1][0].actor if queue else None
    for table, object_id, data in sealed_fields.pending_records(session):
        summary = f"记录{sealed_fields.TABLE_LABELS[table]}的资金字段（{len(data['rows'])} 行）"
        queue.append((AuditEvent(action=sealed_fields.VALUES_ACTION, object_type=table, object_id=object_id,
                                 actor=actor, summary=summary, data=data, at=wall_clock(), scheme=HMAC_SCHEME), None))
    key = audit_key()
    for event_, obj in queue:
        seq += 1
        if obj is not None:
            event_.object_id = getattr(obj, "id", None)  # settings are keyed by name, not id
        event_.actor_id = event_.actor.id if event_.actor is not None else None
        event_.seq, event_.prev_hash = seq, prev
        event_.hash = prev = event_hash(event_, key)
        session.add(event_)
    session.execute(sa.update(AuditChainHead).where(AuditChainHead.id == 1).values(seq=seq, last_hash=prev))
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
        sealed_fields.forget(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_ended_transaction(session: Session, transaction) -> None:
    if transaction.parent is None:  # committed (already sealed) or rolled back: nothing stays queued
        session.info.pop(_QUEUE, None)
        session.info.pop(_MARKS, None)
        sealed_fields.forget(session)


def _lock_head(session: Session) -> tuple[int, str]:
    """Take the chain head's lock, held to the commit; returns the seq and hash the new rows follow."""
    lock = (sa.update(AuditChainHead).where(AuditChainHead.id == 1).values(seq=AuditChainHead.seq)
            .returning(AuditChainHead.seq, AuditChainHead.last_hash))
    row = session.execute(lock).one_or_none()
    if row is None:
        # A new database has no head yet (nor one restored from a table-by-table copy): start it at the last row
        # there is. Two first writers may race to create it; the loser's insert does nothing.
        last = session.execute(sa.select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc())
                               .limit(1)).one_or_none()
        insert_if_absent(session, AuditChainHead, id=1, seq=last.seq if last else 0,
                         last_hash=last.hash if last else GENESIS_HASH)
        row = session.execute(lock).one()
    return row.seq, row.last_hash


@dataclass
class ChainReport:
    rows: int
    problem: str | None = None  # the first break, in words; None when the chain holds
    seq: int | None = None  # where it breaks
    changes: list[str] = field(default_factory=list)  # covered fields that differ from their record
    head: tuple[int, str] | None = None  # the last row's seq and seal, to be kept outside the database

    @property
    def intact(self) -> bool:
        return self.problem is None and not self.changes


def parse_head(text: str) -> tuple[int, str]:
    """Read a head as `audit-head` prints it: `1234:<64 hex digits>`."""
    seq, _, seal = text.strip().partition(":")
    if not seq.isdigit() or len(seal) != 64 or any(c not in "0123456789abcdef" for c in seal):
        raise ValueError("链尾的格式应为“序号:64位十六进制”，即 audit-head 打印的那一行")
    return int(seq), seal


def format_head(head: tuple[int, str]) -> str:
    return f"{head[0]}:{head[1]}"


_WALKED = [AuditEvent.__table__.c[name] for name in (
    "id", "seq", "at", "actor_id", "action", "object_type", "object_id", "summary", "data", "prev_hash", "hash",
    "scheme")]


def verify_chain(batch: int = 2000, head: tuple[int, str] | None = None) -> ChainReport:
    """Walk the audit log in chain order and name the first row that was changed, removed or inserted; with `head`
    (kept outside the database), check that the chain still reaches it; then compare the fields that move money
    with the values the chain last recorded for them.

    It may run while people work: everything is read in one snapshot (REPEATABLE READ on PostgreSQL, one read
    transaction on SQLite), so the chain, its head and the tables agree with each other."""
    key = audit_key()
    with _snapshot() as conn:
        report, recorded = _walk(conn, key, batch, head)
        # A broken chain (a row named) makes its records worthless; a head that differs does not break the links.
        if report.seq is None:
            report.changes = sealed_fields.compare(conn, recorded, batch)
    return report


def _walk(conn: sa.Connection, key: bytes, batch: int,
          head: tuple[int, str] | None) -> tuple[ChainReport, dict[str, dict[str, Any]]]:
    expected_seq, prev, rows, recorded = 1, GENESIS_HASH, 0, {}
    legacy_last, sealed_seen, at_head = None, False, None
    query = sa.select(*_WALKED).order_by(AuditEvent.seq)
    for row in conn.execution_options(yield_per=batch).execute(query):
        rows += 1
        if row.seq != expected_seq:
            return ChainReport(rows, f"第 {expected_seq} 条记录缺失（下一条是第 {row.seq} 条，id {row.id}）",
                               expected_seq), recorded
        if row.prev_hash != prev:
            return ChainReport(rows, f"第 {row.seq} 条记录（id {row.id}）与前一条接不上：前一条被改动或删除", row.seq), recorded
        if row.scheme == LEGACY_SCHEME and sealed_seen:
            return ChainReport(rows, f"第 {row.seq} 条记录（id {row.id}）自称按启用密钥前的旧算法封存，但它在启用密钥之后："
                                     "疑为改写后冒充旧记录", row.seq), recorded
        if row.scheme != LEGACY_SCHEME and not sealed_seen and legacy_last is not None and (
                row.action != REKEY_ACTION or (row.data or {}).get("legacy_through") != legacy_last):
            return ChainReport(rows, f"第 1 至 {legacy_last} 条按旧算法封存，其后的第 {row.seq} 条却不是启用密钥时的"
                                     "切换记录：旧记录疑为伪造", row.seq), recorded
        if event_hash(row, key) != row.hash:
            return ChainReport(rows, f"第 {row.seq} 条记录（id {row.id}）的内容被改动", row.seq), recorded
        if row.scheme == LEGACY_SCHEME:
            legacy_last = row.seq
        else:
            sealed_seen = True
            if row.action == sealed_fields.VALUES_ACTION:
                sealed_fields.take_record(recorded, row.object_type, row.data)
        if head is not None and row.seq == head[0]:
            at_head = row.hash
        prev, expected_seq = row.hash, expected_seq + 1
    last = expected_seq - 1
    report = ChainReport(rows, head=(last, prev) if last else None)
    if legacy_last is not None and not sealed_seen:
        report.problem, report.seq = (f"第 1 至 {legacy_last} 条全部按启用密钥前的旧算法封存，没有启用密钥时的切换记录："
                                      "整个审计日志疑被改写", 1)
        return report, recorded
    stored = conn.execute(sa.select(AuditChainHead.seq, AuditChainHead.last_hash)
                          .where(AuditChainHead.id == 1)).one_or_none() or (0, GENESIS_HASH)
    if last < stored[0] or (last == stored[0] and prev != stored[1]):
        report.problem, report.seq = f"链尾应为第 {stored[0]} 条，实际只到第 {last} 条：最新的记录被删除或改动", last + 1
    elif last > stored[0]:
        report.problem, report.seq = (f"第 {stored[0] + 1} 条及以后的记录不在链上（链尾是第 {stored[0]} 条）：疑为插入",
                                      stored[0] + 1)
    elif head is not None and at_head is None:
        report.problem = (f"库外保存的链尾是第 {head[0]} 条，库中只到第 {last} 条："
                          "最新的记录连同链尾一起被删除，或数据库被换成了更早的副本")
    elif head is not None and at_head != head[1]:
        report.problem = (f"第 {head[0]} 条记录的封存值与库外保存的链尾不符："
                          "该条或更早的记录被改写，或数据库被整体替换")
    return report, recorded


@contextmanager
def _snapshot() -> Iterator[sa.Connection]:
    """A connection of its own whose reads all see one moment of the database; ended with a rollback."""
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        conn.begin()
        if conn.dialect.name == "sqlite":
            # pysqlite sends no BEGIN before a SELECT, so each would see its own moment; this one holds the read
            # lock (writers wait, within the busy timeout) until the rollback below.
            dbapi_connection = conn.connection.dbapi_connection
            if dbapi_connection.isolation_level is not None and not dbapi_connection.in_transaction:
                dbapi_connection.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.rollback()
