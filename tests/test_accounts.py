"""Domain functions of accounts: registration, login, officials, deactivation, the audit log."""
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from domain import DomainError
from domain.accounts import (
    Registration, authenticate, change_password, create_official, end_session, end_sessions, register_organisation,
    reset_password, session_user, set_account_active, start_session,
)
from models import AuditEvent, Organisation, OrgKind, Role, User, db
from tests.conftest import unit_by_code, valid_credit_code


def registration(**overrides) -> Registration:
    values = dict(
        org_name="通辽示例科技有限公司", credit_code=valid_credit_code(), kind=OrgKind.ENTERPRISE,
        unit=unit_by_code("industrial_park"), address="开发区创业路1号", contact_name="王建国",
        contact_phone="13912345678", employees=80, formal_members=4, probationary_members=1,
        has_party_org=False, username="wangjg", password="secret123", position="办公室主任",
        certificate=("营业执照.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 16),
    )
    values.update(overrides)
    return Registration(**values)


def test_register_creates_organisation_applicant_and_audit_event(ctx):
    code = valid_credit_code()
    user = register_organisation(registration(credit_code=code.lower()[:6] + " " + code[6:]))
    db.session.commit()
    assert user.role is Role.APPLICANT
    assert user.organisation.credit_code == code  # normalised: no space, upper case
    assert user.check_password("secret123") and user.password_hash != "secret123"
    event = db.session.scalar(sa.select(AuditEvent))
    assert (event.action, event.object_type, event.object_id) == ("register", "organisations", user.organisation.id)


@pytest.mark.parametrize("code, message", [
    ("91150500MA0000001A", "校验位不正确"),
    ("91150500MA00001", "18位"),
    ("9115O500MA0000001Y", "18位"),
])
def test_register_refuses_bad_credit_codes(ctx, code, message):
    with pytest.raises(DomainError) as refused:
        register_organisation(registration(credit_code=code))
    assert message in refused.value.message and refused.value.field == "credit_code"


def test_register_refuses_a_credit_code_whose_contact_is_verified(ctx):
    from domain.registrations import verify_registration
    from models import RegistrationReview

    code = valid_credit_code()
    first = register_organisation(registration(credit_code=code))
    admin = User(username="admin-v", name="管理员", role=Role.ADMIN, password_hash="x")
    db.session.add(admin)
    verify_registration(db.session.scalar(sa.select(RegistrationReview).filter_by(user_id=first.id)), actor=admin)
    db.session.commit()
    with pytest.raises(DomainError, match="已注册"):
        register_organisation(registration(credit_code=code, username="other"))


def test_register_refuses_taken_username_bad_phone_and_weak_password(ctx):
    register_organisation(registration())
    db.session.commit()
    with pytest.raises(DomainError, match="用户名已被使用"):
        register_organisation(registration(username="wangjg"))
    with pytest.raises(DomainError, match="手机号码"):
        register_organisation(registration(contact_phone="12345", username="x1"))
    with pytest.raises(DomainError, match="至少8位"):
        register_organisation(registration(password="short1", username="x2"))
    with pytest.raises(DomainError, match="字母和数字"):
        register_organisation(registration(password="onlyletters", username="x3"))


def test_unique_constraint_decides_when_the_lookup_misses(ctx, monkeypatch):
    """Two registrations racing: the second passes the lookup, and the database still refuses it."""
    code = valid_credit_code()
    register_organisation(registration(credit_code=code))
    db.session.commit()
    original_scalar = db.session.scalar

    def blind_lookup(statement, *args, **kwargs):
        if "organisations.credit_code" in str(statement):
            return None  # as if the other request had not committed yet when we looked
        return original_scalar(statement, *args, **kwargs)

    monkeypatch.setattr(db.session, "scalar", blind_lookup)
    with pytest.raises(DomainError, match="已注册"):
        register_organisation(registration(credit_code=code, username="racer"))
    monkeypatch.undo()
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Organisation.id))) == 1


def test_authenticate(ctx):
    user = register_organisation(registration())
    db.session.commit()
    assert authenticate("wangjg", "secret123", address="192.0.2.1") is user
    assert user.last_login_at is not None
    with pytest.raises(DomainError, match="用户名或密码错误"):
        authenticate("wangjg", "wrong-pass1", address="192.0.2.1")
    with pytest.raises(DomainError, match="用户名或密码错误"):
        authenticate("nobody", "secret123", address="192.0.2.1")
    user.active = False
    with pytest.raises(DomainError, match="已停用"):
        authenticate("wangjg", "secret123", address="192.0.2.1")


def test_create_official_checks_role_links(ctx, make_instructor):
    admin = create_official(username="boss", name="管理员", role=Role.ADMIN, password="admin1234", actor=None)
    with pytest.raises(DomainError, match="所属单位"):
        create_official(username="r1", name="初审", role=Role.UNIT_REVIEWER, password="pass12345", actor=admin)
    with pytest.raises(DomainError, match="自行注册"):
        create_official(username="a1", name="联系人", role=Role.APPLICANT, password="pass12345", actor=admin)
    reviewer = create_official(username="r1", name="初审", role=Role.UNIT_REVIEWER, password="pass12345",
                               actor=admin, unit=unit_by_code("logistics_park"))
    assert reviewer.unit.code == "logistics_park"
    # A unit given to a role that is not scoped by unit is ignored, so the CHECK constraint holds.
    zone = create_official(username="z1", name="审批", role=Role.ZONE_APPROVER, password="pass12345",
                           actor=admin, unit=unit_by_code("logistics_park"))
    db.session.commit()
    assert zone.unit_id is None


