"""deliveries: an index of each checklist item's deliveries by application, which the zone overview's 六建六送 counts
read alone (issue 34)

Revision ID: e1f3a5c7b9d2
Revises: 180d969dc36d
Create Date: 2026-12-05 17:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e1f3a5c7b9d2'
down_revision = '180d969dc36d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_deliveries_item_application', 'deliveries', ['item', 'application_id'], unique=False)


def downgrade():
    op.drop_index('ix_deliveries_item_application', table_name='deliveries')
