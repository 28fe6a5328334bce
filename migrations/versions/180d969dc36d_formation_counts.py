"""formation_counts and coverage_months: the formation rate's counts per unit and kind, and its coverage changes per
unit and month, kept as organisations change (domain/formation_counts.py)

The dashboard and the zone's overview counted all organisations on each view (75 ms and 83 ms at 110,000); they
now add up these rows. Filled here by the same recount the app runs as organisations change.

Revision ID: 180d969dc36d
Revises: 7a9c1e3f5b64
Create Date: 2026-12-05 17:00:00

"""
from alembic import op
import sqlalchemy as sa

from domain.formation_counts import ALL, recount

# revision identifiers, used by Alembic.
revision = '180d969dc36d'
down_revision = '7a9c1e3f5b64'
branch_labels = None
depends_on = None

KINDS = ('enterprise', 'social_org', 'building', 'project', 'street_area')


def upgrade():
    kind = sa.Enum(*KINDS, name='org_kind', native_enum=False, create_constraint=True, length=11)
    op.create_table('formation_counts',
                    sa.Column('unit_id', sa.Integer(), nullable=False),
                    sa.Column('kind', kind, nullable=False),
                    *(sa.Column(name, sa.Integer(), nullable=False) for name in (
                        'organisations', 'with_members', 'covered', 'covered_with_members', 'should_build',
                        'should_join', 'with_party_org')),
                    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_formation_counts_unit_id_units')),
                    sa.PrimaryKeyConstraint('unit_id', 'kind', name=op.f('pk_formation_counts')))
    op.create_table('coverage_months',
                    sa.Column('unit_id', sa.Integer(), nullable=False),
                    sa.Column('month', sa.String(length=7), nullable=False),
                    sa.Column('new', sa.Integer(), nullable=False),
                    sa.Column('lost', sa.Integer(), nullable=False),
                    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_coverage_months_unit_id_units')),
                    sa.PrimaryKeyConstraint('unit_id', 'month', name=op.f('pk_coverage_months')))
    recount(ALL, op.get_bind())


def downgrade():
    op.drop_table('coverage_months')
    op.drop_table('formation_counts')
