"""applications.ix_applications_guided: the instructors' loads, per instructor and unit, from an index (issue 34)

At 110,000 organisations the zone's instructors page counted the 26,502 current assignments joined to their
applications (50 ms on PostgreSQL). An instructor's organisations are the guided applications whose
instructor_id is theirs; an index on (state, instructor_id, unit_id) counts them without reading the table.

Revision ID: 4c6e8a0b2d41
Revises: b29c439dde95
Create Date: 2026-12-05
"""
from alembic import op

revision = '4c6e8a0b2d41'
down_revision = 'b29c439dde95'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_applications_guided', 'applications', ['state', 'instructor_id', 'unit_id'])


def downgrade():
    op.drop_index('ix_applications_guided', table_name='applications')
