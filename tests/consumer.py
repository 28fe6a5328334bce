"""A real consumer of the job queue, in a process of its own, for the tests that need one (not JOBS_IMMEDIATE)."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import jobs

ROOT = Path(__file__).resolve().parent.parent

# argv: database URI, JOBS_URL, stale seconds, then Python run before the consumer starts (a hook the test needs).
CONSUMER = r"""
import sys
from tests.conftest import make_test_app
from jobs.cli import run_consumer

uri, jobs_url, stale, hook = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
app = make_test_app(uri)
app.config.update(JOBS_URL=jobs_url, JOBS_STALE_SECONDS=stale, JOBS_HEARTBEAT_SECONDS=0.2)
exec(hook)
run_consumer(app, workers=1, periodic=True)
"""


@pytest.fixture
def real_queue(app, tmp_path):
    """The app's queue in a SQLite file, its tasks waiting for a consumer instead of running at once."""
    app.config.update(JOBS_URL=f"sqlite:///{tmp_path / 'jobs.db'}", JOBS_IMMEDIATE=False)
    jobs.init_app(app)
    yield app.config["JOBS_URL"]
    app.config["JOBS_IMMEDIATE"] = True
    jobs.init_app(app)


def start_consumer(app, jobs_url: str, log: Path, *, stale_seconds: int = 120, hook: str = "") -> subprocess.Popen:
    """A consumer process; what it logs goes to the file log (a pipe nobody reads would fill and stop it)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", CONSUMER, app.config["SQLALCHEMY_DATABASE_URI"], jobs_url, str(stale_seconds), hook],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL, stderr=out)


def stop_consumer(consumer: subprocess.Popen) -> None:
    """Ctrl-C, as a person stops `make run`: Huey finishes what it runs and exits."""
    if consumer.poll() is None:
        consumer.send_signal(signal.SIGINT)
        try:
            consumer.wait(timeout=30)
        except subprocess.TimeoutExpired:
            consumer.kill()
            consumer.wait()
