"""registry_imports.differences: a self-registered organisation's fields the import overwrote

A registry import that meets an organisation which registered itself merges into it, keeping its verification and
its contact, and lists each field where the file and the registration differed, for the unit to settle.

Revision ID: 3041cb016592
Revises: d6f8a0c2e4b6
Create Date: 2026-12-05 01:37:32.742445

"""
import sqlalchemy as sa
from alembic import op

revision = '3041cb016592'
down_revision = 'd6f8a0c2e4b6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registry_imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('differences', sa.JSON(), server_default='[]', nullable=False))


def downgrade():
    with op.batch_alter_table('registry_imports', schema=None) as batch_op:
        batch_op.drop_column('differences')
