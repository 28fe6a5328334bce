"""An export of a to-do list (应建未建、应联未联导出): written by a consumer of the job queue, downloaded by whoever asked."""
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db

from .base import LabelledEnum, enum_type, utcnow
from .stored_file import StoredFile
from .unit import Unit
from .user import Role, User


class ExportStatus(LabelledEnum):
    QUEUED = "queued", "排队中"
    RUNNING = "running", "正在生成"
    DONE = "done", "已生成"
    FAILED = "failed", "生成失败"

    @property
    def badge(self) -> str:
        return {"queued": "secondary", "running": "primary", "done": "success", "failed": "danger"}[self.value]


# How long a finished export may be downloaded; a periodic task deletes it (and its file) after that.
EXPORT_KEPT_FOR = timedelta(hours=24)


class TodoExport(db.Model):
    """One export of 应建未建 or 应联未联 as the asker filtered it, and its file once written."""

    __tablename__ = "todo_exports"
    __table_args__ = (
        sa.CheckConstraint("list IN ('build', 'join')", name="list_known"),
        sa.CheckConstraint("total_rows >= 0 AND processed_rows >= 0", name="row_counts"),
        # A file exactly when it is done.
        sa.CheckConstraint("(status = 'done') = (file_id IS NOT NULL)", name="file_when_done"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # The asker's scope when they asked: a unit reviewer's unit, NULL for the whole zone. Only the asker, in that
    # scope still, may download it (can_view).
    scope_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    # The filters (domain/dashboard.py, TodoFilter): the list, a unit, a kind, a name or code.
    list: Mapped[str] = mapped_column(sa.String(10))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    kind: Mapped[str] = mapped_column(sa.String(20), default="")
    q: Mapped[str] = mapped_column(sa.String(100), default="")
    status: Mapped[ExportStatus] = mapped_column(enum_type(ExportStatus, "export_status"), default=ExportStatus.QUEUED)
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    message: Mapped[str] = mapped_column(sa.String(500), default="")
    # Written with each page: a running export whose heartbeat went stale lost its consumer.
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    created_by: Mapped[User] = relationship()
    scope_unit: Mapped[Unit | None] = relationship(foreign_keys=[scope_unit_id])
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    file: Mapped[StoredFile | None] = relationship()

    @property
    def expired(self) -> bool:
        """Older than EXPORT_KEPT_FOR: its file is gone, or about to be."""
        return utcnow() - self.created_at > EXPORT_KEPT_FOR

    def can_view(self, user: User) -> bool:
        """Only the asker, and only while their scope is the one it was made for (a reviewer moved to another unit
        no longer gets their old unit's list)."""
        return user.id == self.created_by_id and export_scope(user) == self.scope_unit_id


def export_scope(user: User) -> int | None:
    """The scope a user's exports are of: a unit reviewer's unit, None (the whole zone) for the others."""
    return user.unit_id if user.role is Role.UNIT_REVIEWER else None
