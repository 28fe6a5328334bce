"""The fields that move money or gate a payment (资金关键字段), recorded in the audit chain whenever the app changes
them; and the app refuses to change a row whose fields no longer match their record.

A fund item's amount, payee and batch, and a payment's item, kind, amount, voucher and date are what an insider
would change to send money elsewhere; a batch's state and approver, an item's state and its payee check, and a
payment's batch and the payment it reverses are what would make the app pay (an item in a batch set to approved in
the database is paid like any other). The audit chain is sealed with a key the database does not hold, so the values
it records cannot be rewritten to match; `verify-audit` compares every covered row's current values with the last
ones recorded for it and names each table, row and field that differs. A direct SQL UPDATE, INSERT or DELETE shows.

Recorded from one place, so that no verb can forget it:

- a before_flush listener notes every covered row that a flush creates, changes in a covered field (or through the
  relationship that sets it: `item.batch = batch` moves `batch_id`), or deletes;
- an ORM bulk statement on a covered table (`session.execute(sa.insert(FundItem), rows)`, as the bench's seeder
  does) names no rows, so it marks the whole table instead;
- at commit, after the chain's head is locked (so no other transaction's record of the same row can come between
  what is read and where it is sealed), domain.audit appends one `audit.values` event per table: the noted rows'
  values as committed, or for a marked table all its rows (a baseline, which replaces what was recorded before).

Recording what a row holds would also seal a forgery: a payee changed by SQL, then any verb touching the item, and
the record would say the forged account was the app's. So before a row is written, its values as the session loaded
them (before this transaction's change) must match the last record: the same listener checks every covered row a
flush changes in any column (a version bump included: a verb that reads an item to decide and then bumps it acts on
it), a bulk statement first checks its whole table, and a new row's id must carry no record (SQLite reuses the id of
a row deleted last). A row that fails is refused with a DomainError and logged; commit checks all of them once more
after the head's lock. The last records come from the chain itself (each event's seal checked), kept per process and
read on from where they were left (`_Records`), so a batch of 200 items costs one query, not 200.

A statement on the raw connection (not through the session's ORM) escapes the recording; verify-audit then reports its
change like anybody else's, and the app refuses to build on it. Rows written before this existed get a baseline from
the migrations that brought the fields (b8d0f2a4c6e8, then d6f8a0c2e4b6 and c7e9a1b3d5f7 for the fields added later,
recorded beside the earlier records rather than over them): their values at the upgrade are taken as they were, which
is all anyone can say of them. A row with no record at all is reported as never recorded, not accepted.
"""
import enum
import logging
import threading
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import NEVER_SET, NO_VALUE

from models import CENT, AuditEvent, DisbursementBatch, FundItem, FundPayment
from models.audit import HMAC_SCHEME

from . import DomainError, StaleError
from .seal import audit_key, event_hash

log = logging.getLogger(__name__)

# model -> the columns recorded. A column added here later has no record in older events: a migration records the
# values it has at the upgrade beside the earlier records (an `extend` event, as d6f8a0c2e4b6 did); without one,
# verify-audit names each row's field as not yet recorded and the app refuses to change the row.
COVERED: dict[type, tuple[str, ...]] = {
    FundItem: ("amount", "account_name", "bank_name", "account_number", "batch_id", "state", "payee_checked_by_id",
               "payee_checked_at", "payee_check_method", "payee_document_id", "payee_returned_at"),
    FundPayment: ("fund_item_id", "kind", "amount", "voucher_number", "paid_on", "batch_id", "reverses_id"),
    DisbursementBatch: ("state", "approved_by_id", "approved_at"),
}
TABLE_LABELS = {"fund_items": "启动经费", "fund_payments": "拨付记录", "disbursement_batches": "拨付批次"}
FIELD_LABELS = {
    "amount": "金额", "account_name": "开户名", "bank_name": "开户行", "account_number": "账号",
    "batch_id": "所在批次", "fund_item_id": "所付经费", "kind": "拨付或冲销", "voucher_number": "凭证号",
    "paid_on": "拨付日期", "state": "状态", "payee_checked_by_id": "收款账户核验人",
    "payee_checked_at": "收款账户核验时间", "reverses_id": "所冲销的拨付", "approved_by_id": "审批人",
    "approved_at": "审批时间", "payee_check_method": "收款账户核验方式", "payee_document_id": "核验所依据的银行凭证",
    "payee_returned_at": "收款账户退回时间",
}
VALUES_ACTION = "audit.values"
_TOUCHED, _BULK, _NEW, _LOADED, _FRESH = (
    "sealed_fields_touched", "sealed_fields_bulk", "sealed_fields_new", "sealed_fields_loaded", "sealed_fields_fresh")
