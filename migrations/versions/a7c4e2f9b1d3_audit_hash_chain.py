"""audit hash chain: audit_events.seq/prev_hash/hash and the chain head

Each audit row carries the hash of the previous one, so `flask --app app verify-audit` can name the first row
that was changed. Existing rows are chained in id order here (the append-only triggers are lifted for that
one UPDATE and put back).

Revision ID: a7c4e2f9b1d3
Revises: f3b1c2d4e5a6
Create Date: 2026-11-28
"""
from types import SimpleNamespace

import sqlalchemy as sa
from alembic import op

from domain.audit import event_hash
from models import GENESIS_HASH
from models.audit import LEGACY_SCHEME
from models.base import UTCDateTime

revision = 'a7c4e2f9b1d3'
down_revision = 'f3b1c2d4e5a6'
branch_labels = None
depends_on = None

_events = sa.table(
    "audit_events", sa.column("id", sa.Integer), sa.column("seq", sa.Integer), sa.column("at", UTCDateTime()),
    sa.column("actor_id", sa.Integer), sa.column("action", sa.String), sa.column("object_type", sa.String),
    sa.column("object_id", sa.Integer), sa.column("summary", sa.String), sa.column("data", sa.JSON),
    sa.column("prev_hash", sa.String), sa.column("hash", sa.String),
)


def upgrade():
    op.create_table(
        'audit_chain_head',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('last_hash', sa.String(length=64), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_audit_chain_head_single_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head')),
    )
    for name in ("seq", "prev_hash", "hash"):
        op.add_column("audit_events", sa.Column(name, sa.Integer() if name == "seq" else sa.String(64)))

    _lift_append_only()
    seq, prev = _chain_existing_rows()
    op.execute(sa.text("INSERT INTO audit_chain_head (id, seq, last_hash) VALUES (1, :seq, :hash)")
               .bindparams(seq=seq, hash=prev))
    with op.batch_alter_table('audit_events') as batch_op:
        batch_op.alter_column('seq', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(64), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_events_seq'), ['seq'])
    _restore_append_only()


def downgrade():
    _lift_append_only()
    with op.batch_alter_table('audit_events') as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_events_seq'), type_='unique')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')
    _restore_append_only()
    op.drop_table('audit_chain_head')


def _chain_existing_rows() -> tuple[int, str]:
    conn = op.get_bind()
    seq, prev = 0, GENESIS_HASH
    for row in conn.execute(sa.select(_events).order_by(_events.c.id)).mappings():
        seq += 1
        # Sealed as the chain was then, with the plain SHA-256 (b8d0f2a4c6e8 brought the key and its scheme).
        fields = SimpleNamespace(**{**row, "seq": seq, "prev_hash": prev, "summary": row["summary"] or "",
                                    "data": row["data"] or {}, "scheme": LEGACY_SCHEME})
        prev = event_hash(fields)
        conn.execute(sa.update(_events).where(_events.c.id == row["id"])
                     .values(seq=seq, prev_hash=fields.prev_hash, hash=prev))
    return seq, prev


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
