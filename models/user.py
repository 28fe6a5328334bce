"""Accounts and their roles."""
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from extensions import db

from .base import LabelledEnum, enum_type, utcnow
from .instructor import Instructor
from .organisation import Organisation
from .unit import Unit


class Role(LabelledEnum):
    APPLICANT = "applicant", "企业/社会组织联系人"
    UNIT_REVIEWER = "unit_reviewer", "初审单位"
    ZONE_APPROVER = "zone_approver", "开发区党工委"
    INSTRUCTOR = "instructor", "党建指导员"
    FINANCE = "finance", "财务"
    ADMIN = "admin", "系统管理员"


class User(UserMixin, db.Model):
    """An account. Its role decides which blueprint it may enter; the links below scope what it sees."""

    __tablename__ = "users"
    __table_args__ = (
        # Each scoped role carries exactly the link it is scoped by, and no other role carries it.
        sa.CheckConstraint("(role = 'unit_reviewer') = (unit_id IS NOT NULL)", name="reviewer_has_unit"),
        sa.CheckConstraint("(role = 'applicant') = (organisation_id IS NOT NULL)", name="applicant_has_org"),
        sa.CheckConstraint("(role = 'instructor') = (instructor_id IS NOT NULL)", name="instructor_linked"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    name: Mapped[str] = mapped_column(sa.String(40))
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    instructor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("instructors.id"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Made by seed-demo, with its published password: a production app refuses to start while one exists.
    demo: Mapped[bool] = mapped_column(server_default=sa.false())
    # The password was set by an administrator (a new account, a reset): it serves one login, then the user
    # chooses their own before any other page opens.
    must_change_password: Mapped[bool] = mapped_column(server_default=sa.false())
    # Where notices reach the person outside the app (domain/outbox.py); empty: not given, nothing is sent there.
    email: Mapped[str] = mapped_column(sa.String(120), server_default="")
    mobile: Mapped[str] = mapped_column(sa.String(11), server_default="")

    unit: Mapped[Unit | None] = relationship(lazy="joined")
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")
    instructor: Mapped[Instructor | None] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_official(self) -> bool:
        """Officials see each other's internal notes; applicants never do."""
        return self.role is not Role.APPLICANT

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class LoginSession(db.Model):
    """One login (登录会话), named by a random token in the browser's signed session cookie. The cookie alone
    proves only that this server signed it; the row says whether the login still stands. Logging out ends the
    row, so a copy of the cookie (another tab's answer arriving after the logout, a shared computer's history, a
    stolen cookie) no longer signs anyone in. A new password ends every login of the account (the browser that
    changed it carries on under a new one)."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]


class LoginFailure(db.Model):
    """Wrong passwords typed for one username from one address (登录失败记录). Too many lock that username for that
    address only, so that a stranger elsewhere cannot keep an official out; the username's failures from all
    addresses together make every failing address wait longer between attempts. Keyed by the username as typed, not
    the account: a name nobody has is counted and locked the same way, so the answers do not tell which exist."""

    __tablename__ = "login_failures"

    username: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    address: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[datetime] = mapped_column(index=True)
    locked_until: Mapped[datetime | None]
