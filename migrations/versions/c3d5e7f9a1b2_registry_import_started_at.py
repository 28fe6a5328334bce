"""registry_imports.started_at: when the import was confirmed

A page that finds an import "running" with no worker holding it marks it interrupted; for the first moments
after confirming, the worker may not have taken its lock yet, and this tells how long it has been.

Revision ID: c3d5e7f9a1b2
Revises: a7c4e2f9b1d3
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = 'c3d5e7f9a1b2'
down_revision = 'a7c4e2f9b1d3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registry_imports') as batch_op:
        batch_op.add_column(sa.Column('started_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('registry_imports') as batch_op:
        batch_op.drop_column('started_at')
