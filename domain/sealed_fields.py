"""The fields that move money (资金关键字段), recorded in the audit chain whenever the app changes them.

A fund item's amount, payee and batch, and a payment's item, kind, amount, voucher and date are what an insider
would change to send money elsewhere. The audit chain is sealed with a key the database does not hold, so the values
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

A statement on the raw connection (not through the session's ORM) escapes both; verify-audit then reports its
change like anybody else's. Rows written before this existed get a baseline from the migration that brought it
(migrations/versions/b8d0f2a4c6e8): their values at the upgrade are taken as they were, which is all anyone can say
of them. A row with no record at all is reported as never recorded, not accepted.
"""
import enum
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from models import CENT, FundItem, FundPayment

# model -> the columns recorded. A column added here later has no record in older events; verify-audit then says so
# for each row until the app next changes it (or a migration records a baseline, as b8d0f2a4c6e8 did).
COVERED: dict[type, tuple[str, ...]] = {
    FundItem: ("amount", "account_name", "bank_name", "account_number", "batch_id"),
    FundPayment: ("fund_item_id", "kind", "amount", "voucher_number", "paid_on"),
}
TABLE_LABELS = {"fund_items": "启动经费", "fund_payments": "拨付记录"}
FIELD_LABELS = {
    "amount": "金额", "account_name": "开户名", "bank_name": "开户行", "account_number": "账号",
    "batch_id": "所在批次", "fund_item_id": "所付经费", "kind": "拨付或冲销", "voucher_number": "凭证号",
    "paid_on": "拨付日期",
}
VALUES_ACTION = "audit.values"
_TOUCHED, _BULK = "sealed_fields_touched", "sealed_fields_bulk"
_BY_TABLE = {model.__tablename__: (model, fields) for model, fields in COVERED.items()}


def plain(value: Any) -> Any:
    """A column's value as the JSON the record holds: money to the fen, dates in ISO form, enums by value."""
    if isinstance(value, Decimal):
        return str(value.quantize(CENT))
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
    touched = None
    for obj in session.new:
        if type(obj) in COVERED:
            touched = session.info.setdefault(_TOUCHED, {})
            touched[id(obj)] = obj
    for obj in list(session.dirty) + list(session.deleted):
        watched = _WATCHED.get(type(obj))
        if watched is None:
            continue
        state = sa.inspect(obj)
        if obj in session.deleted or any(state.attrs[name].history.has_changes() for name in watched):
            session.info.setdefault(_TOUCHED, {})[id(obj)] = obj


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_statements(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        # The statement's table, whether it was written against the model or its Table.
        covered = _BY_TABLE.get(getattr(getattr(state.statement, "table", None), "name", None))
        if covered is not None:
            state.session.info.setdefault(_BULK, set()).add(covered[0])


def has_pending(session: Session) -> bool:
    return bool(session.info.get(_TOUCHED) or session.info.get(_BULK))


def forget(session: Session) -> None:
    """The transaction ended (committed, or rolled back): nothing stays noted for the next one."""
    session.info.pop(_TOUCHED, None)
    session.info.pop(_BULK, None)


def pending_records(session: Session) -> Iterator[tuple[str, int | None, dict[str, Any]]]:
    """(table, the row's id if only one, the event's data) for each table whose covered rows this transaction
    changed. Read at commit, after the flush and the head's lock."""
    touched, bulk = session.info.pop(_TOUCHED, {}), session.info.pop(_BULK, set())
    by_table: dict[str, dict[str, Any]] = {}
    for obj in touched.values():
        if type(obj) in bulk:
            continue  # the whole table is recorded below
        state = sa.inspect(obj)
        if state.deleted or state.was_deleted:
            values = None
        elif state.persistent:
            values = {name: plain(getattr(obj, name)) for name in COVERED[type(obj)]}
        else:
            continue  # added and then rolled back with its savepoint: it never existed
        by_table.setdefault(obj.__tablename__, {})[str(obj.id)] = values
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
    """Fold one `audit.values` event into the last values recorded per table and row (the chain's order)."""
    if data.get("baseline"):
        recorded[table] = dict(data.get("rows", {}))
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
