"""`flask --app app jobs consume`: a consumer of the queue, in the app it was started with."""
import logging
import os
import threading
import time

import click
from flask import current_app
from flask.cli import AppGroup

from .queue import AT_START, bind, queue, task_name
from .runs import beat_consumer

log = logging.getLogger(__name__)
jobs = AppGroup("jobs", help="后台任务队列 (the job queue)")


@jobs.command("consume")
# One thread by default: on SQLite two imports at once would only wait for each other's write lock.
@click.option("--workers", default=1, show_default=True, help="并发执行任务的线程数 (worker threads)")
@click.option("--no-periodic", is_flag=True, help="不运行定时任务：多个消费进程中只能有一个运行定时任务")
@click.option("--exit-with-parent", is_flag=True,
              help="父进程退出时随之退出（make run 用：网页服务停止后不留下孤立的消费进程）")
@click.option("--quiet", is_flag=True,
              help="只输出警告和错误（make run 用：定时任务每分钟的执行记录不淹没网页服务的输出）")
def consume(workers: int, no_periodic: bool, exit_with_parent: bool, quiet: bool) -> None:
    """Run a consumer until Ctrl-C (or SIGTERM): it takes tasks from JOBS_URL and runs them."""
    configure_logging(quiet=quiet)
    run_consumer(current_app._get_current_object(), workers=workers, periodic=not no_periodic,
                 exit_with_parent=exit_with_parent)


def configure_logging(*, quiet: bool) -> None:
    """INFO for production, where each task's start and end is worth keeping; under `make run` the consumer shares the
    terminal with the web server, and the periodic tasks' two lines a minute each would bury the server's."""
    logging.basicConfig(format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(logging.WARNING if quiet else logging.INFO)


# The longest an idle consumer waits before it looks for a task again. Huey's default, 10 s, kept a user who asked for
# an export or uploaded a file on a quiet queue (SQL storage is polled) waiting up to 10 s before anything started;
# a poll a second is one small query.
IDLE_POLL_SECONDS = 1.0


def run_consumer(app, *, workers: int = 1, periodic: bool = True, exit_with_parent: bool = False) -> None:
    """A Huey consumer of this app's queue, in threads; the tests start one in a process of its own."""
    app.config["JOBS_IMMEDIATE"] = False  # the testing config runs tasks at once; a consumer is never that
    bind(app)
    if exit_with_parent:
        _exit_with(os.getppid())
    _keep_beating(app.config["JOBS_HEARTBEAT_SECONDS"])
    if periodic:
        for sweep in AT_START:
            try:
                sweep.call_local()
            except Exception:  # the database not up yet, say: the minute's run will sweep again
                log.exception("%s failed as the consumer started", task_name(sweep))
    queue.create_consumer(workers=workers, periodic=periodic, worker_type="thread", max_delay=IDLE_POLL_SECONDS).run()


def _keep_beating(seconds: float) -> None:
    # While this process lives, its runs are its own (jobs/runs.py, reap_dead_runs).
    def beat():
        while True:
            try:
                beat_consumer()
            except Exception:
                log.warning("consumer heartbeat not written", exc_info=True)
            time.sleep(seconds)

    beat_consumer()  # before the first task runs
    threading.Thread(target=beat, name="consumer-heartbeat", daemon=True).start()


def _exit_with(parent: int) -> None:
    # `make run` starts the consumer beside the web server; if make is killed outright, the consumer goes too.
    def watch():
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
