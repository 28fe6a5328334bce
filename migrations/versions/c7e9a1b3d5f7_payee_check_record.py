"""fund_items: what finance's payee check compared, and a payee sent back to the applicant (退回更正)

A check of a payee now records its method (against the bank document, or the account number typed twice) and the
document it used; finance can send a wrong payee back with a reason, and until it is checked again the item joins no
batch. The method, the document and the time it was sent back gate a payment, so domain/sealed_fields.py records them
with the other money fields. Checks made before this upgrade have no method on record: they are marked
`unrecorded`, and the three fields' values at the upgrade are recorded beside each row's earlier record (an `extend`
event, as d6f8a0c2e4b6 did), sealed with AUDIT_KEY; rows never recorded stay so.

The downgrade drops the columns and leaves the audit rows (the log is append-only).

Revision ID: c7e9a1b3d5f7
Revises: ee6adef64c57
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

revision = 'c7e9a1b3d5f7'
down_revision = 'ee6adef64c57'
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
_items = sa.table("fund_items", sa.column("id", sa.Integer), sa.column("payee_checked_at", UTCDateTime()),
                  sa.column("payee_check_method", sa.String), sa.column("payee_document_id", sa.Integer),
                  sa.column("payee_returned_at", UTCDateTime()))
# The fields added, as they are at this revision.
_FIELDS = ("payee_check_method", "payee_document_id", "payee_returned_at")


def upgrade():
    with op.batch_alter_table('fund_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payee_check_method', sa.Enum(
            'document', 'retyped', 'unrecorded', name='payee_check_method', native_enum=False,
            create_constraint=True), nullable=True))
        batch_op.add_column(sa.Column('payee_document_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('payee_entered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('payee_returned_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('payee_returned_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('payee_return_reason', sa.String(length=300), server_default='',
                                      nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_fund_items_payee_returned_by_id_users'), 'users',
                                    ['payee_returned_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_fund_items_payee_document_id_stored_files'), 'stored_files',
                                    ['payee_document_id'], ['id'])
    op.execute(sa.update(_items).where(_items.c.payee_checked_at.is_not(None)).values(payee_check_method="unrecorded"))
    with op.batch_alter_table('fund_items', schema=None) as batch_op:
        batch_op.create_check_constraint('payee_check_has_method',
                                         "(payee_checked_at IS NULL) = (payee_check_method IS NULL)")
        batch_op.create_check_constraint('returned_payee_unchecked',
                                         "payee_returned_at IS NULL OR payee_checked_at IS NULL")
        batch_op.create_check_constraint('returned_payee_not_in_batch',
                                         "payee_returned_at IS NULL OR batch_id IS NULL")
    _record_added_fields()


def _record_added_fields():
    conn, key = op.get_bind(), current_app.config["AUDIT_KEY"].encode()
    data = baseline(conn, _items, _FIELDS)
    if not data["rows"]:
        return
    last = conn.execute(sa.select(_events.c.seq, _events.c.hash).order_by(_events.c.seq.desc()).limit(1)).first()
    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS_HASH)
    row = SimpleNamespace(seq=seq, at=utcnow(), actor_id=None, action=VALUES_ACTION, object_type="fund_items",
                          object_id=None, summary=f"升级时记录启动经费的收款账户核验字段（{len(data['rows'])} 行）",
                          data={"rows": data["rows"], "extend": True, "fields": list(_FIELDS)}, prev_hash=prev,
                          scheme=HMAC_SCHEME)
    digest = event_hash(row, key)
    conn.execute(sa.insert(_events).values(hash=digest, **vars(row)))
    if conn.execute(sa.update(_head).where(_head.c.id == 1).values(seq=seq, last_hash=digest)).rowcount == 0:
        conn.execute(sa.insert(_head).values(id=1, seq=seq, last_hash=digest))


def downgrade():
    with op.batch_alter_table('fund_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_fund_items_returned_payee_not_in_batch'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_fund_items_returned_payee_unchecked'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_fund_items_payee_check_has_method'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_fund_items_payee_check_method'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_fund_items_payee_document_id_stored_files'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_fund_items_payee_returned_by_id_users'), type_='foreignkey')
        batch_op.drop_column('payee_return_reason')
        batch_op.drop_column('payee_returned_by_id')
        batch_op.drop_column('payee_returned_at')
        batch_op.drop_column('payee_entered_at')
        batch_op.drop_column('payee_document_id')
        batch_op.drop_column('payee_check_method')
