"""The founding application (成立党组织申请): its members, attachments, history and election report."""
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db

from .base import AppendOnly, LabelledEnum, enum_type, utcnow
from .instructor import Instructor
from .organisation import Organisation
from .stored_file import StoredFile
from .substitution import Substitution
from .unit import Unit
from .user import Role, User


class AppState(LabelledEnum):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "待初审"
    RETURNED = "returned", "退回修改"
    UNIT_APPROVED = "unit_approved", "待党工委审批"
    APPROVED = "approved", "已批复"
    REJECTED = "rejected", "不予批准"
    WITHDRAWN = "withdrawn", "已撤回"
    ELECTION_REPORTED = "election_reported", "选举结果待审"
    ESTABLISHED = "established", "已成立"

    @property
    def badge(self) -> str:
        """The Bootstrap colour of the state's badge."""
        return _STATE_BADGES[self.value]


_STATE_BADGES = {"draft": "secondary", "submitted": "primary", "returned": "warning", "unit_approved": "info",
                 "approved": "success", "rejected": "danger", "withdrawn": "dark", "election_reported": "info",
                 "established": "success"}


class PartyOrgKind(LabelledEnum):
    JOINT_BRANCH = "joint_branch", "联合党支部"
    BRANCH = "branch", "党支部"
    BRANCH_COMMITTEE = "branch_committee", "党支部委员会"
    GENERAL_BRANCH = "general_branch", "党总支"
    PARTY_COMMITTEE = "party_committee", "基层党委"

    @property
    def has_committee(self) -> bool:
        return self in (PartyOrgKind.BRANCH_COMMITTEE, PartyOrgKind.GENERAL_BRANCH, PartyOrgKind.PARTY_COMMITTEE)


class MemberStatus(LabelledEnum):
    FORMAL = "formal", "正式党员"
    PROBATIONARY = "probationary", "预备党员"


class Gender(LabelledEnum):
    MALE = "male", "男"
    FEMALE = "female", "女"



