"""The party-building instructors (党建指导员) sent by the zone's organs."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db

from .base import utcnow
from .unit import Unit

DEFAULT_CAPACITY = 3

# Which of the nine units an instructor covers (many to many).
instructor_units = sa.Table(
    "instructor_units", db.metadata,
    sa.Column("instructor_id", sa.ForeignKey("instructors.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("unit_id", sa.ForeignKey("units.id", ondelete="CASCADE"), primary_key=True),
)


class Instructor(db.Model):
    """党建指导员: a cadre who guides the organisations assigned to them."""

    __tablename__ = "instructors"
    __table_args__ = (sa.CheckConstraint("capacity > 0", name="capacity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40))
    home_organ: Mapped[str] = mapped_column(sa.String(80))
    phone: Mapped[str] = mapped_column(sa.String(20), default="")
    capacity: Mapped[int] = mapped_column(default=DEFAULT_CAPACITY)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Loaded on demand (selectinload where a list shows it): eager "selectin" here ran one more query per 500
    # instructors on every page that touches an instructor (cards, load table, assignment), an N+1 in batches.
    units: Mapped[list[Unit]] = relationship(secondary=instructor_units, order_by=Unit.sort_order)

    def __repr__(self) -> str:
        return f"<Instructor {self.name}>"
