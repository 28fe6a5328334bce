"""A construction project's branch (工程项目党支部): the project it lives as long as, and the 三个同步 at founding."""
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from extensions import db

from .application import Application
from .party_org import PartyOrg, PartyOrgState

# The article's 三个同步, as the application form asks them and the record shows them: (column, words).
THREE_SYNCS = (
    ("sync_founded", "项目部与党支部同步成立"),
    ("sync_staffed", "行政负责人与支部书记同步配备"),
    ("sync_working", "项目推进与党建工作同步开展"),
)


class Project(db.Model):
    """The project (工程项目) a project organisation's application names, carried to its Party organisation once
    established; when its planned end passes, or its contact reports it ended, the zone decides the branch's future:
    撤销, 调整, or keep it (with a reason) until review_on."""

    __tablename__ = "projects"
    __table_args__ = (
        sa.CheckConstraint("planned_end IS NULL OR planned_start IS NULL OR planned_end > planned_start",
                           name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), unique=True)
    # Set when the founding establishes the organisation (domain/party_orgs/records.py).
    party_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("party_orgs.id"), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    builder: Mapped[str] = mapped_column(sa.String(100), default="")  # 建设单位
    planned_start: Mapped[date | None]
    planned_end: Mapped[date | None]
    sync_founded: Mapped[bool] = mapped_column(default=False)
    sync_staffed: Mapped[bool] = mapped_column(default=False)
    sync_working: Mapped[bool] = mapped_column(default=False)
    # The day the contact reported the project ended (项目结束), if before or after the planned end.
    ended_on: Mapped[date | None]
    # The zone kept the branch after the project's end: it decides again from this day.
    review_on: Mapped[date | None]

    application: Mapped[Application] = relationship(
        backref=backref("project", uselist=False, lazy="joined", cascade="all, delete-orphan"))
    party_org: Mapped[PartyOrg | None] = relationship(backref=backref("project", uselist=False, lazy="joined"))

    @classmethod
    def awaiting_decision(cls, today: date) -> sa.ColumnElement[bool]:
        """The zone owes a decision (撤销, 调整 or keep): the branch is active, its project ended (reported, or the
        planned end passed), and no keep decision runs past today. The one rule of the list, the task and the step."""
        return sa.and_(cls.party_org_id.in_(sa.select(PartyOrg.id).where(PartyOrg.state == PartyOrgState.ACTIVE)),
                       sa.or_(cls.ended_on.is_not(None), cls.planned_end < today),
                       sa.or_(cls.review_on.is_(None), cls.review_on <= today))

    def decision_due(self, today: date) -> bool:
        return bool(db.session.scalar(sa.select(sa.exists().where(Project.id == self.id,
                                                                  Project.awaiting_decision(today)))))

    @property
    def syncs(self) -> list[tuple[str, bool]]:
        """The 三个同步 in order, each with whether the application ticked it."""
        return [(label, getattr(self, column)) for column, label in THREE_SYNCS]
