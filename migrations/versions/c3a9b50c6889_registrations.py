"""registrations: a self-registration's certificate and its unit's verification

An organisation that registers itself and is not in the registry waits, unverified, until its unit's reviewer has
seen its business licence or registration certificate (organisations.verified; the figures count only verified
ones); a claim of an organisation the registry holds waits the same way with its account closed. Accounts that
claimed an organisation before this revision (inactive, never logged in) become pending claims without a
certificate, for the unit to decide. Notices may now be about no application (a registration's decision).

Revision ID: c3a9b50c6889
Revises: b8d0f2a4c6e8
Create Date: 2026-12-05 01:11:34.711601

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c3a9b50c6889'
down_revision = 'b8d0f2a4c6e8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('new', 'claim', name='registration_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('status', sa.Enum('pending', 'verified', 'refused', name='registration_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.String(length=40), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name=op.f('ck_registrations_decided_when_not_pending')),
    sa.CheckConstraint("status <> 'refused' OR reason <> ''", name=op.f('ck_registrations_refusal_has_reason')),
    sa.ForeignKeyConstraint(['certificate_id'], ['stored_files.id'], name=op.f('fk_registrations_certificate_id_stored_files')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_registrations_decided_by_id_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_registrations_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_registrations_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registrations')),
    sa.UniqueConstraint('user_id', name=op.f('uq_registrations_user_id'))
    )
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registrations_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index('ix_registrations_queue', ['status', 'organisation_id'], unique=False)

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('application_id',
               existing_type=sa.INTEGER(),
               nullable=True)

    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verified', sa.Boolean(), server_default=sa.true(), nullable=False))

    op.execute(sa.text(
        "INSERT INTO registrations (kind, status, organisation_id, user_id, position, phone, created_at, reason) "
        "SELECT 'claim', 'pending', organisation_id, id, '', '', created_at, '' FROM users "
        "WHERE role = 'applicant' AND NOT active AND last_login_at IS NULL"))


def downgrade():
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('verified')

    op.execute(sa.text("DELETE FROM notifications WHERE application_id IS NULL"))
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('application_id',
               existing_type=sa.INTEGER(),
               nullable=False)

    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_index('ix_registrations_queue')
        batch_op.drop_index(batch_op.f('ix_registrations_organisation_id'))

    op.drop_table('registrations')
