"""applications.committee_votes: each elected 委员's votes at the members' meeting

A committee's members' meeting elects the 委员, each with their votes, and the committee elects the secretary from
among them (issue 29: the election report asks what the kind's meeting really elects). Empty for the reports before
it and for the kinds without a committee.

Revision ID: e5a7c9d1f3b6
Revises: 54fea4f01cbf
Create Date: 2026-12-05 07:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'e5a7c9d1f3b6'
down_revision = '54fea4f01cbf'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('applications', sa.Column('committee_votes', sa.JSON(), nullable=True))


def downgrade():
    op.drop_column('applications', 'committee_votes')
