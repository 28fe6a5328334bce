"""换届 and its changes of date (延期换届, 提前换届): what an established organisation asks of the zone when its term
ends, from the 请示 to the new term."""
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db

from .base import LabelledEnum, enum_type, utcnow
from .party_org import PartyOrg
from .user import User


class RenewalKind(LabelledEnum):
    RENEWAL = "renewal", "换届"
    POSTPONE = "postpone", "延期换届"
    ADVANCE = "advance", "提前换届"


class RenewalState(LabelledEnum):
    SUBMITTED = "submitted", "待初审"
    UNIT_PASSED = "unit_passed", "待党工委审批"
    RETURNED = "returned", "已退回"
    APPROVED = "approved", "已批准换届，待报告选举结果"
    RESCHEDULING = "rescheduling", "改期待党工委审批"  # an approved 换届 whose election is to move (延期/提前)
    ELECTION_REPORTED = "election_reported", "选举结果待审批"
    COMPLETED = "completed", "已完成换届"
    ASKED = "asked", "待党工委审批"  # a change of date (延期/提前), which goes to the zone alone
    GRANTED = "granted", "已批准"
    REFUSED = "refused", "不予批准"
    WITHDRAWN = "withdrawn", "已撤回"
    ENDED = "ended", "已终止"  # the organisation was dissolved or merged while the request was open


# Where a request is still open: one at a time per organisation (uq_renewals_one_open, below).
OPEN_RENEWAL_STATES = (RenewalState.SUBMITTED, RenewalState.UNIT_PASSED, RenewalState.RETURNED,
                       RenewalState.APPROVED, RenewalState.RESCHEDULING, RenewalState.ELECTION_REPORTED,
                       RenewalState.ASKED)
_OPEN_SQL = "state IN ({})".format(", ".join(f"'{s.value}'" for s in OPEN_RENEWAL_STATES))


class Renewal(db.Model):
    """An organisation's request about its next election (换届请示, or 延期/提前换届的请示), and what came of it."""

    __tablename__ = "renewals"
    __table_args__ = (
        # One open request per organisation: a second 请示 while one is under way is refused by the database too.
        sa.Index("uq_renewals_one_open", "party_org_id", unique=True,
                 sqlite_where=sa.text(_OPEN_SQL), postgresql_where=sa.text(_OPEN_SQL)),
        # A change of date has a reason; a 换届 has its candidates' secretary.
        sa.CheckConstraint("kind = 'renewal' OR length(reason) > 0", name="date_change_has_reason"),
        sa.CheckConstraint("kind = 'renewal' OR state IN ('asked', 'granted', 'refused', 'withdrawn', 'ended')",
                           name="date_change_states"),
        sa.CheckConstraint("kind <> 'renewal' OR state NOT IN ('asked', 'granted', 'refused')",
                           name="renewal_states"),
        # An approved 换届 asked to move its election names the day asked for.
        sa.CheckConstraint("state <> 'rescheduling' OR asked_on IS NOT NULL", name="rescheduling_has_date"),
        # Reported and completed elections carry their date and secretary.
        sa.CheckConstraint("state NOT IN ('election_reported', 'completed') OR "
                           "(elected_on IS NOT NULL AND length(elected_secretary) > 0)", name="election_reported"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    party_org_id: Mapped[int] = mapped_column(sa.ForeignKey("party_orgs.id"), index=True)
    kind: Mapped[RenewalKind] = mapped_column(enum_type(RenewalKind, "renewal_kind"))
    state: Mapped[RenewalState] = mapped_column(enum_type(RenewalState, "renewal_state"))
    version: Mapped[int] = mapped_column(default=1)
    # 换届: the planned election day; 延期/提前: the new day by which the term's election is held (the new term_end).
    planned_on: Mapped[date]
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    # An approved 换届's election asked to move (改期, 延期 or 提前) to this day, while the zone decides.
    asked_on: Mapped[date | None]
    # The candidates (候选人) of the 请示, names separated by 、.
    secretary_candidate: Mapped[str] = mapped_column(sa.String(40), default="")
    deputy_candidates: Mapped[str] = mapped_column(sa.String(200), default="")
    member_candidates: Mapped[str] = mapped_column(sa.String(500), default="")
    # The election's result (选举结果), once reported.
    elected_on: Mapped[date | None]
    elected_secretary: Mapped[str] = mapped_column(sa.String(40), default="")
    elected_deputies: Mapped[str] = mapped_column(sa.String(200), default="")
    elected_members: Mapped[str] = mapped_column(sa.String(500), default="")
    submitted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    party_org: Mapped[PartyOrg] = relationship(lazy="joined")
    submitted_by: Mapped[User] = relationship()

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_RENEWAL_STATES
