"""registry_imports.status 'checking': the file is checked by a consumer of the job queue, not in the upload request
(issue 34)

Nothing to backfill: an import uploaded before this was checked in its request.

Revision ID: 6e491ba3be3f
Revises: 9f366c492893
Create Date: 2026-12-05 16:30:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '6e491ba3be3f'
down_revision = '9f366c492893'
branch_labels = None
depends_on = None

STATUSES = ('invalid', 'ready', 'running', 'done', 'failed')


def _in(values) -> str:
    return "status IN ({})".format(", ".join(f"'{v}'" for v in values))


def upgrade():
    with op.batch_alter_table('registry_imports', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_registry_imports_import_status'), type_='check')
        batch_op.alter_column('status', type_=sa.String(8), existing_type=sa.String(7), existing_nullable=False)
        batch_op.create_check_constraint('import_status', _in((*STATUSES, 'checking')))


def downgrade():
    op.execute("UPDATE registry_imports SET status = 'failed', message = '校验未完成' WHERE status = 'checking'")
    with op.batch_alter_table('registry_imports', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_registry_imports_import_status'), type_='check')
        batch_op.alter_column('status', type_=sa.String(7), existing_type=sa.String(8), existing_nullable=False)
        batch_op.create_check_constraint('import_status', _in(STATUSES))
