"""disbursement_batches.sheet_file_id: the PDF sheet filed when the zone approves a batch

The sheet finance prints, signs and files is rendered once, at the approval, and kept (as the 批复 is): every
later download is that file, byte for byte, whatever happens afterwards to the organisations' names in the
registry, and none of them waits 1.5-2.5 s for a 200-row render. Batches approved before this have none; their
sheet is rendered when it is downloaded, as before.

Revision ID: a1c3e5f7b9d2
Revises: e5f7a9b1c3d5
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = 'a1c3e5f7b9d2'
down_revision = 'e5f7a9b1c3d5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('disbursement_batches') as batch_op:
        batch_op.add_column(sa.Column('sheet_file_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_disbursement_batches_sheet_file_id_stored_files'), 'stored_files',
                                    ['sheet_file_id'], ['id'])
        batch_op.create_unique_constraint(op.f('uq_disbursement_batches_sheet_file_id'), ['sheet_file_id'])
        batch_op.create_check_constraint('sheet_filed_once_approved',
                                         "sheet_file_id IS NULL OR state IN ('approved', 'paid')")


def downgrade():
    with op.batch_alter_table('disbursement_batches') as batch_op:
        batch_op.drop_constraint(op.f('ck_disbursement_batches_sheet_filed_once_approved'), type_='check')
        batch_op.drop_constraint(op.f('uq_disbursement_batches_sheet_file_id'), type_='unique')
        batch_op.drop_constraint(op.f('fk_disbursement_batches_sheet_file_id_stored_files'), type_='foreignkey')
        batch_op.drop_column('sheet_file_id')