class Application(db.Model):
    """成立党组织申请: what the organisation asks for, where it stands, who guides it."""

    __tablename__ = "applications"
    __table_args__ = (
        sa.CheckConstraint("formal_members >= 0 AND probationary_members >= 0", name="member_counts"),
        sa.CheckConstraint(
            "instructor_id IS NOT NULL OR state NOT IN ('approved', 'election_reported', 'established')",
            name="instructed_states_have_instructor"),
        # A draft was never submitted, and everything past it was, but a draft withdrawn before anyone saw it:
        # officials' lists and pages read nothing else to keep drafts private.
        sa.CheckConstraint("CASE state WHEN 'draft' THEN submitted_at IS NULL WHEN 'withdrawn' THEN TRUE "
                           "ELSE submitted_at IS NOT NULL END", name="submitted_at_matches_state"),
        # At most one live application per organisation; a rejected or withdrawn one may be followed by another.
        sa.Index("uq_applications_one_open_per_organisation", "organisation_id", unique=True,
                 sqlite_where=sa.text("state NOT IN ('rejected', 'withdrawn')"),
                 postgresql_where=sa.text("state NOT IN ('rejected', 'withdrawn')")),
        sa.Index("ix_applications_inbox", "unit_id", "state", "state_changed_at"),
        # The order of every application list: lets the database read the first page instead of sorting all.
        sa.Index("ix_applications_listing", "state_changed_at", "id"),
        # What officials see (submitted at least once), by state: the lists' totals and the navigation's
        # "waiting" counter, on every page, count it from the index alone instead of reading every row.
        sa.Index("ix_applications_submitted_by_state", "state", sqlite_where=sa.text("submitted_at IS NOT NULL"),
                 postgresql_where=sa.text("submitted_at IS NOT NULL")),
        # Who guides what (the instructors' loads, in total and per unit): counted from the index alone, by state
        # rather than only for the guided states so that any plan of the statement, generic ones included, uses it.
        sa.Index("ix_applications_guided", "state", "instructor_id", "unit_id"),
        # What an instructor (and their substitute) sees: their lists' totals counted from the index alone.
        sa.Index("ix_applications_submitted_by_instructor", "instructor_id",
                 sqlite_where=sa.text("submitted_at IS NOT NULL"),
                 postgresql_where=sa.text("submitted_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    state: Mapped[AppState] = mapped_column(enum_type(AppState, "app_state"), default=AppState.DRAFT)
    # Optimistic lock: every transition bumps it, and a page that shows an older one cannot act.
    version: Mapped[int] = mapped_column(default=1)
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The first submission: from then on officials see the application. A column rather than a look into the
    # history, because every official's list and counter filters on it (the look was a scan of all events).
    submitted_at: Mapped[datetime | None]

    requested_kind: Mapped[PartyOrgKind] = mapped_column(enum_type(PartyOrgKind, "party_org_kind"))
    formal_members: Mapped[int] = mapped_column(default=0)
    probationary_members: Mapped[int] = mapped_column(default=0)
    proposed_secretary: Mapped[str] = mapped_column(sa.String(40), default="")
    partner_organisations: Mapped[str] = mapped_column(sa.String(500), default="")
    work_need: Mapped[bool] = mapped_column(default=False)  # a general branch below 50 members, for work's sake
    reasons: Mapped[str] = mapped_column(sa.Text, default="")

    instructor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("instructors.id"), index=True)

    # The election report (选举结果), filled by the applicant after approval.
    election_date: Mapped[date | None]
    voters_expected: Mapped[int | None]
    voters_present: Mapped[int | None]
    secretary_name: Mapped[str | None] = mapped_column(sa.String(40))
    secretary_votes: Mapped[int | None]
    # The 委员 in the order the 批复 names them, separated by 、; with each one's votes at the members' meeting in
    # committee_votes ([{"name": ..., "votes": ...}], the same order). Both empty for a kind without a committee, whose
    # meeting elects the secretary directly; with one, secretary_votes are the committee's votes for the secretary.
    committee_members: Mapped[str | None] = mapped_column(sa.String(500))
    committee_votes: Mapped[list | None] = mapped_column(sa.JSON)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    unit: Mapped[Unit] = relationship(lazy="joined")
    instructor: Mapped[Instructor | None] = relationship(lazy="joined")
    members: Mapped[list["ApplicationMember"]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="ApplicationMember.position")
    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="Attachment.id")
    history: Mapped[list["ApplicationEvent"]] = relationship(
        back_populates="application", order_by="ApplicationEvent.id", viewonly=True)

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    @property
    def was_submitted(self) -> bool:
        """Whether officials ever received it: a draft withdrawn before submission never was."""
        return self.submitted_at is not None

    @property
    def member_total(self) -> int:
        return self.formal_members + self.probationary_members

    @classmethod
    def visible_to(cls, user: User) -> sa.ColumnElement[bool]:
        """Who may see an application, as the where-clause every list, counter, card and download uses: its
        organisation's contact, its unit's reviewers, its instructor (and their substitute), the zone, and the admin
        (for support). Until first submitted (and withdrawn before that), an application is its applicant's alone:
        officials do not see it, the admin may. Finance sees funds, not applications. `user` needs only a role and its
        links: the inbox passes one whose links are parameters (domain/inbox.py)."""
        submitted = cls.submitted_at.is_not(None)
        if user.role is Role.ADMIN:
            return sa.true()
        if user.role is Role.ZONE_APPROVER:
            return submitted
        # A role's link may be missing only in an object never saved (the users table requires it): without it,
        # `column == None` would read as IS NULL and match what nobody is linked to.
        if user.role is Role.APPLICANT and user.organisation_id is not None:
            return cls.organisation_id == user.organisation_id
        if user.role is Role.UNIT_REVIEWER and user.unit_id is not None:
            return sa.and_(submitted, cls.unit_id == user.unit_id)
        if user.role is Role.INSTRUCTOR and user.instructor_id is not None:
            # Also the organisations of the instructors this one stands in for today (代理): a reviewer's or the
            # zone's substitute, of the same role and unit, sees those already.
            stood_in_for = (sa.select(User.instructor_id).join(Substitution, Substitution.official_id == User.id)
                            .where(Substitution.substitute_id == user.id, Substitution.running()))
            # One set of instructors, their own first: the database reads each one's applications from
            # ix_applications_submitted_by_instructor, where an OR of the two read every application.
            instructors = sa.union_all(sa.select(sa.cast(user.instructor_id, sa.Integer)), stood_in_for)
            return sa.and_(submitted, cls.instructor_id.in_(instructors))
        return sa.false()

    def can_view(self, user: User) -> bool:
        """Whether this user may see this application: visible_to, asked of the database for this one row."""
        return bool(db.session.scalar(sa.select(sa.exists().where(Application.id == self.id,
                                                                  Application.visible_to(user)))))


class ApplicationMember(db.Model):
    """A Party member listed in the application (党员名单)."""

    __tablename__ = "application_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(sa.String(40))
    gender: Mapped[Gender] = mapped_column(enum_type(Gender, "gender"))
    joined_on: Mapped[date]
    status: Mapped[MemberStatus] = mapped_column(enum_type(MemberStatus, "member_status"))

    application: Mapped[Application] = relationship(back_populates="members")


class Attachment(db.Model):
    """An attachment of an application (附件); the bytes live in stored_files."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id"), unique=True)

    application: Mapped[Application] = relationship(back_populates="attachments")
    file: Mapped[StoredFile] = relationship(lazy="joined")


class ApplicationEvent(AppendOnly, db.Model):
    """One step of the history (流转记录): who, in which role, when, from, to, and why. Append-only."""

    __tablename__ = "application_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    actor_role: Mapped[Role] = mapped_column(enum_type(Role, "actor_role"))
    action: Mapped[str] = mapped_column(sa.String(30))
    from_state: Mapped[AppState | None] = mapped_column(enum_type(AppState, "from_state"))
    to_state: Mapped[AppState] = mapped_column(enum_type(AppState, "to_state"))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    # Officials' note to each other; the applicant never sees it.
    internal_note: Mapped[str] = mapped_column(sa.Text, default="")
    # On a return (退回修改): the application as the returning official saw it (domain/revisions.py), so that the
    # resubmission can show them what changed. None on every other step.
    snapshot: Mapped[dict | None] = mapped_column(sa.JSON)

    application: Mapped[Application] = relationship(back_populates="history")
    actor: Mapped[User] = relationship(foreign_keys=[actor_id], lazy="joined")
    # Who the actor stood in for (代理, domain/substitutes.py); None when they acted in their own right.
    on_behalf_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    on_behalf_of: Mapped[User | None] = relationship(foreign_keys=[on_behalf_of_id], lazy="joined")
    # Days since the application's event before this one (None on its first): written with the event, so that the
    # dashboard's average days per step (平均办理天数) averages a column instead of pairing up the whole history.
    days_since_previous: Mapped[float | None] = mapped_column(sa.Float)


def days_between(earlier: datetime, later: datetime) -> float:
    """The days from one time to another, with their fraction, as _days_since_previous counts them in SQL (the
    seeding writes its history rows with it)."""
    return (later - earlier).total_seconds() / 86400


@sa.event.listens_for(ApplicationEvent, "before_insert")
def _days_since_previous(mapper, connection, event: ApplicationEvent) -> None:
    # The history is append-only, so the previous event is the application's one with the highest id so far. A SQL
    # expression, evaluated as the row is inserted: a flush calls this for all its rows before inserting any, and
    # one flush may write several steps of one application.
    event.at = event.at or utcnow()
    at = sa.literal(event.at, ApplicationEvent.at.type)
    previous = (sa.select(ApplicationEvent.at).where(ApplicationEvent.application_id == event.application_id)
                .order_by(ApplicationEvent.id.desc()).limit(1).scalar_subquery())
    if connection.dialect.name == "postgresql":
        event.days_since_previous = sa.extract("epoch", at - previous) / 86400.0
    else:
        event.days_since_previous = sa.func.julianday(at) - sa.func.julianday(previous)


class Notification(db.Model):
    """An in-app notice (站内通知) for one user about one application."""

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    user: Mapped[User] = relationship()
    # None for a notice about the account or the organisation itself (a registration verified or refused).
    application_id: Mapped[int | None] = mapped_column(sa.ForeignKey("applications.id"))
    message: Mapped[str] = mapped_column(sa.String(300))
    # Where the notice asks its reader to go (a path in this app); empty: the application's card, if any.
    link: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    application: Mapped[Application | None] = relationship(lazy="joined")