def test_one_account_per_instructor(ctx, make_instructor):
    instructor = db.session.merge(make_instructor())
    create_official(username="i1", name="指导员", role=Role.INSTRUCTOR, password="pass12345", actor=None,
                    instructor=instructor)
    with pytest.raises(DomainError, match="已有账号"):
        create_official(username="i2", name="指导员", role=Role.INSTRUCTOR, password="pass12345", actor=None,
                        instructor=instructor)


def test_deactivate_and_reset_password_are_audited(ctx):
    admin = create_official(username="boss", name="管理员", role=Role.ADMIN, password="admin1234", actor=None)
    user = register_organisation(registration())
    set_account_active(user, False, actor=admin)
    reset_password(user, "newpass123", actor=admin)
    db.session.commit()
    assert not user.active and user.check_password("newpass123")
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.actor_id == admin.id).order_by(AuditEvent.id)).all()
    assert actions == ["deactivate_user", "reset_password"]
    with pytest.raises(DomainError, match="不能停用自己"):
        set_account_active(admin, False, actor=admin)


def test_audit_log_is_append_only_in_orm_and_database(ctx):
    register_organisation(registration())
    db.session.commit()
    event = db.session.scalar(sa.select(AuditEvent))
    event.summary = "tampered"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    # Bypassing the ORM does not help: the trigger from the migration refuses it.
    for statement in ("UPDATE audit_events SET summary = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(sa.text(statement))
        db.session.rollback()
    assert db.session.scalar(sa.select(AuditEvent.summary)) != "x"


def test_database_enforces_role_links(ctx):
    user = User(username="loose", name="x", role=Role.UNIT_REVIEWER, password_hash="x")
    db.session.add(user)
    with pytest.raises(DatabaseError):
        db.session.flush()


def test_a_login_stands_until_it_ends_and_only_for_its_account(ctx):
    user = register_organisation(registration())
    other = register_organisation(registration(username="another", credit_code=valid_credit_code()))
    first, second = start_session(user), start_session(user)
    db.session.commit()
    assert first != second
    assert session_user(user.id, first) is user and session_user(user.id, second) is user
    assert session_user(other.id, first) is None  # a token names one account's login
    assert session_user(user.id, None) is None and session_user(user.id, "forged") is None
    end_session(first)
    assert session_user(user.id, first) is None and session_user(user.id, second) is user
    user.active = False
    assert session_user(user.id, second) is None  # an inactive account has no logins


def test_a_new_password_ends_every_login_and_starts_one_for_this_browser(ctx):
    user = register_organisation(registration())
    mine, stolen = start_session(user), start_session(user)
    fresh = change_password(user, "secret123", "renewed-pass-2")
    assert session_user(user.id, fresh) is user
    assert session_user(user.id, mine) is None and session_user(user.id, stolen) is None
    assert end_sessions(user) == 1  # only the new one was still open


@pytest.mark.parametrize("role, link", [(Role.UNIT_REVIEWER, "unit"), (Role.APPLICANT, "organisation"),
                                        (Role.INSTRUCTOR, "instructor"), (Role.ZONE_APPROVER, None)])
def test_a_login_reads_its_user_and_unit_in_one_statement_and_other_links_when_used(app, make_user, role, link):
    """The user and its unit in one statement on every request; an organisation or an instructor (the one link
    other roles have) when a page uses it."""
    made = make_user(role)
    with app.app_context():
        token = start_session(db.session.get(User, made.id))
        db.session.commit()
    statements = []
    count = lambda *args: statements.append(args[2])  # noqa: E731 (before_cursor_execute's statement)
    links = {"unit": made.unit_id, "organisation": made.organisation_id, "instructor": made.instructor_id}
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            user = session_user(made.id, token)
            read_user = len(statements)
            loaded = {name: getattr(getattr(user, name), "id", None) for name in links}
            assert user.organisation is None or user.organisation.unit.name  # the organisation's own join stays
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
    assert user.id == made.id and loaded == links
    assert read_user == 1 and len(statements) == (2 if link in ("organisation", "instructor") else 1)


def test_a_login_expires_after_its_maximum_age_however_active(ctx):
    from domain.accounts import LOGIN_MAX_AGE
    from models import LoginSession, utcnow

    user = register_organisation(registration())
    token = start_session(user)
    row = db.session.scalar(sa.select(LoginSession).filter_by(token=token))
    row.started_at = utcnow() - LOGIN_MAX_AGE + timedelta(minutes=1)
    assert session_user(user.id, token) is user
    row.started_at = utcnow() - LOGIN_MAX_AGE - timedelta(minutes=1)
    assert session_user(user.id, token) is None
    end_session(start_session(user))
    start_session(user)  # drops the expired row and the ended one: the table keeps the live logins only
    assert db.session.scalar(sa.select(sa.func.count(LoginSession.id)).filter_by(user_id=user.id)) == 1


def test_an_admin_resets_others_passwords_not_their_own(ctx):
    admin = create_official(username="root2", name="管理员", role=Role.ADMIN, password="adminpass1", actor=None)
    with pytest.raises(DomainError, match="修改密码"):
        reset_password(admin, "another-pass-3", actor=admin)
