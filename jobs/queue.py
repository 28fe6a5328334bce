"""The queue itself: the Huey instance, its storage from JOBS_URL, and the decorators that declare tasks."""
import functools
import logging
import os
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from flask import Flask, current_app, has_app_context
from huey import crontab  # noqa: F401  (re-exported: the tasks' modules import it from here)
from huey.api import Huey
from huey.storage import MemoryStorage, PostgresStorage, RedisStorage, SqliteStorage

ROOT = Path(__file__).resolve().parent.parent

# Bound to its storage by bind (jobs.init_app); until then, and with JOBS_IMMEDIATE, tasks run at once, in memory.
queue = Huey("zone", immediate=True, storage_class=MemoryStorage)

# Huey's name of each task (module.function) -> what the queue page calls it.
LABELS: dict[str, str] = {}
PERIODIC: set[str] = set()
AT_START: list = []  # periodic tasks the consumer that runs them also runs as it starts
_app: Flask | None = None


def storage_for(url: str) -> tuple[type, dict[str, Any]]:
    """The Huey storage class and its arguments for a JOBS_URL: sqlite:///path (relative to the project),
    postgresql://... (psycopg 3) or redis://..."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path = path if path.is_absolute() else ROOT / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteStorage, {"filename": str(path)}
    if re.match(r"postgres(ql)?(\+psycopg)?://", url):
        return PostgresStorage, {"dsn": re.sub(r"^postgres(ql)?(\+psycopg)?://", "postgresql://", url)}
    if re.match(r"rediss?://", url):
        return RedisStorage, {"url": url}
    # Only the scheme is named: the rest of a mistyped URL may carry a password into the log.
    scheme = url.split("://", 1)[0] if "://" in url else "(no scheme)"
    raise RuntimeError(f"JOBS_URL 应以 sqlite:///、postgresql:// 或 redis:// 开头 (JOBS_URL must be sqlite:///..., "
                       f"postgresql://... or redis://..., not {scheme}://...)")


def bind(app: Flask) -> None:
    """Bind the queue to the app's JOBS_URL (or run tasks at once, JOBS_IMMEDIATE)."""
    global _app
    _app = app
    storage_class, kwargs = storage_for(app.config["JOBS_URL"])
    queue.storage_class, queue.storage_kwargs = storage_class, kwargs
    queue._immediate = app.config["JOBS_IMMEDIATE"]  # the setter would not rebuild a storage it thinks unchanged
    try:
        queue.storage = queue.create_storage()
    except psycopg.OperationalError as error:
        # PostgreSQL's storage creates its tables as it is made. The app must start while the database is down
        # (its pages then answer 503 until it is back): the tables are created by the next process that reaches it.
        logging.getLogger(__name__).warning("job queue: PostgreSQL unreachable, its tables not checked: %s", error)
        queue.storage = queue.get_storage(**kwargs, create_tables=False)


def task_app() -> Flask:
    """The app a task runs in: the one it was enqueued from when it runs at once, else the consumer's."""
    if has_app_context():
        return current_app._get_current_object()
    if _app is None:
        raise RuntimeError("jobs.init_app was never called: create the app before running tasks")
    return _app


def _in_app_context(fn: Callable) -> Callable:
    # Huey's Flask recipe: each run gets its own app context, hence its own database session, as a request does.
    @functools.wraps(fn)
    def run(*args, **kwargs):
        with task_app().app_context():
            return fn(*args, **kwargs)
    return run


def task(label: str, **options) -> Callable:
    """A background task (后台任务); label is what the admin's queue page calls it. Calling the decorated function
    enqueues it."""
    def decorate(fn: Callable):
        wrapped = queue.task(**options)(_in_app_context(fn))
        LABELS[task_name(wrapped)] = label
        return wrapped
    return decorate


def periodic(schedule: crontab, label: str, *, at_start: bool = False) -> Callable:
    """A periodic task, run by the one consumer started without --no-periodic; at_start: by that consumer as it
    starts, too (a sweep for what a killed consumer left behind need not wait for the next minute)."""
    def decorate(fn: Callable):
        wrapped = queue.periodic_task(schedule)(_in_app_context(fn))
        LABELS[task_name(wrapped)] = label
        PERIODIC.add(task_name(wrapped))
        if at_start:
            AT_START.append(wrapped)
        return wrapped
    return decorate


def task_name(wrapped) -> str:
    return queue._registry.task_to_string(wrapped.task_class)


def label_of(name: str) -> str:
    return LABELS.get(name, name)


def consumer_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
