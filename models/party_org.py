"""The established Party organisation's record (党组织档案): its committee, its terms, its history after founding."""
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db

from .application import Application, ApplicationMember, PartyOrgKind
from .base import AppendOnly, LabelledEnum, enum_type, utcnow
from .document import Document
from .organisation import Organisation
from .unit import Unit
from .user import Role, User

# After 中共 and the host's name, how a kind's full name ends (中共XX有限公司 + 支部委员会): the 批复 and the record
# name an organisation by this one rule (domain/documents.py party_org_name).
NAME_SUFFIX = {
    PartyOrgKind.JOINT_BRANCH: "等单位联合支部",
    PartyOrgKind.BRANCH: "支部",
    PartyOrgKind.BRANCH_COMMITTEE: "支部委员会",
    PartyOrgKind.GENERAL_BRANCH: "总支部委员会",
    PartyOrgKind.PARTY_COMMITTEE: "委员会",
}


def full_name(host_name: str, kind: PartyOrgKind) -> str:
    """A Party organisation's full name: 中共XX有限公司支部委员会."""
    return f"中共{host_name}{NAME_SUFFIX[kind]}"


class PartyOrgState(LabelledEnum):
    """Where an established organisation stands; the helpers of 换届 and dissolution add theirs (with a migration
    of the party_org_state check)."""
    ACTIVE = "active", "在届"
    DISSOLVED = "dissolved", "已撤销"


class CommitteePost(LabelledEnum):
    SECRETARY = "secretary", "书记"
    DEPUTY = "deputy", "副书记"
    MEMBER = "member", "委员"


class TermLength(db.Model):
    """How long a kind's committee serves (任期), in years: data the admin edits, seeded by the migration
    (3 years for branches and general branches, 5 for a 基层党委: 《关于党的基层组织任期的意见》, 2018)."""

    __tablename__ = "term_lengths"
    # The Party Constitution allows 3 to 5 years.
    __table_args__ = (sa.CheckConstraint("years BETWEEN 3 AND 5", name="years_in_range"),)

    kind: Mapped[PartyOrgKind] = mapped_column(enum_type(PartyOrgKind, "term_kind"), primary_key=True)
    years: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PartyOrg(db.Model):
    """An established Party organisation (党组织): made by the founding application's last step, then on its own."""

    __tablename__ = "party_orgs"
    __table_args__ = (
        sa.CheckConstraint("term_end > term_start", name="term_not_empty"),
        sa.CheckConstraint("term_start >= established_on", name="term_after_establishment"),
        sa.Index("ix_party_orgs_unit_state", "unit_id", "state"),
        # The term lists (届满未换届, 半年内届满) read the ends in order.
        sa.Index("ix_party_orgs_term_end", "state", "term_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), unique=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    name: Mapped[str] = mapped_column(sa.String(150))
    kind: Mapped[PartyOrgKind] = mapped_column(enum_type(PartyOrgKind, "party_org_kind"))
    state: Mapped[PartyOrgState] = mapped_column(enum_type(PartyOrgState, "party_org_state"),
                                                 default=PartyOrgState.ACTIVE)
    # Optimistic lock, as on applications: every step bumps it (domain.bump_version).
    version: Mapped[int] = mapped_column(default=1)
    established_on: Mapped[date]  # the zone's date of approving the first election (批准选举结果)
    term_start: Mapped[date]
    term_end: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    application: Mapped[Application] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship(lazy="joined")
    unit: Mapped[Unit] = relationship(lazy="joined")
    seats: Mapped[list["CommitteeSeat"]] = relationship(
        back_populates="party_org", order_by="CommitteeSeat.id", cascade="all, delete-orphan")
    history: Mapped[list["PartyOrgEvent"]] = relationship(
        back_populates="party_org", order_by="PartyOrgEvent.id", viewonly=True)

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    @property
    def current_seats(self) -> list["CommitteeSeat"]:
        return [s for s in self.seats if s.ended_on is None]

    @property
    def name_example(self) -> str:
        """What a new name of this kind looks like (更名 keeps the kind): the form's placeholder and its refusal."""
        return full_name("××有限公司", self.kind)

    @classmethod
    def visible_to(cls, user: User) -> sa.ColumnElement[bool]:
        """Who may see a record, as the where-clause every list, counter and page uses: the zone and the admin all,
        a unit's reviewers their unit's, the instructor (and their substitute) the organisations they guide, the
        contact their own organisation's. Finance sees funds, not records."""
        if user.role in (Role.ADMIN, Role.ZONE_APPROVER):
            return sa.true()
        if user.role is Role.UNIT_REVIEWER and user.unit_id is not None:
            return cls.unit_id == user.unit_id
        if user.role is Role.APPLICANT and user.organisation_id is not None:
            return cls.organisation_id == user.organisation_id
        if user.role is Role.INSTRUCTOR and user.instructor_id is not None:
            # The founding application's instructor, and whom they stand in for: the application's one rule.
            return cls.application_id.in_(sa.select(Application.id).where(Application.visible_to(user)))
        return sa.false()

    def can_view(self, user: User) -> bool:
        return bool(db.session.scalar(sa.select(sa.exists().where(PartyOrg.id == self.id,
                                                                  PartyOrg.visible_to(user)))))


class CommitteeSeat(db.Model):
    """A seat on the committee (班子成员): who held which post from when to when; ended_on NULL is a current seat."""

    __tablename__ = "committee_seats"
    __table_args__ = (
        sa.CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="ends_after_start"),
        sa.CheckConstraint("length(name) > 0", name="name_not_blank"),
        # One current secretary; one current seat per person.
        sa.Index("uq_committee_seats_one_secretary", "party_org_id", unique=True,
                 sqlite_where=sa.text("post = 'secretary' AND ended_on IS NULL"),
                 postgresql_where=sa.text("post = 'secretary' AND ended_on IS NULL")),
        sa.Index("uq_committee_seats_one_current_per_name", "party_org_id", "name", unique=True,
                 sqlite_where=sa.text("ended_on IS NULL"), postgresql_where=sa.text("ended_on IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    party_org_id: Mapped[int] = mapped_column(sa.ForeignKey("party_orgs.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(40))
    post: Mapped[CommitteePost] = mapped_column(enum_type(CommitteePost, "committee_post"))
    # The member on the founding application's list (党员名单), when the holder is one; a member who joined the
    # organisation later is named only.
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("application_members.id"))
    started_on: Mapped[date]
    ended_on: Mapped[date | None]

    party_org: Mapped[PartyOrg] = relationship(back_populates="seats")
    member: Mapped[ApplicationMember | None] = relationship()


class PartyOrgEvent(AppendOnly, db.Model):
    """One step in the record's history after founding (档案记录): who, for whom, when, why, with which document."""

    __tablename__ = "party_org_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    party_org_id: Mapped[int] = mapped_column(sa.ForeignKey("party_orgs.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(30))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    actor_role: Mapped[Role] = mapped_column(enum_type(Role, "party_org_actor_role"))
    # Who the actor stood in for (代理, domain/substitutes.py); None when they acted in their own right.
    on_behalf_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("documents.id"))
    # What the step changed, for the history to show (the seat, the old and new post, the new term...).
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    party_org: Mapped[PartyOrg] = relationship(back_populates="history")
    actor: Mapped[User] = relationship(foreign_keys=[actor_id], lazy="joined")
    on_behalf_of: Mapped[User | None] = relationship(foreign_keys=[on_behalf_of_id], lazy="joined")
    document: Mapped[Document | None] = relationship(lazy="joined")
