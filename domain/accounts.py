"""Accounts: an organisation's self-registration, officials' accounts, logins, deactivation, passwords."""
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload
from werkzeug.security import check_password_hash, generate_password_hash

from models import (
    CoverageCause, Instructor, LoginFailure, LoginSession, Organisation, OrgKind, RegistrationKind,
    RegistrationReview, RegistrationStatus, Role, Unit, User, db, utcnow,
)

from . import DomainError
from .audit import record_event
from .coverage import set_coverage
from .files import store_upload
from .notices import notify
from .text import check_text
from .validators import (
    check_password_policy, normalise_credit_code, normalise_email, normalise_mobile, normalise_phone,
)


@dataclass
class Registration:
    """What an organisation's contact types on the registration page, and the certificate they upload."""

    org_name: str
    credit_code: str
    kind: OrgKind
    unit: Unit
    address: str
    contact_name: str
    contact_phone: str
    employees: int
    formal_members: int
    probationary_members: int
    has_party_org: bool
    username: str
    password: str
    position: str = ""  # the contact's position in the organisation (职务)
    certificate: tuple[str, bytes] | None = None  # the business licence or registration certificate (filename, bytes)
    email: str = ""  # where notices reach the contact outside the app (邮箱, 手机号码); optional
    mobile: str = ""


def settled_contacts(organisation_id: int, *, besides: int | None = None) -> sa.Select:
    """The active contacts of an organisation whose account is settled: verified by the unit, or made without a
    self-registration (by the admin, or the demo). One holds the organisation: another registers only as a claim
    once the admin has detached them. A contact still waiting, or refused, holds nothing."""
    unsettled = sa.select(RegistrationReview.user_id).where(RegistrationReview.status != RegistrationStatus.VERIFIED)
    query = sa.select(User.id).where(User.organisation_id == organisation_id, User.role == Role.APPLICANT, User.active,
                                     User.id.not_in(unsettled))
    return query if besides is None else query.where(User.id != besides)


def check_username_free(username: str) -> None:
    if db.session.scalar(db.select(User.id).filter_by(username=username)):
        raise DomainError("该用户名已被使用，请换一个", "username")


def register_organisation(reg: Registration) -> User:
    """Register an organisation (企业/社会组织注册) and its contact's applicant account, with the certificate its unit
    will verify it by (注册核实, domain/registrations.py).

    An organisation the registry does not hold is created unverified: its contact may log in and draft, but it
    counts nowhere and cannot submit until its unit verifies it. A claim of an organisation the registry holds leaves
    the officials' record as it is and the account closed until the unit verifies the claim: the credit code is
    printed on every business licence, so knowing it proves nothing. Claims that wait, or were refused, stop nobody
    else from claiming; an organisation whose contact is already verified is taken."""
    code = normalise_credit_code(reg.credit_code)
    phone = normalise_phone(reg.contact_phone)
    position = check_text(reg.position.strip(), "职务", "position")
    if not position or len(position) > 40:
        raise DomainError("请填写您在本单位的职务（不超过40个字）", "position")
    if reg.certificate is None or not reg.certificate[1]:
        raise DomainError("请上传营业执照或登记证书（图片或 PDF）", "certificate")
    org = db.session.scalar(db.select(Organisation).filter_by(credit_code=code))
    if org is not None and db.session.scalar(settled_contacts(org.id)):
        raise DomainError("该统一社会信用代码已注册。如需找回账号，请联系所属初审单位或系统管理员", "credit_code")
    check_username_free(reg.username)
    check_password_policy(reg.password)
    try:
        certificate = store_upload(*reg.certificate, actor=None)
    except DomainError as refused:
        raise DomainError(refused.message, "certificate") from None
    claimed = org is not None
    if not claimed:
        org = Organisation(
            name=reg.org_name.strip(), credit_code=code, kind=reg.kind, unit=reg.unit,
            address=reg.address.strip(), contact_name=reg.contact_name.strip(), contact_phone=phone,
            employees=reg.employees, formal_members=reg.formal_members,
            probationary_members=reg.probationary_members, verified=False,
        )
        set_coverage(org, own=reg.has_party_org, joint_code=None, cause=CoverageCause.REGISTRATION)
    email, mobile = normalise_email(reg.email), normalise_mobile(reg.mobile)
    user = User(username=reg.username, name=reg.contact_name.strip(), role=Role.APPLICANT, organisation=org,
                active=not claimed, email=email, mobile=mobile)
    user.set_password(reg.password)  # last: a refused registration costs no password hashing
    review = RegistrationReview(kind=RegistrationKind.CLAIM if claimed else RegistrationKind.NEW,
                                status=RegistrationStatus.PENDING, organisation=org, user=user, certificate=certificate,
                                position=position, phone=phone)
    db.session.add_all([org, user, review])
    _flush_unique("credit_code", "该统一社会信用代码已注册")
    certificate.created_by = user
    record_event("register", org, user, f"{org.name} 注册账号 {user.username}（{position}，{phone}），"
                 + ("认领名录中的组织，待核实开通" if claimed else "新登记组织，待所属初审单位核实"), phone=phone)
    return user


