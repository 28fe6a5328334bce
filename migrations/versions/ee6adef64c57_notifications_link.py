"""notifications.link: where a notice asks its reader to go

A notice about a disbursement batch or a fund has no application card to open; it carries the path of the page
where its reader acts (issue 29, every request for action is a notice). Empty for the notices before it.

Revision ID: ee6adef64c57
Revises: 5b7d9f1a3c2e
Create Date: 2026-12-05 04:31:26

"""
import sqlalchemy as sa
from alembic import op

revision = 'ee6adef64c57'
down_revision = '5b7d9f1a3c2e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link', sa.String(length=200), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('link')
