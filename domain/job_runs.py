"""What the admin does with the job queue's runs (后台任务): retry a failed one."""
import sqlalchemy as sa

from jobs.queue import label_of
from jobs.runs import task_class_of
from models import JobRun, RunStatus, User, db

from . import DomainError
from .audit import record_event


def retry_run(run: JobRun, *, actor: User) -> None:
    """Mark a failed task to be run again (重新执行); the caller commits, then enqueues it (jobs.runs.enqueue_again)."""
    if run.status is not RunStatus.FAILED:
        raise DomainError("只有失败的任务可以重新执行；该任务已在执行、已完成或已重新排队")
    if task_class_of(run) is None:
        raise DomainError("该任务已不存在于本版本的系统中，无法重新执行")
    flipped = db.session.execute(sa.update(JobRun).where(JobRun.id == run.id, JobRun.status == RunStatus.FAILED)
                                 .values(status=RunStatus.RETRIED).execution_options(synchronize_session=False))
    if flipped.rowcount != 1:
        raise DomainError("该任务已被重新排队，请刷新页面")
    db.session.refresh(run)
    record_event("retry_job", run, actor, f"重新执行后台任务：{label_of(run.name)}")