_BY_TABLE = {model.__tablename__: (model, fields) for model, fields in COVERED.items()}


def plain(value: Any) -> Any:
    """A column's value as the JSON the record holds: money to the fen, dates in ISO form (times in UTC, to the
    microsecond), enums by value."""
    if isinstance(value, Decimal):
        return str(value.quantize(CENT))
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _watched(model: type, fields: tuple[str, ...]) -> tuple[str, ...]:
    """The attributes whose change moves a covered column: the columns, and the relationships that set them."""
    mapper = sa.inspect(model)
    relationships = [r.key for r in mapper.relationships
                     if not r.viewonly and {c.key for c in r.local_columns} & set(fields)]
    return fields + tuple(relationships)


_WATCHED = {model: _watched(model, fields) for model, fields in COVERED.items()}


@event.listens_for(Session, "before_flush")
def _note_covered_rows(session: Session, _context, _instances) -> None:
    for obj in session.new:
        if type(obj) in COVERED:
            session.info.setdefault(_TOUCHED, {})[id(obj)] = obj
            session.info.setdefault(_NEW, set()).add(id(obj))
    loaded, bulk = session.info.setdefault(_LOADED, {}), session.info.get(_BULK, set())
    new = session.info.get(_NEW, set())
    first_seen: dict[tuple[str, int], dict[str, Any]] = {}
    versions: dict[tuple[str, int], int | None] = {}  # the optimistic lock's version as loaded
    for obj in list(session.dirty) + list(session.deleted):
        watched = _WATCHED.get(type(obj))
        if watched is None:
            continue
        state = sa.inspect(obj)
        if obj in session.deleted or any(state.attrs[name].history.has_changes() for name in watched):
            session.info.setdefault(_TOUCHED, {})[id(obj)] = obj
        key = (obj.__tablename__, state.identity[0])
        # A row this transaction created has no record yet (commit writes it) and nothing to check.
        if key not in loaded and type(obj) not in bulk and id(obj) not in new:
            first_seen[key] = _as_loaded(state, COVERED[type(obj)])
            versions[key] = state.committed_state.get("version", state.dict.get("version"))
    if first_seen:
        _read_unloaded(session, first_seen)
        loaded.update(first_seen)
        _refuse_if_unrecorded(session, first_seen, refresh=not session.info.get(_FRESH), versions=versions)


def _as_loaded(state, fields: tuple[str, ...]) -> dict[str, Any]:
    """The covered values the session loaded for a row, before this flush's changes; _UNREAD where it has none."""
    values = {}
    for name in fields:
        if name in state.committed_state:  # changed since loaded: the loaded value is kept here
            value = state.committed_state[name]
            values[name] = _UNREAD if value is NO_VALUE or value is NEVER_SET else plain(value)
        else:
            values[name] = plain(state.dict[name]) if name in state.dict else _UNREAD
    return values


