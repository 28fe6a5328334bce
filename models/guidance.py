"""The instructors' work: assignments with their history, guidance visits, and the 六建六送 checklist."""
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db

from .application import Application
from .base import LabelledEnum, enum_type, utcnow
from .instructor import Instructor
from .stored_file import StoredFile
from .user import User


class Assignment(db.Model):
    """An instructor's assignment to an organisation (选派), open until a reassignment ends it."""

    __tablename__ = "assignments"
    __table_args__ = (
        # One current instructor per application; the ended ones are its history.
        sa.Index("uq_assignments_one_current", "application_id", unique=True,
                 sqlite_where=sa.text("ended_at IS NULL"), postgresql_where=sa.text("ended_at IS NULL")),
        sa.CheckConstraint("NOT over_capacity OR length(reason) > 0", name="over_capacity_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    instructor_id: Mapped[int] = mapped_column(sa.ForeignKey("instructors.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    assigned_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    over_capacity: Mapped[bool] = mapped_column(default=False)
    ended_at: Mapped[datetime | None]

    application: Mapped[Application] = relationship()
    instructor: Mapped[Instructor] = relationship(lazy="joined")
    assigned_by: Mapped[User] = relationship(lazy="joined")


class VisitForm(LabelledEnum):
    ON_SITE = "on_site", "实地走访"
    PHONE = "phone", "电话"
    ONLINE = "online", "线上"


class GuidanceVisit(db.Model):
    """A guidance visit (指导记录) by the instructor to an organisation."""

    __tablename__ = "guidance_visits"
    __table_args__ = (sa.Index("ix_guidance_visits_application_date", "application_id", "visited_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"))
    instructor_id: Mapped[int] = mapped_column(sa.ForeignKey("instructors.id"), index=True)
    visited_on: Mapped[date]
    form: Mapped[VisitForm] = mapped_column(enum_type(VisitForm, "visit_form"))
    topics: Mapped[str] = mapped_column(sa.String(500))
    problems: Mapped[str] = mapped_column(sa.Text, default="")
    follow_up: Mapped[str] = mapped_column(sa.Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    instructor: Mapped[Instructor] = relationship(lazy="joined")


class ChecklistItem(LabelledEnum):
    """六建六送: what the zone builds with, and gives to, each new Party organisation."""

    PLAQUE = "plaque", "建党组织送牌匾"
    FLAG = "flag", "建阵地送党旗"
    ROOM = "room", "建活动室送活动设施"
    BOARDS = "boards", "建宣传栏送图板"
    BOOKS = "books", "建阅览室送党建书籍"
    SOFTWARE = "software", "建制度送软件"


class Delivery(db.Model):
    """One ticked item of an organisation's 六建六送 checklist: when it was delivered and who confirmed it."""

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint("application_id", "item", name="uq_deliveries_application_item"),
        # The zone's 六建六送 counts (domain/guidance.py checklist_totals): each item's deliveries in application
        # order, counted and merge-joined from the index alone.
        sa.Index("ix_deliveries_item_application", "item", "application_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    item: Mapped[ChecklistItem] = mapped_column(enum_type(ChecklistItem, "checklist_item"))
    delivered_on: Mapped[date]
    confirmed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    photo_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    confirmed_by: Mapped[User] = relationship(lazy="joined")
    photo: Mapped[StoredFile | None] = relationship()