def registration_of(user: User) -> RegistrationReview | None:
    """The user's own registration, if they registered themselves."""
    return db.session.scalar(sa.select(RegistrationReview).filter_by(user_id=user.id))


def closed_account_message(user: User) -> str:
    """Why an inactive account cannot log in, said once its password was right: a registration still waiting, or
    refused, or lapsed (domain/registrations.py), or a deactivation."""
    return _registration_refusal(user) or "该账号已停用，请联系系统管理员"


def _registration_refusal(user: User) -> str | None:
    """Why an inactive applicant who registered cannot log in yet, in words for them; None if that is not why."""
    review = registration_of(user)
    if review is None or review.status is RegistrationStatus.VERIFIED:
        return None
    if review.status is RegistrationStatus.REFUSED:
        return f"您的注册未通过所属初审单位核实：{review.reason}。如有疑问，请联系所属初审单位。"
    if review.kind is RegistrationKind.NEW:
        return None  # a new organisation's contact logs in while it waits: closed, it was deactivated
    if review.lapsed:
        return "您的账号认领超过30天未获核实，已失效。如仍需使用，请重新注册。"
    return "您的账号正在等待所属初审单位核实，核实通过后即可登录。"


def _flush_unique(field: str, message: str) -> None:
    # Two registrations of one code at the same moment: the unique constraint decides, not a crash.
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise DomainError(message, field) from None


LOGIN_REFUSED = "用户名或密码错误"


@dataclass(frozen=True)
class LoginLimits:
    """How wrong passwords are answered (config.py's LOGIN_LOCKOUT_* settings)."""

    max_failures: int = 5  # wrong passwords for one username from one address before that address is locked out
    lock_minutes: int = 15  # how long; also how long failures count towards the username's slowing down
    max_delay_seconds: int = 60  # the longest wait between attempts that failures from elsewhere can impose
    # Recent failures for one username, from all addresses together, past which an address that has not failed
    # waits too: guesses spread one or two to an address (an IPv6 range has millions) are slowed like the rest. A
    # stranger at one address locks only that address long before this, so the owner's first try still counts.
    spread_failures: int = 20


@cache
def _unknown_user_hash() -> str:
    # A name nobody has is checked against this, so that its answer costs the same scrypt, and takes the same time,
    # as a wrong password for an existing account. Made once per process, on the first such login.
    return generate_password_hash(secrets.token_urlsafe(16))


def _failure_key(username: str, address: str | None) -> tuple[str, str]:
    return username[:64], (address or "")[:64]  # longer names match no account (users.username is 40)


def authenticate(username: str, password: str, *, address: str | None, limits: LoginLimits = LoginLimits()) -> User:
    """Check a login (登录) from `address` (the client's, as request.remote_addr gives it).

    Wrong passwords are counted per username and address (LoginFailure): `max_failures` of them lock that username
    for that address only, for `lock_minutes`, so a stranger cannot keep an official out by typing wrong passwords
    from elsewhere. Once other addresses have `max_failures` recent failures for the username, an address that failed
    must also wait between its attempts, the wait doubling with every further failure anywhere, up to
    `max_delay_seconds` (refused at once, "请 N 秒后再试": no worker sleeps). An address that has not failed is kept
    waiting only once `spread_failures` have come from all addresses together, counted from the last of them: guesses
    spread one to an address are slowed too, and the owner is never locked out. A name nobody has is counted, locked
    and timed like an existing one, so no
    answer tells whether an account exists. The caller commits either way, so the count survives the refusal."""
    name = (username or "").strip()
    key = _failure_key(name, address)
    now = utcnow()
    _refuse_while_waiting(key, now, limits)
    user = db.session.scalar(db.select(User).filter_by(username=name))
    if not check_password_hash(user.password_hash if user else _unknown_user_hash(), password or "") or user is None:
        _count_failure(key, user, now, limits)
        raise DomainError(LOGIN_REFUSED)
    if not user.active:
        raise DomainError(closed_account_message(user))
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.username == key[0], LoginFailure.address == key[1]))
    user.last_login_at = now
    return user