def _read_unloaded(session: Session, rows: dict[tuple[str, int], dict[str, Any]]) -> None:
    """Fill the values the session never loaded (expired, then set without being read) from the database, which
    still holds them: a row is noted the first time a flush changes it. One query per table."""
    wanted: dict[str, list[int]] = {}
    for (table, row_id), values in rows.items():
        if _UNREAD in values.values():
            wanted.setdefault(table, []).append(row_id)
    for table_name, ids in wanted.items():
        model, fields = _BY_TABLE[table_name]
        table = model.__table__
        query = sa.select(table.c.id, *(table.c[f] for f in fields)).where(table.c.id.in_(ids))
        for row in session.connection().execute(query):
            values = rows[(table_name, row.id)]
            for f in fields:
                if values[f] is _UNREAD:
                    values[f] = plain(row._mapping[table.c[f]])


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_statements(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        # The statement's table, whether it was written against the model or its Table.
        covered = _BY_TABLE.get(getattr(getattr(state.statement, "table", None), "name", None))
        if covered is not None and covered[0] not in state.session.info.get(_BULK, set()):
            # The table's record is about to be replaced whole: every row in it must match its record first.
            _refuse_if_table_differs(state.session, covered[0])
            state.session.info.setdefault(_BULK, set()).add(covered[0])


def has_pending(session: Session) -> bool:
    return bool(session.info.get(_TOUCHED) or session.info.get(_BULK))


def forget(session: Session) -> None:
    """The transaction ended (committed, or rolled back): nothing stays noted for the next one."""
    for key in (_TOUCHED, _BULK, _NEW, _LOADED, _FRESH):
        session.info.pop(key, None)


def pending_records(session: Session) -> Iterator[tuple[str, int | None, dict[str, Any]]]:
    """(table, the row's id if only one, the event's data) for each table whose covered rows this transaction
    changed. Read at commit, after the flush and the head's lock; first every changed row is checked again against
    the last records as they are now, and a new row's id against any record (DomainError if one fails)."""
    touched, bulk = session.info.pop(_TOUCHED, {}), session.info.pop(_BULK, set())
    new, loaded = session.info.pop(_NEW, set()), session.info.pop(_LOADED, {})
    checks = {key: values for key, values in loaded.items() if _BY_TABLE[key[0]][0] not in bulk}
    by_table: dict[str, dict[str, Any]] = {}
    for obj in touched.values():
        if type(obj) in bulk:
            continue  # the whole table is recorded below
        state = sa.inspect(obj)
        if state.deleted or state.was_deleted:
            values = None
        elif state.persistent:
            values = {name: plain(getattr(obj, name)) for name in COVERED[type(obj)]}
            if id(obj) in new:
                checks[(obj.__tablename__, obj.id)] = None
        else:
            continue  # added and then rolled back with its savepoint: it never existed
        by_table.setdefault(obj.__tablename__, {})[str(obj.id)] = values
    if checks:
        _refuse_if_unrecorded(session, checks, refresh=True)
    for table, rows in by_table.items():
        yield table, int(next(iter(rows))) if len(rows) == 1 else None, {"rows": rows}
    for model in bulk:
        yield model.__tablename__, None, baseline(session.connection(), model.__table__, COVERED[model])


def baseline(conn: sa.Connection, table: sa.Table, fields: Iterable[str]) -> dict[str, Any]:
    """Every row's values of a covered table, as one record that replaces whatever was recorded for it before."""
    fields = tuple(fields)
    query = sa.select(table.c.id, *(table.c[f] for f in fields)).order_by(table.c.id)
    rows = {str(row.id): {f: plain(row._mapping[table.c[f]]) for f in fields} for row in conn.execute(query)}
    return {"rows": rows, "baseline": True}


def take_record(recorded: dict[str, dict[str, Any]], table: str, data: dict[str, Any]) -> None:
    """Fold one `audit.values` event into the last values recorded per table and row (the chain's order). An
    `extend` event (a migration adding fields) adds its fields to each row's record, and to no row without one."""
    if data.get("baseline"):
        recorded[table] = dict(data.get("rows", {}))
    elif data.get("extend"):
        rows = recorded.setdefault(table, {})
        for row_id, values in data.get("rows", {}).items():
            if rows.get(row_id) is not None:
                rows[row_id] = {**rows[row_id], **values}
    else:
        recorded.setdefault(table, {}).update(data.get("rows", {}))


def compare(conn: sa.Connection, recorded: dict[str, dict[str, Any]], batch: int = 2000) -> list[str]:
    """Every covered row's current values against the last ones recorded: one line per difference, naming the table,
    the row id and the field. One ordered read per table, in batches."""
    problems = []
    for table_name, (model, fields) in _BY_TABLE.items():
        table, seen = model.__table__, dict(recorded.get(table_name, {}))
        where = f"{table_name}（{TABLE_LABELS[table_name]}）"
        query = sa.select(table.c.id, *(table.c[f] for f in fields)).order_by(table.c.id)
        for row in conn.execution_options(yield_per=batch).execute(query):
            values = seen.pop(str(row.id), _NEVER)
            if values is _NEVER:
                problems.append(f"{where}第 {row.id} 行没有任何记录：不是经本系统写入的")
                continue
            if values is None:
                problems.append(f"{where}第 {row.id} 行已记录为删除，却仍在表中")
                continue
            for field in fields:
                now = plain(row._mapping[table.c[field]])
                label = f"{field}（{FIELD_LABELS[field]}）"
                if field not in values:
                    problems.append(f"{where}第 {row.id} 行的 {label}尚未纳入记录（现为 {now}）")
                elif values[field] != now:
                    problems.append(f"{where}第 {row.id} 行的 {label}被改动：记录为 {values[field]}，现为 {now}")
        problems.extend(f"{where}第 {row_id} 行已不在表中：被删除" for row_id, values in seen.items()
                        if values is not None)
    return problems


_NEVER = object()
_UNREAD = object()


class _Records:
    """The last values the chain recorded per table and row, as far as its `audit.values` event `seq` (sealed
    `hash`). Kept per app (each worker process has its own) and read on from there at each check: an event already
    read is never read again. If the event it stopped at is gone or different (the database was restored, or
    replaced), it reads the chain again from the start."""

    def __init__(self) -> None:
        self.seq, self.hash, self.tables = 0, "", {}
        self.lock = threading.Lock()


def _records() -> _Records:
    return current_app.extensions.setdefault("sealed_fields_records", _Records())


_EVENT_COLUMNS = [AuditEvent.__table__.c[name] for name in (
    "seq", "at", "actor_id", "action", "object_type", "object_id", "summary", "data", "prev_hash", "hash", "scheme")]


def _read_on(conn: sa.Connection, records: _Records) -> None:
    """Fold in the `audit.values` events sealed since records.seq, each one's seal checked (one query)."""
    key = audit_key()
    def since(seq: int) -> sa.Result:
        return conn.execute(sa.select(*_EVENT_COLUMNS).where(AuditEvent.action == VALUES_ACTION, AuditEvent.seq >= seq)
                            .order_by(AuditEvent.seq))

    rows = since(records.seq)
    if records.seq:
        first = rows.fetchone()  # the event read last time: still there, still the same?
        if first is None or first.seq != records.seq or first.hash != records.hash:
            rows.close()
            records.seq, records.hash, records.tables = 0, "", {}
            rows = since(0)
    for row in rows:
        if row.scheme != HMAC_SCHEME or event_hash(row, key) != row.hash:
            log.error("audit.values event %s fails its seal: fund writes refused until the audit log is checked",
                      row.seq)
            raise DomainError(f"审计日志第 {row.seq} 条（资金字段记录）校验失败：审计日志可能被篡改。"
                              "涉及资金的操作暂停执行，请联系系统管理员核查（flask verify-audit）")
        take_record(records.tables, row.object_type, row.data or {})
        records.seq, records.hash = row.seq, row.hash


def _differences(records: _Records, rows: dict[tuple[str, int], dict[str, Any] | None]) -> list[str]:
    """Each row whose values (None: a new row) differ from its last record, in words (for the log)."""
    problems = []
    for (table, row_id), values in rows.items():
        recorded = records.tables.get(table, {}).get(str(row_id), _NEVER)
        where = f"{table}（{TABLE_LABELS[table]}）第 {row_id} 行"
        if values is None:
            if recorded is not _NEVER and recorded is not None:
                problems.append(f"{where}是新写入的，但审计日志中已有这一行的记录：原有的行被删除后其编号被重用")
        elif recorded is _NEVER:
            problems.append(f"{where}在审计日志中没有任何记录")
        elif recorded is None:
            problems.append(f"{where}在审计日志中已记录为删除")
        else:
            problems.extend(f"{where}的 {field}（{FIELD_LABELS[field]}）为 {now}，审计记录为 {recorded.get(field, '（无）')}"
                            for field, now in values.items() if recorded.get(field, _NEVER) != now)
    return problems


def _refuse_if_unrecorded(session: Session, rows: dict[tuple[str, int], dict[str, Any] | None], refresh: bool,
                          versions: dict[tuple[str, int], int | None] | None = None) -> None:
    """Refuse (DomainError, logged) to write when any of these rows' values before this transaction differ from
    their last record: writing it would seal the difference as the app's own. The records are read on when asked,
    or when a row differs (another worker may have recorded it since).

    With `versions` (a flush's check, before its UPDATE carries the optimistic lock): a row that differs because
    the session read it before another request changed it, as its version in the database now says, is refused as
    stale (StaleError: the UPDATE would have been refused the same way), not as tampered with."""
    records = _records()
    with records.lock:
        if refresh:
            _read_on(session.connection(), records)
            session.info[_FRESH] = True
        problems = _differences(records, rows)
        if problems and not refresh:
            _read_on(session.connection(), records)
            problems = _differences(records, rows)
    if problems and versions and _moved_on(session, [key for key in rows if _differences(records, {key: rows[key]})],
                                           versions):
        raise StaleError("该事项刚刚被他人处理，本次操作未执行。请查看最新状态。")
    if problems:
        _refuse(problems)


def _moved_on(session: Session, keys: list[tuple[str, int]], versions: dict[tuple[str, int], int | None]) -> bool:
    """Whether any of these rows' version in the database is no longer the one the session loaded."""
    by_table: dict[str, list[int]] = {}
    for table, row_id in keys:
        if versions.get((table, row_id)) is not None:
            by_table.setdefault(table, []).append(row_id)
    for table_name, ids in by_table.items():
        table = _BY_TABLE[table_name][0].__table__
        for row_id, version in session.connection().execute(
                sa.select(table.c.id, table.c.version).where(table.c.id.in_(ids))):
            if version != versions[(table_name, row_id)]:
                return True
    return False


def _refuse_if_table_differs(session: Session, model: type) -> None:
    """Before a bulk statement replaces a table's record: every row of it, as it is, against its last record (the
    rows this transaction already changed were checked when it changed them)."""
    table, fields = model.__table__, COVERED[model]
    changed = {row_id for name, row_id in session.info.get(_LOADED, {}) if name == table.name}
    changed |= {obj.id for obj in session.info.get(_TOUCHED, {}).values()
                if type(obj) is model and id(obj) in session.info.get(_NEW, set())}
    query = sa.select(table.c.id, *(table.c[f] for f in fields)).order_by(table.c.id)
    conn = session.connection()
    records = _records()
    with records.lock:
        _read_on(conn, records)
        seen = dict(records.tables.get(table.name, {}))
        rows = {}
        for row in conn.execute(query):
            seen.pop(str(row.id), None)
            if row.id not in changed:
                rows[(table.name, row.id)] = {f: plain(row._mapping[table.c[f]]) for f in fields}
        problems = _differences(records, rows)
    problems.extend(f"{table.name}（{TABLE_LABELS[table.name]}）第 {row_id} 行有记录，却已不在表中"
                    for row_id, values in seen.items() if values is not None and int(row_id) not in changed)
    if problems:
        _refuse(problems)


def _refuse(problems: list[str]) -> None:
    log.error("write refused, covered rows differ from their audit record: %s", "; ".join(problems[:20]))
    tables = "、".join(dict.fromkeys(TABLE_LABELS[p.split("（", 1)[0]] for p in problems if "（" in p)) or "资金"
    raise DomainError(f"{tables}数据与审计记录不符，可能已被篡改，本次操作未执行。请联系系统管理员核查"
                      "（flask verify-audit）")
