"""audit records of the fields that gate a payment: batch state and approver, item state and payee check, reversals

domain/sealed_fields.py now also records a batch's state, approver and approval time, a fund item's state and who
checked its payee and when, and a payment's batch and the payment it reverses: set in the database, they would make
the app pay (a batch set to approved, a payee set to checked). This upgrade records the values they have now, sealed
with AUDIT_KEY like every audit row.

The fields that were recorded already keep their records: the new ones are added beside them (an `extend` event,
domain.sealed_fields.take_record), only for rows that have a record, so a money field changed by SQL before this
upgrade still shows, and a row never recorded stays so. The batches had no record at all: they get a baseline. The
fields are listed here as they are at this revision, so that a later change of the list does not change what this
upgrade did.

The downgrade leaves the rows: the audit log is append-only, and the older code reads an `extend` event's rows as
records of those fields alone (verify-audit then names the older fields of those rows as not recorded).

Revision ID: d6f8a0c2e4b6
Revises: 2963de004917
Create Date: 2026-12-05
"""
from types import SimpleNamespace

import sqlalchemy as sa
from alembic import op
from flask import current_app

from domain.audit import event_hash
from domain.sealed_fields import VALUES_ACTION, baseline
from models import GENESIS_HASH
from models.audit import HMAC_SCHEME
from models.base import UTCDateTime, utcnow

revision = 'd6f8a0c2e4b6'
down_revision = '2963de004917'
branch_labels = None
depends_on = None

_events = sa.table(
    "audit_events", sa.column("id", sa.Integer), sa.column("seq", sa.Integer), sa.column("at", UTCDateTime()),
    sa.column("actor_id", sa.Integer), sa.column("action", sa.String), sa.column("object_type", sa.String),
    sa.column("object_id", sa.Integer), sa.column("summary", sa.String), sa.column("data", sa.JSON),
    sa.column("prev_hash", sa.String), sa.column("hash", sa.String), sa.column("scheme", sa.SmallInteger),
)
_head = sa.table("audit_chain_head", sa.column("id", sa.Integer), sa.column("seq", sa.Integer),
                 sa.column("last_hash", sa.String))
# (table, the fields added, whether the table had a record before)
_ADDED = [
    (sa.table("fund_items", sa.column("id", sa.Integer), sa.column("state", sa.String),
              sa.column("payee_checked_by_id", sa.Integer), sa.column("payee_checked_at", UTCDateTime())),
     ("state", "payee_checked_by_id", "payee_checked_at"), True),
    (sa.table("fund_payments", sa.column("id", sa.Integer), sa.column("batch_id", sa.Integer),
              sa.column("reverses_id", sa.Integer)),
     ("batch_id", "reverses_id"), True),
    (sa.table("disbursement_batches", sa.column("id", sa.Integer), sa.column("state", sa.String),
              sa.column("approved_by_id", sa.Integer), sa.column("approved_at", UTCDateTime())),
     ("state", "approved_by_id", "approved_at"), False),
]
_LABELS = {"fund_items": "启动经费", "fund_payments": "拨付记录", "disbursement_batches": "拨付批次"}


def upgrade():
    conn, key = op.get_bind(), current_app.config["AUDIT_KEY"].encode()
    last = conn.execute(sa.select(_events.c.seq, _events.c.hash).order_by(_events.c.seq.desc()).limit(1)).first()
    seq, prev = (last.seq, last.hash) if last else (0, GENESIS_HASH)
    written = False
    for table, fields, extend in _ADDED:
        data = baseline(conn, table, fields)
        if not data["rows"]:
            continue
        if extend:
            data = {"rows": data["rows"], "extend": True, "fields": list(fields)}
        seq += 1
        row = SimpleNamespace(seq=seq, at=utcnow(), actor_id=None, action=VALUES_ACTION, object_type=table.name,
                              object_id=None, summary=f"升级时记录{_LABELS[table.name]}的拨付条件字段（{len(data['rows'])} 行）",
                              data=data, prev_hash=prev, scheme=HMAC_SCHEME)
        prev = event_hash(row, key)
        conn.execute(sa.insert(_events).values(hash=prev, **vars(row)))
        written = True
    if written and conn.execute(sa.update(_head).where(_head.c.id == 1).values(seq=seq, last_hash=prev)).rowcount == 0:
        conn.execute(sa.insert(_head).values(id=1, seq=seq, last_hash=prev))


def downgrade():
    pass
