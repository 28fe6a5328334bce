"""renewals.state 'rescheduling' and renewals.asked_on: an approved 换届's election moved (延期/提前) with the zone's
approval (issue 32)

Nothing to backfill: before this, an approved 换届 could not be moved.

Revision ID: b29c439dde95
Revises: 8e1f3a5c7b90
Create Date: 2026-12-05 13:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'b29c439dde95'
down_revision = '8e1f3a5c7b90'
branch_labels = None
depends_on = None

STATES = ('submitted', 'unit_passed', 'returned', 'approved', 'election_reported', 'completed', 'asked', 'granted',
          'refused', 'withdrawn', 'ended')
OPEN = ('submitted', 'unit_passed', 'returned', 'approved', 'election_reported', 'asked')


def _in(values) -> str:
    return "({})".format(", ".join(f"'{v}'" for v in values))


def _one_open(batch_op, states) -> None:
    where = sa.text(f"state IN {_in(states)}")
    batch_op.create_index('uq_renewals_one_open', ['party_org_id'], unique=True, sqlite_where=where,
                          postgresql_where=where)


def upgrade():
    with op.batch_alter_table('renewals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('asked_on', sa.Date(), nullable=True))
        batch_op.drop_constraint(op.f('ck_renewals_renewal_state'), type_='check')
        batch_op.create_check_constraint('renewal_state', f"state IN {_in((*STATES, 'rescheduling'))}")
        batch_op.create_check_constraint('rescheduling_has_date', "state <> 'rescheduling' OR asked_on IS NOT NULL")
        batch_op.drop_index('uq_renewals_one_open')
        _one_open(batch_op, (*OPEN, 'rescheduling'))


def downgrade():
    op.execute("UPDATE renewals SET state = 'approved' WHERE state = 'rescheduling'")
    with op.batch_alter_table('renewals', schema=None) as batch_op:
        batch_op.drop_index('uq_renewals_one_open')
        _one_open(batch_op, OPEN)
        batch_op.drop_constraint(op.f('ck_renewals_rescheduling_has_date'), type_='check')
        batch_op.drop_constraint(op.f('ck_renewals_renewal_state'), type_='check')
        batch_op.create_check_constraint('renewal_state', f"state IN {_in(STATES)}")
        batch_op.drop_column('asked_on')
