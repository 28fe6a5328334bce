"""renewals.state 'ended' (已终止): an open request ends when its organisation is dissolved or merged (issue 32)

Nothing to backfill: before this, a dissolution left its request open.

Revision ID: b3d5f7a9c1e2
Revises: 70a57ee92ef1
Create Date: 2026-12-05 11:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b3d5f7a9c1e2'
down_revision = '70a57ee92ef1'
branch_labels = None
depends_on = None

STATES = ('submitted', 'unit_passed', 'returned', 'approved', 'election_reported', 'completed', 'asked', 'granted',
          'refused', 'withdrawn')
DATE_CHANGE_STATES = ('asked', 'granted', 'refused', 'withdrawn')


def _in(values) -> str:
    return "({})".format(", ".join(f"'{v}'" for v in values))


def _constraints(states, date_change_states) -> None:
    with op.batch_alter_table('renewals', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_renewals_renewal_state'), type_='check')
        batch_op.drop_constraint(op.f('ck_renewals_date_change_states'), type_='check')
        batch_op.create_check_constraint('renewal_state', f"state IN {_in(states)}")
        batch_op.create_check_constraint('date_change_states', f"kind = 'renewal' OR state IN {_in(date_change_states)}")


def upgrade():
    _constraints((*STATES, 'ended'), (*DATE_CHANGE_STATES, 'ended'))


def downgrade():
    op.execute("UPDATE renewals SET state = 'withdrawn' WHERE state = 'ended'")
    _constraints(STATES, DATE_CHANGE_STATES)
