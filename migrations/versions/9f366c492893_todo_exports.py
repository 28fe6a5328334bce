"""todo exports: 应建未建 and 应联未联 written by the job queue, downloaded by the asker (issue 34)

At 110,000 organisations the 应建未建 export (31,350 rows) took 8-27 s inside a web request; it is now a task,
and this table holds its filters, progress and file until it is deleted a day later.

Revision ID: 9f366c492893
Revises: 485758f8597d
Create Date: 2026-12-05 16:18:10.653870

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9f366c492893'
down_revision = '485758f8597d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('todo_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('scope_unit_id', sa.Integer(), nullable=True),
    sa.Column('list', sa.String(length=10), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('q', sa.String(length=100), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='export_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('processed_rows', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=True),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(status = 'done') = (file_id IS NOT NULL)", name=op.f('ck_todo_exports_file_when_done')),
    sa.CheckConstraint("list IN ('build', 'join')", name=op.f('ck_todo_exports_list_known')),
    sa.CheckConstraint('total_rows >= 0 AND processed_rows >= 0', name=op.f('ck_todo_exports_row_counts')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_todo_exports_created_by_id_users')),
    sa.ForeignKeyConstraint(['file_id'], ['stored_files.id'], name=op.f('fk_todo_exports_file_id_stored_files')),
    sa.ForeignKeyConstraint(['scope_unit_id'], ['units.id'], name=op.f('fk_todo_exports_scope_unit_id_units')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_todo_exports_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_todo_exports'))
    )
    with op.batch_alter_table('todo_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_todo_exports_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_todo_exports_created_by_id'), ['created_by_id'], unique=False)



def downgrade():
    with op.batch_alter_table('todo_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_todo_exports_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_todo_exports_created_at'))

    op.drop_table('todo_exports')