def _refuse_while_waiting(key: tuple[str, str], now, limits: LoginLimits) -> None:
    """Refuse, before any password is hashed, an address locked out for this username or one that must still wait."""
    since = now - timedelta(minutes=limits.lock_minutes)
    recent = sa.and_(LoginFailure.username == key[0], LoginFailure.last_failed_at >= since)
    recent_total = sa.select(sa.func.coalesce(sa.func.sum(LoginFailure.failures), 0)).where(recent).scalar_subquery()
    last_anywhere = sa.select(sa.func.max(LoginFailure.last_failed_at)).where(recent).scalar_subquery()
    row = db.session.execute(
        sa.select(LoginFailure.failures, LoginFailure.last_failed_at, LoginFailure.locked_until, recent_total)
        .where(LoginFailure.username == key[0], LoginFailure.address == key[1])).first()
    if row is None:
        total, last = db.session.execute(sa.select(recent_total, last_anywhere)).one()
        if total >= limits.spread_failures:  # guesses from many addresses: a new one waits its turn too
            _refuse_until(last, min(limits.max_delay_seconds, 2 ** min(total - limits.spread_failures, 16)), now)
        return  # otherwise an address that has not failed is answered at once, whatever others did
    own, last_failed_at, locked_until, total = row
    if locked_until is not None and locked_until > now:
        minutes = max(1, int((locked_until - now).total_seconds() // 60) + 1)
        raise DomainError(f"登录失败次数过多，此用户名已暂停从您当前的网络地址登录，请 {minutes} 分钟后再试，"
                          "或联系系统管理员")
    if last_failed_at >= since and total - own >= limits.max_failures:  # others have been guessing: wait too
        _refuse_until(last_failed_at, min(limits.max_delay_seconds, 2 ** min(total - limits.max_failures, 16)), now)


def _refuse_until(last_failed_at, wait_seconds: float, now) -> None:
    remaining = (last_failed_at + timedelta(seconds=wait_seconds) - now).total_seconds()
    if remaining > 0:
        raise DomainError(f"登录尝试过于频繁，请 {math.ceil(remaining)} 秒后再试")


def _count_failure(key: tuple[str, str], user: User | None, now, limits: LoginLimits) -> None:
    """Count one wrong password for this username and address in one statement (INSERT ... ON CONFLICT DO UPDATE
    ... RETURNING): of parallel wrong guesses each counts, where reading the count and writing it back lost some.
    A count older than the lock's length starts again."""
    table = LoginFailure.__table__
    stale = now - timedelta(minutes=limits.lock_minutes)
    dialect = postgresql if db.session.connection().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(username=key[0], address=key[1], failures=1, last_failed_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.username, table.c.address],
        set_={"failures": sa.case((table.c.last_failed_at < stale, 1), else_=table.c.failures + 1),
              "last_failed_at": now},
    ).returning(table.c.failures)
    failures = db.session.execute(statement).scalar_one()
    if failures < limits.max_failures:
        return
    until = now + timedelta(minutes=limits.lock_minutes)
    locked = db.session.execute(sa.update(LoginFailure).where(
        LoginFailure.username == key[0], LoginFailure.address == key[1],
        sa.or_(LoginFailure.locked_until.is_(None), LoginFailure.locked_until <= now)).values(locked_until=until))
    # Of parallel guesses that passed the limit together, the one that set the lock records it.
    if locked.rowcount == 1 and user is not None:
        record_event("lock_user", user, None, f"账号 {user.username} 从地址 {key[1]} 连续 {failures} 次密码错误，"
                     f"该地址暂停登录 {limits.lock_minutes} 分钟", address=key[1])


# However active its browser, a login ends this long after the password was typed (the cookie's own 8 hours are
# idle time, renewed by every request): a copied cookie in use does not last for ever.
LOGIN_MAX_AGE = timedelta(hours=12)


def start_session(user: User) -> str:
    """Begin a login (登录) of this account in one browser; returns the token its session cookie carries. The
    account's ended and expired logins are dropped on the way, so the table holds little more than live ones."""
    db.session.execute(sa.delete(LoginSession).where(
        LoginSession.user_id == user.id,
        sa.or_(LoginSession.ended_at.is_not(None), LoginSession.started_at <= utcnow() - LOGIN_MAX_AGE)))
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(token=token, user_id=user.id))
    return token


