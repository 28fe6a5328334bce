"""application_events.snapshot: the application as it was when an official returned it

A resubmitted application shows its reviewer what changed since the version they returned (issue 29, reviewers see
what changed): the fields, the member rows and the attachments (by name and file fingerprint) are kept as JSON on
the return's history row. Empty for every other step and for the returns before it.

Revision ID: d4f6a8c0e2b4
Revises: c7e9a1b3d5f7
Create Date: 2026-12-05 06:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd4f6a8c0e2b4'
down_revision = 'c7e9a1b3d5f7'
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not batch mode: SQLite's batch mode rebuilds the table and would drop its append-only triggers
# (SQLite adds and drops a column in place since 3.35).
def upgrade():
    op.add_column('application_events', sa.Column('snapshot', sa.JSON(), nullable=True))


def downgrade():
    op.drop_column('application_events', 'snapshot')
