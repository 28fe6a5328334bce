"""Substitutes (代理): an official's stand-in of the same role for a span of days."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db

from .base import utcnow
from .user import User


class Substitution(db.Model):
    """张三 stands in for 李四 from starts_at until ends_at (half-open; the zone's midnights, stored in UTC so that the
    statements that scope what people see compare them with the database's clock). The rules are
    domain/substitutes.py's; the table only keeps what no race may break."""

    __tablename__ = "substitutions"
    __table_args__ = (
        sa.CheckConstraint("official_id <> substitute_id", name="not_oneself"),
        sa.CheckConstraint("ends_at > starts_at", name="range_not_empty"),
        sa.Index("ix_substitutions_substitute_range", "substitute_id", "starts_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    official_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    substitute_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    official: Mapped[User] = relationship(foreign_keys=[official_id], lazy="joined")
    substitute: Mapped[User] = relationship(foreign_keys=[substitute_id], lazy="joined")

    @classmethod
    def running(cls, at: datetime | None = None) -> sa.ColumnElement[bool]:
        """Running now, by the database's clock (or at `at`, the moment a task runs for): an expired range ends by
        itself, with nothing to run."""
        moment = sa.func.now() if at is None else sa.literal(at, cls.starts_at.type)
        return sa.and_(cls.starts_at <= moment, cls.ends_at > moment)