# Every request of a logged-in user runs this, so it is built once, its values left as parameters. A user has at
# most one link (User's check constraints). The unit comes with the user (the model joins it): a few columns, and
# a reviewer's every page names it. The organisation and the instructor, wider and used by a few pages of their
# own roles, are read when a page first uses them.
_SESSION_USER = (sa.select(User).join(LoginSession, LoginSession.user_id == User.id)
                 .where(User.id == sa.bindparam("user_id"), User.active.is_(True),
                        LoginSession.token == sa.bindparam("token"), LoginSession.ended_at.is_(None),
                        LoginSession.started_at > sa.bindparam("since"))
                 .options(lazyload(User.organisation), lazyload(User.instructor)))


def session_user(user_id: int, token: str | None) -> User | None:
    """The account a session cookie names, if that login has not ended or expired and the account is active."""
    if not token:
        return None
    return db.session.scalar(_SESSION_USER, {"user_id": user_id, "token": token, "since": utcnow() - LOGIN_MAX_AGE})


def end_session(token: str | None) -> None:
    """End one login (退出登录): its cookie, wherever a copy of it is, signs nobody in any more."""
    if token:
        db.session.execute(sa.update(LoginSession).where(LoginSession.token == token, LoginSession.ended_at.is_(None))
                           .values(ended_at=utcnow()))


def end_sessions(user: User) -> int:
    """End every login of the account (a new password, a reset, a deactivation); returns how many."""
    return db.session.execute(sa.update(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.ended_at.is_(None)).values(ended_at=utcnow())).rowcount


def change_password(user: User, current: str, new: str) -> str:
    """Change one's own password (修改密码): the current one first. Every login of the account ends (whoever knew
    the old password, or holds a copy of this browser's cookie, is signed out); returns the token of a new login
    for the browser that changed it."""
    if not user.check_password(current or ""):
        raise DomainError("当前密码不正确", "current")
    if current == new:
        raise DomainError("新密码不能与当前密码相同", "password")
    check_password_policy(new)
    user.set_password(new)
    user.must_change_password = False
    end_sessions(user)
    record_event("change_password", user, user, f"{user.username} 修改了密码")
    return start_session(user)


# Roles that approve, pay or administer: an account given one is told to the administrators and the zone approvers,
# so that an account made by someone who should not have made it is seen.
PRIVILEGED_ROLES = (Role.ZONE_APPROVER, Role.FINANCE, Role.ADMIN)


def _announce_privileged_account(user: User, actor: User | None, what: str) -> None:
    """Notify (站内通知) every other active administrator and zone approver that `user` now holds a privileged role."""
    by = f"{actor.name}（{actor.username}）" if actor is not None else "服务器命令行"
    message = f"{by}{what}：{user.username}（{user.name}），角色为{user.role.label}。如非您所知的安排，请立即核查。"
    recipients = db.session.scalars(sa.select(User).where(
        User.active.is_(True), User.role.in_((Role.ADMIN, Role.ZONE_APPROVER)), User.id != user.id,
        *([User.id != actor.id] if actor is not None else [])))
    notify(recipients, message)


