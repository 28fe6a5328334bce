"""merge the two heads: the instructors' index (5d7f9b1c3e52) and the import's checking (6e491ba3be3f)

Both landed on main within minutes of each other; this revision only joins them, so that there is one head.

Revision ID: 7a9c1e3f5b64
Revises: 5d7f9b1c3e52, 6e491ba3be3f
Create Date: 2026-12-05
"""
revision = '7a9c1e3f5b64'
down_revision = ('5d7f9b1c3e52', '6e491ba3be3f')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
