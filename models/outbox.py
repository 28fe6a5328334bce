"""The outbox (通知外发): each notice on its way to a person by e-mail or SMS, or to the zone's group robot, and what
each person wants to receive outside the app."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db

from .base import LabelledEnum, enum_type, utcnow
from .user import User


class Channel(LabelledEnum):
    EMAIL = "email", "邮件"
    SMS = "sms", "短信"
    WEBHOOK = "webhook", "工作群机器人"


class OutboxStatus(LabelledEnum):
    QUEUED = "queued", "待发送"
    SENDING = "sending", "发送中"
    SENT = "sent", "已发送"
    FAILED = "failed", "发送失败"


class OutboxMessage(db.Model):
    """One message to send once (外发通知): claimed by one task, then sent, retried later, or given up with why."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("ix_outbox_due", "status", "next_attempt_at"),
        # A person's channels carry their own address; the group robot's address is the configured webhook.
        sa.CheckConstraint("(channel = 'webhook') = (user_id IS NULL)", name="webhook_has_no_user"),
        sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent_has_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "outbox_channel"))
    event: Mapped[str] = mapped_column(sa.String(20))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # The address as it was when the notice was written: an address changed later does not redirect it.
    recipient: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.String(1000))
    link: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    status: Mapped[OutboxStatus] = mapped_column(enum_type(OutboxStatus, "outbox_status"),
                                                 default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    error: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]

    user: Mapped[User | None] = relationship()


class NoticePreference(db.Model):
    """One choice of one person (通知设置): whether notices of `event` reach them by `channel`. No row: the default."""

    __tablename__ = "notice_preferences"
    __table_args__ = (sa.UniqueConstraint("user_id", "event", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    event: Mapped[str] = mapped_column(sa.String(20))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "outbox_channel"))
    enabled: Mapped[bool]