def create_official(
    *, username: str, name: str, role: Role, password: str, actor: User | None,
    unit: Unit | None = None, instructor: Instructor | None = None, email: str = "", mobile: str = "",
) -> User:
    """Create an official's account (officials do not register themselves)."""
    if role is Role.APPLICANT:
        raise DomainError("联系人账号由企业/社会组织自行注册", "role")
    if role is Role.UNIT_REVIEWER and unit is None:
        raise DomainError("初审单位账号须选择所属单位", "unit_id")
    if role is Role.INSTRUCTOR and instructor is None:
        raise DomainError("党建指导员账号须关联一名指导员", "instructor_id")
    if instructor is not None and db.session.scalar(db.select(User.id).filter_by(instructor=instructor)):
        raise DomainError("该指导员已有账号", "instructor_id")
    check_password_policy(password)
    check_username_free(username)
    user = User(
        username=username, name=name, role=role, email=normalise_email(email), mobile=normalise_mobile(mobile),
        unit=unit if role is Role.UNIT_REVIEWER else None,
        instructor=instructor if role is Role.INSTRUCTOR else None,
        must_change_password=True,  # the administrator knows it: it opens the account once, for its owner to replace
    )
    user.set_password(password)
    db.session.add(user)
    _flush_unique("username", "该用户名已被使用，请换一个")
    record_event("create_user", user, actor, f"创建账号 {username}（{role.label}）", role=role.value)
    if role in PRIVILEGED_ROLES:
        _announce_privileged_account(user, actor, "创建了账号")
    return user


def create_admin(username: str, password: str, *, name: str = "系统管理员") -> User:
    """Create an active administrator from the server's command line (创建管理员: `flask create-admin`), the way a
    new installation gets its first one. The password is the one typed there, so it need not be changed."""
    username = (username or "").strip()
    if not username or len(username) > 40:
        raise DomainError("用户名不能为空，且不超过40个字符", "username")
    if password == DEMO_PASSWORD:
        raise DomainError(f"不能使用演示密码 {DEMO_PASSWORD}：它公开在说明文档中，任何人都能用它登录", "password")
    check_password_policy(password)
    check_username_free(username)
    user = User(username=username, name=name, role=Role.ADMIN)
    user.set_password(password)
    db.session.add(user)
    _flush_unique("username", "该用户名已被使用，请换一个")
    record_event("create_admin", user, None, f"从服务器命令行创建系统管理员账号 {username}", role=Role.ADMIN.value)
    _announce_privileged_account(user, None, "创建了系统管理员账号")
    return user


# The demo accounts' password (seed-demo), published in the README: no account created by hand may have it.
DEMO_PASSWORD = "demo-2026"


def demo_accounts() -> list[str]:
    """The usernames of the accounts seed-demo made (演示账号): their password is published in the README."""
    return list(db.session.scalars(sa.select(User.username).where(User.demo.is_(True)).order_by(User.username)))


def set_account_active(user: User, active: bool, *, actor: User) -> None:
    """Deactivate (停用) or reactivate an account; an admin cannot lock themselves out."""
    if user.id == actor.id and not active:
        raise DomainError("不能停用自己的账号")
    if user.active == active:
        return
    if active and user.role is Role.APPLICANT and db.session.scalar(
            sa.select(RegistrationReview.id).where(RegistrationReview.user_id == user.id,
                                                   RegistrationReview.status != RegistrationStatus.VERIFIED)):
        raise DomainError("该账号的注册尚未核实通过，请在“注册核实”中对照证照核实，不能直接启用")
    if active and user.role is Role.APPLICANT and db.session.scalar(settled_contacts(user.organisation_id,
                                                                                     besides=user.id)):
        raise DomainError("该组织已有开通的联系人账号，不能再启用另一个；如需更换，请先解除现联系人")
    user.active = active
    if not active:  # or reactivating would bring its old logins back
        end_sessions(user)
    record_event("activate_user" if active else "deactivate_user", user, actor,
                 f"{'启用' if active else '停用'}账号 {user.username}")


def reset_password(user: User, new_password: str, *, actor: User) -> None:
    """Set a new password for someone (重置密码), which ends their logins; the password itself is never logged."""
    if user.id == actor.id:
        raise DomainError("请在“修改密码”页修改自己的密码（须输入当前密码）", "password")
    check_password_policy(new_password)
    user.set_password(new_password)
    user.must_change_password = True  # the administrator knows it too: it serves one login, then the owner's own
    end_sessions(user)
    record_event("reset_password", user, actor, f"重置账号 {user.username} 的密码")


def set_contact(user: User, *, email: str, mobile: str, actor: User) -> None:
    """Set the e-mail address and mobile number (邮箱、手机号码) that notices reach `user` by: an official's by the
    administrator, a contact's by the contact."""
    email, mobile = normalise_email(email), normalise_mobile(mobile)
    if (user.email, user.mobile) == (email, mobile):
        return
    user.email, user.mobile = email, mobile
    record_event("set_contact", user, actor, f"修改 {user.username} 的通知邮箱和手机号码")
