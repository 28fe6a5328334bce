"""A registry import (摸底导入): the uploaded spreadsheet, its checked rows, and the progress of its commit."""
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db

from .base import LabelledEnum, enum_type, utcnow
from .stored_file import StoredFile
from .unit import Unit
from .user import User


class ImportStatus(LabelledEnum):
    CHECKING = "checking", "正在校验"
    INVALID = "invalid", "有错误，未导入"
    READY = "ready", "校验通过，待确认"
    RUNNING = "running", "正在导入"
    DONE = "done", "已导入"
    FAILED = "failed", "导入失败"

    @property
    def badge(self) -> str:
        return {"checking": "primary", "invalid": "danger", "ready": "info", "running": "primary", "done": "success",
                "failed": "danger"}[self.value]

    @property
    def working(self) -> bool:
        """A consumer of the job queue is at it (checking the file, or writing it): the page follows its progress."""
        return self in (ImportStatus.CHECKING, ImportStatus.RUNNING)


# How long a checked file may wait for its confirmation (确认导入).
CHECK_VALID_FOR = timedelta(hours=24)


class RegistryImport(db.Model):
    """One upload of the registry: checked whole before anything is written, then committed all or nothing."""

    __tablename__ = "registry_imports"
    __table_args__ = (
        sa.CheckConstraint("total_rows >= 0 AND processed_rows >= 0 AND processed_rows <= total_rows",
                           name="row_counts"),
        sa.CheckConstraint("created_count >= 0 AND updated_count >= 0", name="result_counts"),
        # Only a file without bad rows may be committed.
        sa.CheckConstraint("error_count = 0 OR status = 'invalid'", name="errors_block_commit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # A unit reviewer's import may touch only this unit's organisations; NULL for the whole zone (admin).
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id"))
    status: Mapped[ImportStatus] = mapped_column(enum_type(ImportStatus, "import_status"))
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    created_count: Mapped[int] = mapped_column(default=0)
    updated_count: Mapped[int] = mapped_column(default=0)
    # [{"line": 7, "code": "...", "message": "..."}], at most MAX_REPORTED_ERRORS of them.
    errors: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    # The checked, normalised rows the commit writes, packed a chunk of rows at a time (domain/registry_import.py,
    # _packed; dicts, for a file checked before); deferred because 110,000 of them weigh megabytes.
    rows: Mapped[list[Any]] = mapped_column(sa.JSON, default=list, deferred=True)
    message: Mapped[str] = mapped_column(sa.String(500), default="")
    # [{"line", "code", "field", "registered", "imported"}]: where the file differed from what an organisation that
    # registered itself had typed (the file's value was written); for the unit to settle with the organisation.
    differences: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list, server_default="[]")
    started_at: Mapped[datetime | None]  # confirmed (确认导入)
    # The check and then the commit run as tasks (domain/registry_import.py): each consumer that takes one up counts
    # an attempt, and beats this while it works; a heartbeat gone stale means its consumer died, and the import is
    # taken up again (once) from nothing, its first attempt's transaction having died with it. While the file is
    # checked, processed_rows and total_rows are the rows checked and an estimate of the file's.
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    created_by: Mapped[User] = relationship(lazy="joined")
    unit: Mapped[Unit | None] = relationship(lazy="joined")
    file: Mapped[StoredFile] = relationship(lazy="joined")

    @property
    def valid_rows(self) -> int:
        return self.total_rows - self.error_count

    @property
    def expired(self) -> bool:
        """A checked file not confirmed within CHECK_VALID_FOR: the registry has moved on since, check it again."""
        return self.status is ImportStatus.READY and utcnow() - self.created_at > CHECK_VALID_FOR

    def can_view(self, user: User) -> bool:
        """An admin sees every import; a unit reviewer only their own, while still of the unit it was made for (one
        moved to another unit neither reads nor confirms their old unit's rows)."""
        from .user import Role

        return user.role is Role.ADMIN or (user.id == self.created_by_id and user.unit_id == self.unit_id)
