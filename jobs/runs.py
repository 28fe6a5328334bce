"""What happened to each task a consumer took (JobRun), from Huey's signals; and the admin's view of the queue."""
import logging
import time
from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Any

import sqlalchemy as sa
from flask import current_app
from huey import signals as S

from models import JobRun, RunStatus, db, utcnow

from .queue import PERIODIC, consumer_id, crontab, label_of, periodic, queue, task_app

log = logging.getLogger(__name__)

ERROR_LENGTH = JobRun.error.type.length
BACKENDS = {"SqliteStorage": "本机 SQLite 文件", "PostgresStorage": "PostgreSQL", "RedisStorage": "Redis"}
KEEP_DONE = timedelta(days=7)  # finished runs listed this long; failed ones stay until retried
_connected: list[bool] = []


def connect(huey) -> None:
    """Record every run of a task through Huey's signals (once per process)."""
    if _connected:
        return
    _connected.append(True)
    huey.signal(S.SIGNAL_EXECUTING)(_executing)
    huey.signal(S.SIGNAL_COMPLETE)(_complete)
    huey.signal(S.SIGNAL_ERROR)(_failed)


def _name(task) -> str:
    return queue._registry.task_to_string(type(task))


def _write(change) -> None:
    # In its own app context and session, beside the task's: a task that failed has rolled its own back, and
    # recording must never fail the task (a failure here is logged).
    try:
        with task_app().app_context():
            change()
            db.session.commit()
    except Exception:
        log.exception("could not record a task run")


def _executing(signal, task) -> None:
    name = _name(task)
    if name in PERIODIC:
        return  # every minute: only their failures are listed

    def change():
        run = db.session.scalar(sa.select(JobRun).where(JobRun.task_id == task.id))
        if run is None:
            db.session.add(JobRun(task_id=task.id, name=name, args=list(task.args or ()), status=RunStatus.RUNNING,
                                  consumer=consumer_id(), started_at=utcnow()))
        else:  # Huey retrying it under the same id
            run.status, run.attempts, run.consumer, run.finished_at = (RunStatus.RUNNING, run.attempts + 1,
                                                                       consumer_id(), None)
    _write(change)


def _complete(signal, task) -> None:
    if _name(task) in PERIODIC:
        return

    def change():
        db.session.execute(sa.update(JobRun).where(JobRun.task_id == task.id)
                           .values(status=RunStatus.DONE, finished_at=utcnow()))
    _write(change)


def _failed(signal, task, error: Exception) -> None:
    message = f"{type(error).__name__}: {error}"[:ERROR_LENGTH]

    def change():
        run = db.session.scalar(sa.select(JobRun).where(JobRun.task_id == task.id))
        if run is None:  # a periodic task's failure
            run = JobRun(task_id=task.id, name=_name(task), args=list(task.args or ()), consumer=consumer_id())
            db.session.add(run)
        run.status, run.error, run.finished_at = RunStatus.FAILED, message, utcnow()
    _write(change)


def interrupt_runs(name: str, args: list[Any], reason: str) -> None:
    """Mark the runs of a task left 'running' by a consumer that died as failed (the caller has taken it up again)."""
    # Compared here, not in SQL: PostgreSQL's json type has no equality.
    for run in db.session.scalars(sa.select(JobRun).where(JobRun.name == name, JobRun.status == RunStatus.RUNNING)):
        if run.args == list(args):
            run.status, run.error, run.finished_at = RunStatus.FAILED, reason[:ERROR_LENGTH], utcnow()


# ---------------------------------------------------------------- consumers that died

def beat_consumer() -> None:
    """Say, in the queue's own storage (shared by every host), that this consumer is alive now."""
    queue.put(f"consumer-beat:{consumer_id()}", time.time())


def dead_consumer(consumer: str, stale_seconds: float) -> bool:
    """Whether a consumer has not beaten for stale_seconds (or never did: it ran before beats, or was killed)."""
    beat = queue.get(f"consumer-beat:{consumer}", peek=True)
    return beat is None or time.time() - beat > stale_seconds


@periodic(crontab(minute="*"), "后台任务：清理中断的任务", at_start=True)
def reap_dead_runs() -> None:
    """Mark as failed the runs left 'running' by a consumer that died (killed, its host down): Huey will not run them
    again; the admin may (重新执行). A task that keeps its own state takes itself up again (the registry import)."""
    stale = current_app.config["JOBS_STALE_SECONDS"]
    for run in db.session.scalars(sa.select(JobRun).where(JobRun.status == RunStatus.RUNNING)):
        if dead_consumer(run.consumer, stale):
            run.status, run.finished_at = RunStatus.FAILED, utcnow()
            run.error = f"执行中断：消费进程 {run.consumer} 已退出（心跳停止超过 {stale} 秒）"[:ERROR_LENGTH]
    db.session.commit()


# Daily, at 03:23 in the zone (crontab counts hours in UTC).
@periodic(crontab(minute="23", hour="19"), "后台任务：清理过期的任务记录")
def prune_runs(now=None) -> int:
    """Delete the records of finished tasks (任务记录): done ones JOBS_KEEP_DAYS after they finished, failed ones (and
    failed ones queued again) after JOBS_KEEP_FAILED_DAYS. Running ones stay whatever their age. Returns how many."""
    now, config = now or utcnow(), current_app.config
    gone = 0
    for statuses, days in (([RunStatus.DONE], config["JOBS_KEEP_DAYS"]),
                           ([RunStatus.FAILED, RunStatus.RETRIED], config["JOBS_KEEP_FAILED_DAYS"])):
        gone += db.session.execute(sa.delete(JobRun).where(
            JobRun.status.in_(statuses), JobRun.finished_at < now - timedelta(days=days))
            .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return gone


# ---------------------------------------------------------------- the admin's queue page

@dataclass
class Waiting:
    id: str
    label: str
    args: list[Any]
    eta: Any = None


@dataclass
class QueueView:
    waiting: list[Waiting]
    scheduled: list[Waiting]
    running: list[JobRun]
    failed: list[JobRun]
    done: list[JobRun]
    backend: str


def queue_view(limit: int = 100) -> QueueView:
    """The queue as the admin sees it (任务队列): waiting and scheduled tasks from Huey's storage, then the runs."""
    def shown(tasks) -> list[Waiting]:
        # Huey keeps times naive, in UTC (utc=True).
        return [Waiting(t.id, label_of(_name(t)), list(t.args or ()),
                        t.eta.replace(tzinfo=timezone.utc) if t.eta else None) for t in tasks]

    def runs(status: RunStatus, since=None) -> list[JobRun]:
        query = sa.select(JobRun).where(JobRun.status == status).order_by(JobRun.id.desc()).limit(limit)
        if since is not None:
            query = query.where(JobRun.started_at >= since)
        return list(db.session.scalars(query))

    return QueueView(waiting=shown(queue.pending(limit)), scheduled=shown(queue.scheduled(limit)),
                     running=runs(RunStatus.RUNNING), failed=runs(RunStatus.FAILED),
                     done=runs(RunStatus.DONE, since=utcnow() - KEEP_DONE),
                     backend="立即执行（测试）" if queue.immediate else BACKENDS.get(type(queue.storage).__name__, "其他"))


def task_class_of(run: JobRun):
    """The task a run ran, as this version of the app registers it; None if it has gone since."""
    try:
        return queue._registry.string_to_task(run.name)
    except Exception:
        return None


def enqueue_again(run: JobRun) -> None:
    """Enqueue a run's task anew with the arguments it had (domain/job_runs.py, retry_run, marks it first)."""
    queue.enqueue(task_class_of(run)(args=tuple(run.args)))
