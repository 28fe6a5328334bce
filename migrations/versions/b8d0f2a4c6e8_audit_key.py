"""audit_events.scheme: the chain sealed with AUDIT_KEY from here on; the money fields' baseline

From this revision every audit row is sealed with an HMAC-SHA256 under AUDIT_KEY (domain/audit.py), which the
database never holds. The rows already there keep the plain SHA-256 they were sealed with (`scheme` 0) rather than
being re-sealed: re-sealing would bless whatever was done to them while anyone could recompute their hashes. The
upgrade closes them with one `audit.rekey` row sealed with the key, naming the last of them; verify-audit accepts
old-scheme rows only before that row, so from now on changing an old row breaks its link to the rekey row, and a
row (or a whole log) rewritten and marked as old-scheme is refused.

It also records, in rows sealed with the key, the current values of the fields that move money (domain/
sealed_fields.py): every fund item's amount, payee and batch, every payment's item, kind, amount, voucher and date.
These values are taken as they stand at the upgrade, which is all anyone can say of them; from here on a change made
outside the app shows against them. The fields are listed here as they are at this revision, so that a later change
of the list does not change what this upgrade did.

The upgrade needs AUDIT_KEY, as the app does. The downgrade re-seals the keyed rows with the plain SHA-256 (the
older code verifies nothing else) and drops the column.

Revision ID: b8d0f2a4c6e8
Revises: a1c3e5f7b9d2
Create Date: 2026-12-05
"""
from types import SimpleNamespace

import sqlalchemy as sa
from alembic import op
from flask import current_app

from domain.audit import REKEY_ACTION, event_hash
from domain.sealed_fields import VALUES_ACTION, baseline
from models import GENESIS_HASH
from models.audit import HMAC_SCHEME, LEGACY_SCHEME
from models.base import UTCDateTime, utcnow

revision = 'b8d0f2a4c6e8'
down_revision = 'a1c3e5f7b9d2'
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
_COVERED = {
    sa.table("fund_items", sa.column("id", sa.Integer), sa.column("amount", sa.Numeric(12, 2)),
             sa.column("account_name", sa.String), sa.column("bank_name", sa.String),
             sa.column("account_number", sa.String), sa.column("batch_id", sa.Integer)):
        ("amount", "account_name", "bank_name", "account_number", "batch_id"),
    sa.table("fund_payments", sa.column("id", sa.Integer), sa.column("fund_item_id", sa.Integer),
             sa.column("kind", sa.String), sa.column("amount", sa.Numeric(12, 2)),
             sa.column("voucher_number", sa.String), sa.column("paid_on", sa.Date)):
        ("fund_item_id", "kind", "amount", "voucher_number", "paid_on"),
}
_LABELS = {"fund_items": "启动经费", "fund_payments": "拨付记录"}


def upgrade():
    # Added with a default that marks the rows already there, then the default goes: the code writes the scheme of
    # every row itself, and a row inserted without one (by code older than this revision, say) is refused.
    op.add_column("audit_events", sa.Column("scheme", sa.SmallInteger(), nullable=False,
                                            server_default=sa.text(str(LEGACY_SCHEME))))
    _lift_append_only()
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.alter_column("scheme", existing_type=sa.SmallInteger(), server_default=None)
        batch_op.create_check_constraint("known_scheme", f"scheme IN ({LEGACY_SCHEME}, {HMAC_SCHEME})")
    _restore_append_only()
    _seal_from_here()


def downgrade():
    _lift_append_only()
    _reseal_without_key()
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.drop_constraint(op.f("ck_audit_events_known_scheme"), type_="check")
        batch_op.drop_column("scheme")
    _restore_append_only()


def _seal_from_here() -> None:
    """Append the rekey row (when there are old rows) and the money fields' baseline, sealed with the key."""
    conn, key = op.get_bind(), current_app.config["AUDIT_KEY"].encode()
    last = conn.execute(sa.select(_events.c.seq, _events.c.hash).order_by(_events.c.seq.desc()).limit(1)).first()
    seq, prev = (last.seq, last.hash) if last else (0, GENESIS_HASH)
    rows = []
    if last is not None:
        rows.append((REKEY_ACTION, "audit_events", f"审计日志自此以密钥封存；第 1 至 {seq} 条为启用密钥前的记录",
                     {"legacy_through": seq}))
    for table, fields in _COVERED.items():
        values = baseline(conn, table, fields)
        if values["rows"]:
            rows.append((VALUES_ACTION, table.name, f"升级时记录{_LABELS[table.name]}的资金字段（{len(values['rows'])} 行）",
                         values))
    for action, object_type, summary, data in rows:
        seq += 1
        row = SimpleNamespace(seq=seq, at=utcnow(), actor_id=None, action=action, object_type=object_type,
                              object_id=None, summary=summary, data=data, prev_hash=prev, scheme=HMAC_SCHEME)
        prev = event_hash(row, key)
        conn.execute(sa.insert(_events).values(hash=prev, **vars(row)))
    if rows:
        _set_head(conn, seq, prev)


def _reseal_without_key() -> None:
    conn = op.get_bind()
    prev, resealing = GENESIS_HASH, False
    for row in conn.execute(sa.select(_events).order_by(_events.c.seq)).mappings().all():
        resealing = resealing or row["scheme"] != LEGACY_SCHEME
        if resealing:
            old = SimpleNamespace(**{**row, "prev_hash": prev, "scheme": LEGACY_SCHEME})
            conn.execute(sa.update(_events).where(_events.c.id == row["id"])
                         .values(prev_hash=prev, hash=event_hash(old), scheme=LEGACY_SCHEME))
            prev = event_hash(old)
        else:
            prev = row["hash"]
    if resealing:
        _set_head(conn, row["seq"], prev)


def _set_head(conn: sa.Connection, seq: int, last_hash: str) -> None:
    if conn.execute(sa.update(_head).where(_head.c.id == 1).values(seq=seq, last_hash=last_hash)).rowcount == 0:
        conn.execute(sa.insert(_head).values(id=1, seq=seq, last_hash=last_hash))


# SQLite's batch mode rebuilds the table, which drops its triggers; PostgreSQL's can be switched off and on.
def _lift_append_only():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")


def _restore_append_only():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
            )
