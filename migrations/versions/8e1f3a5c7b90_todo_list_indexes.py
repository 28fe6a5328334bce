"""to-do list indexes: 应建未建 and 应联未联 in their order, holding only their rows (issue 34)

At 110,000 organisations the 应建未建 page counted its 31,350 rows by scanning the table (40 ms) and the 应联未联
page sorted its rows out of all of them (57 ms a page on PostgreSQL). A partial index per list, in the lists'
order (most formal members first, then name, id), reads a page in order and counts it from the index alone.

Revision ID: 8e1f3a5c7b90
Revises: c9c2546734ad
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = '8e1f3a5c7b90'
down_revision = 'c9c2546734ad'
branch_labels = None
depends_on = None

INDEXES = {
    "ix_organisations_should_build":
        "formal_members >= 3 AND NOT has_party_org AND joint_branch_code IS NULL AND verified",
    "ix_organisations_should_join": "formal_members < 3 AND formal_members + probationary_members > 0 "
                                    "AND NOT has_party_org AND joint_branch_code IS NULL AND verified",
}


def upgrade():
    for name, where in INDEXES.items():
        op.create_index(name, 'organisations', [sa.desc(sa.column('formal_members')), 'name', 'id'],
                        sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def downgrade():
    for name in INDEXES:
        op.drop_index(name, table_name='organisations')
