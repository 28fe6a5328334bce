"""One run of a background task (后台任务), as the consumers report it: what the admin's queue page lists."""
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import LabelledEnum, db, enum_type, utcnow


class RunStatus(LabelledEnum):
    RUNNING = "running", "正在执行"
    DONE = "done", "已完成"
    FAILED = "failed", "失败"
    RETRIED = "retried", "失败，已重新排队"

    @property
    def badge(self) -> str:
        return {"running": "primary", "done": "success", "failed": "danger", "retried": "secondary"}[self.value]


class JobRun(db.Model):
    """A task a consumer took from the queue: running, done, or failed with its error. Huey keeps the waiting tasks
    in its own storage; what happened to each after that lives here, in the app's database, for every host to see."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Huey's id of the task (a UUID): a retry by Huey itself runs under the same id and updates the same row.
    task_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))  # Huey's registered name, module.function
    args: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    status: Mapped[RunStatus] = mapped_column(enum_type(RunStatus, "run_status"), index=True)
    error: Mapped[str] = mapped_column(sa.String(1000), default="")
    attempts: Mapped[int] = mapped_column(default=1)
    consumer: Mapped[str] = mapped_column(sa.String(200), default="")  # host:pid of the consumer that ran it
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
