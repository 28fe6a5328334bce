"""Organisations of the zone's registry: non-public enterprises and social organisations."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db

from .base import LabelledEnum, enum_type, utcnow
from .unit import Unit


class OrgKind(LabelledEnum):
    ENTERPRISE = "enterprise", "非公企业"
    SOCIAL_ORG = "social_org", "社会组织"
    BUILDING = "building", "总部楼宇"
    PROJECT = "project", "工程项目"
    STREET_AREA = "street_area", "街区"


# The rows of 应建未建 and 应联未联 among the counted organisations (domain/formation_counts.py: SHOULD_BUILD,
# SHOULD_JOIN and COUNTED, which these restate in SQL for the partial indexes below; tests/test_dashboard.py checks that
# both pick the same rows).
TODO_INDEXES = {
    "ix_organisations_should_build":
        "formal_members >= 3 AND NOT has_party_org AND joint_branch_code IS NULL AND verified",
    "ix_organisations_should_join": "formal_members < 3 AND formal_members + probationary_members > 0 "
                                    "AND NOT has_party_org AND joint_branch_code IS NULL AND verified",
}


class Organisation(db.Model):
    """A market entity or social organisation (企业/社会组织), keyed by its 统一社会信用代码."""

    __tablename__ = "organisations"
    __table_args__ = (
        sa.CheckConstraint("employees >= 0", name="employees_non_negative"),
        sa.CheckConstraint("formal_members >= 0", name="formal_members_non_negative"),
        sa.CheckConstraint("probationary_members >= 0", name="probationary_members_non_negative"),
        sa.CheckConstraint("length(credit_code) = 18", name="credit_code_length"),
        # A joint branch covers organisations that have no Party organisation of their own.
        sa.CheckConstraint("joint_branch_code IS NULL OR (NOT has_party_org AND joint_branch_code <> credit_code)",
                           name="joint_branch_only_without_own_org"),
        # The order of the organisation lists: the first page is read in order, not sorted out of all 11,000.
        sa.Index("ix_organisations_listing", "name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    credit_code: Mapped[str] = mapped_column(sa.String(18), unique=True)
    kind: Mapped[OrgKind] = mapped_column(enum_type(OrgKind, "org_kind"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    # Blank after a registry import (摸底): the organisation's contact fills them in when registering.
    contact_name: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(20), default="", server_default="")
    employees: Mapped[int] = mapped_column(default=0)
    formal_members: Mapped[int] = mapped_column(default=0)
    probationary_members: Mapped[int] = mapped_column(default=0)
    # An organisation that already has a Party organisation of its own (founded before this system).
    has_party_org: Mapped[bool] = mapped_column(default=False)
    # The credit code of the organisation whose joint branch (联合党支部) covers this one, if any. A code
    # rather than a foreign key: the host may be imported in the same file, or not be in the registry yet.
    joint_branch_code: Mapped[str | None] = mapped_column(sa.String(18))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # False while an organisation that registered itself, and is not in the registry, waits for its unit's
    # verification (or was refused): it then counts nowhere (COUNTED). Imported organisations are verified.
    verified: Mapped[bool] = mapped_column(server_default=sa.true())

    unit: Mapped[Unit] = relationship(lazy="joined")

    @property
    def covered(self) -> bool:
        """Covered by a Party organisation: its own, or a joint branch (计入组建率)."""
        return self.has_party_org or self.joint_branch_code is not None

    @property
    def members(self) -> int:
        return self.formal_members + self.probationary_members

    def __repr__(self) -> str:
        return f"<Organisation {self.credit_code}>"



# The committee's to-do lists (domain/dashboard.py), in their order and holding only their rows: a page is read in
# order and its total counted from the index alone, not by scanning all 110,000 organisations of a city.
for _name, _where in TODO_INDEXES.items():
    sa.Index(_name, Organisation.formal_members.desc(), Organisation.name, Organisation.id,
             sqlite_where=sa.text(_where), postgresql_where=sa.text(_where))


class CoverageCause(LabelledEnum):
    """Why an organisation's coverage (覆盖) changed: the steps that change it, each through domain/coverage.py."""
    BACKFILL = "backfill", "已有记录"  # the migration's and the seeding's rows for what was covered before the history
    REGISTRY = "registry", "摸底导入"
    REGISTRATION = "registration", "自行注册"
    ESTABLISH = "establish", "批准成立"
    JOINT_BRANCH = "joint_branch", "纳入联合党支部"
    DISSOLUTION = "dissolution", "党组织撤销"
    MOVE = "move", "党员转入其他党支部"
    MERGE = "merge", "党组织合并"


class CoverageChange(db.Model):
    """One change of an organisation's coverage (覆盖): from when it counts as covered, or from when no longer. The
    formation rate's trend adds these up by month, so a dissolution lowers the months after it and not before."""

    __tablename__ = "coverage_changes"
    __table_args__ = (sa.Index("ix_coverage_changes_organisation_at", "organisation_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    covered: Mapped[bool]
    cause: Mapped[CoverageCause] = mapped_column(enum_type(CoverageCause, "coverage_cause"))

    organisation: Mapped[Organisation] = relationship()


class FormationCount(db.Model):
    """The counted organisations of one unit and kind, and how many of them meet each condition the formation rate
    (组建率) and the zone's overview count: kept by domain/formation_counts.py as organisations change."""

    __tablename__ = "formation_counts"

    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), primary_key=True)
    kind: Mapped[OrgKind] = mapped_column(enum_type(OrgKind, "org_kind"), primary_key=True)
    organisations: Mapped[int]
    with_members: Mapped[int]
    covered: Mapped[int]
    covered_with_members: Mapped[int]
    should_build: Mapped[int]
    should_join: Mapped[int]
    with_party_org: Mapped[int]


class CoverageMonth(db.Model):
    """One unit's coverage changes in one month (UTC, "2026-03") among its counted organisations with Party members:
    kept with FormationCount, so that the formation rate's trend adds up these rows, not the coverage history."""

    __tablename__ = "coverage_months"

    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), primary_key=True)
    month: Mapped[str] = mapped_column(sa.String(7), primary_key=True)
    new: Mapped[int]
    lost: Mapped[int]


# The one rule of what the figures count: every rate, total, list and export of the registry filters by it.
COUNTED = Organisation.verified
# The few organisations not counted (an application of theirs is left out of every figure): found without a scan.
sa.Index("ix_organisations_not_counted", Organisation.id, sqlite_where=sa.not_(COUNTED),
         postgresql_where=sa.not_(COUNTED))
