"""The job queue (任务队列): work that runs without anyone on the page, on Huey.

One setting, JOBS_URL, chooses where the queue lives: a SQLite file beside the app's database by default (nothing to
install; `make run` and the tests), PostgreSQL or Redis in production, where several hosts share it. Tasks are
declared with `@task(label)` / `@periodic(crontab(...), label)` (jobs/queue.py), run by
`flask --app app jobs consume` (jobs/cli.py), each inside an app context, and every run is recorded in the app's
database (jobs/runs.py) for the admin's queue page.

Huey does not promise that a task taken by a consumer that is then killed runs again: a long task keeps its own
state (status, progress, heartbeat) in its own table and is made idempotent, and a periodic task takes up again
whatever went stale (domain/registry_import.py does so for the registry import).

The package sits below domain/: it knows the models, never the domain's rules.
"""
from flask import Flask

from .cli import jobs as jobs_command
from .queue import ROOT, bind, crontab, label_of, periodic, queue, storage_for, task, task_name
from .runs import connect

__all__ = ["ROOT", "crontab", "init_app", "label_of", "periodic", "queue", "storage_for", "task", "task_name"]


def init_app(app: Flask) -> None:
    """Bind the queue to the app's configuration, record its runs, and add `flask jobs`."""
    bind(app)
    connect(queue)
    app.cli.add_command(jobs_command)
