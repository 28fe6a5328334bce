"""Reminders already sent (已发提醒): the key that lets a periodic task run twice, or on two consumers, and still
remind each person once."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db

from .base import utcnow


class SentReminder(db.Model):
    """One reminder of one kind about one item for one period of waiting (domain/reminders.py), or one day's digest
    to one reader (kind "digest", item the reader, domain/digest.py). The unique key is the whole guard: a second
    sender's insert is refused, and it sends nothing."""

    __tablename__ = "sent_reminders"
    __table_args__ = (sa.UniqueConstraint("kind", "item_id", "period", name="uq_sent_reminders_kind_item_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    item_id: Mapped[int]
    # Which wait this is (the moment it began, as text): a new wait of the same item is reminded again.
    period: Mapped[str] = mapped_column(sa.String(40))
    recipients: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
