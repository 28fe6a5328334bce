"""job_runs and registry_imports.attempts/heartbeat_at: the job queue's record, the import's heartbeat (issue 31)

The registry import's commit runs as a task on the job queue: each consumer that takes it up counts an attempt and
beats heartbeat_at; job_runs records what each consumer did with each task for the admin's queue page.

Revision ID: 54fea4f01cbf
Revises: d4f6a8c0e2b4
Create Date: 2026-12-05 06:27:57.805001

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '54fea4f01cbf'
down_revision = 'd4f6a8c0e2b4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('running', 'done', 'failed', 'retried', name='run_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('error', sa.String(length=1000), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('consumer', sa.String(length=200), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
    sa.UniqueConstraint('task_id', name=op.f('uq_job_runs_task_id'))
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_runs_status'), ['status'], unique=False)

    with op.batch_alter_table('registry_imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))



def downgrade():
    with op.batch_alter_table('registry_imports', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('attempts')

    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_runs_status'))

    op.drop_table('job_runs')
