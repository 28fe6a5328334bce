"""disbursement_batches.sheet_data/sheet_error: the sheet as approved, rendered and filed by a task

Revision ID: 70a57ee92ef1
Revises: 7f7b9b4f9176
Create Date: 2026-12-05 09:48:35.434232

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '70a57ee92ef1'
down_revision = '7f7b9b4f9176'
branch_labels = None
depends_on = None


def upgrade():
    # No backfill: a batch approved before has its sheet filed already (or, approved before sheets were filed, has it
    # rendered on download); sheet_data NULL says so.
    with op.batch_alter_table('disbursement_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sheet_data', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('sheet_error', sa.String(length=300), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('disbursement_batches', schema=None) as batch_op:
        batch_op.drop_column('sheet_error')
        batch_op.drop_column('sheet_data')
