"""login failures per address, demo accounts marked, one-time passwords

Wrong passwords used to lock the whole account (users.failed_logins, users.locked_until), so a stranger typing
wrong passwords kept an official out. They now count per username and address (login_failures) and lock the
username only for the address they came from. users.demo marks what seed-demo made (a production app refuses to
start while one exists): accounts made before this revision that carry a demo username and still open with the
published demo password are marked here. users.must_change_password: a password an administrator set serves one
login only.

Revision ID: 2963de004917
Revises: c3a9b50c6889
Create Date: 2026-12-05 01:30:00

"""
import sqlalchemy as sa
from alembic import op
from werkzeug.security import check_password_hash

revision = '2963de004917'
down_revision = 'c3a9b50c6889'
branch_labels = None
depends_on = None

# As domain/demo.py had them when this revision was written (a migration does not import the app's code).
_DEMO_PASSWORD = "demo-2026"
_DEMO_USERNAMES = (
    "applicant", "instructor", "zone", "finance", "admin", "reviewer", "reviewer-logistics", "reviewer-federation",
    "reviewer-civil", "reviewer-market", "reviewer-east", "reviewer-west", "reviewer-south", "reviewer-north",
)


def upgrade():
    op.create_table(
        'login_failures',
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('username', 'address', name=op.f('pk_login_failures')),
    )
    op.create_index(op.f('ix_login_failures_last_failed_at'), 'login_failures', ['last_failed_at'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('demo', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')

    users = sa.table('users', sa.column('id', sa.Integer), sa.column('username', sa.String),
                     sa.column('password_hash', sa.String), sa.column('demo', sa.Boolean))
    connection = op.get_bind()
    candidates = connection.execute(sa.select(users.c.id, users.c.password_hash).where(
        sa.or_(users.c.username.in_(_DEMO_USERNAMES), users.c.username.like("contact-%")))).all()
    demo_ids = [id_ for id_, password_hash in candidates if check_password_hash(password_hash, _DEMO_PASSWORD)]
    if demo_ids:
        connection.execute(sa.update(users).where(users.c.id.in_(demo_ids)).values(demo=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_column('must_change_password')
        batch_op.drop_column('demo')
    op.drop_index(op.f('ix_login_failures_last_failed_at'), table_name='login_failures')
    op.drop_table('login_failures')
