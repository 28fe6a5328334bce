"""units.superior: the 上级党组织 that leads the organisations founded through each unit

The 批复 named the reviewing unit as the new organisation's 上级党组织 and addressed it. A department's 党组 (工商联党组)
is no level of the Party's basic organisations and cannot lead a branch; each unit now has its 上级党组织 as data,
which the admin edits. The nine seeded units get the defaults of domain/reference.py; a blank one means that the
党工委 leads directly.

Revision ID: 5b7d9f1a3c2e
Revises: 3041cb016592
Create Date: 2026-12-05 03:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = '5b7d9f1a3c2e'
down_revision = '3041cb016592'
branch_labels = None
depends_on = None

# The defaults of domain/reference.py at this revision, written out: a migration must not change when that does.
SUPERIORS = {
    "industrial_park": "中共通辽经济技术开发区新型工业园区委员会",
    "logistics_park": "中共通辽经济技术开发区综合物流园区委员会",
    "federation": "中共通辽经济技术开发区非公有制经济组织综合委员会",
    "civil_affairs": "中共通辽经济技术开发区社会组织综合委员会",
    "market_regulation": "中共通辽经济技术开发区个体私营经济委员会",
    "street_east": "中共通辽经济技术开发区东城街道工作委员会",
    "street_west": "中共通辽经济技术开发区西城街道工作委员会",
    "street_south": "中共通辽经济技术开发区南城街道工作委员会",
    "street_north": "中共通辽经济技术开发区北城街道工作委员会",
}


def upgrade():
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('superior', sa.String(length=80), server_default='', nullable=False))
    units = sa.table('units', sa.column('code', sa.String), sa.column('superior', sa.String))
    for code, superior in SUPERIORS.items():
        op.execute(units.update().where(units.c.code == code).values(superior=superior))


def downgrade():
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_column('superior')
