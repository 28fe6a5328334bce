"""The job queue: its backends, a real consumer killed in the middle of an import, and the admin's queue page."""
import signal
import time

import pytest
import sqlalchemy as sa
from huey.storage import PostgresStorage, RedisStorage, SqliteStorage

import domain.registry_import as importer
import jobs
from jobs.runs import queue_view
from models import AuditEvent, ImportStatus, JobRun, Organisation, RegistryImport, Role, RunStatus, db
from tests.consumer import real_queue, start_consumer, stop_consumer  # noqa: F401 (a fixture)
from tests.conftest import on_postgresql, valid_credit_code
from tests.test_registry_import import csv_bytes, latest_job, row, upload


@pytest.mark.parametrize("url, storage, kwargs", [
    ("sqlite:////var/lib/zone/jobs.db", SqliteStorage, {"filename": "/var/lib/zone/jobs.db"}),
    ("postgresql+psycopg://zone@db.internal/zone", PostgresStorage, {"dsn": "postgresql://zone@db.internal/zone"}),
    ("postgres://zone@db.internal/zone", PostgresStorage, {"dsn": "postgresql://zone@db.internal/zone"}),
    ("redis://10.0.0.5:6379/1", RedisStorage, {"url": "redis://10.0.0.5:6379/1"}),
])
def test_one_setting_chooses_the_queues_backend(url, storage, kwargs, monkeypatch):
    monkeypatch.setattr("pathlib.Path.mkdir", lambda *a, **k: None)
    assert jobs.storage_for(url) == (storage, kwargs)


def test_a_relative_sqlite_queue_lives_in_the_project_and_a_wrong_url_is_named():
    assert jobs.storage_for("sqlite:///instance/jobs.db")[1]["filename"] == str(jobs.ROOT / "instance" / "jobs.db")
    with pytest.raises(RuntimeError, match="JOBS_URL") as refused:
        jobs.storage_for("mysql://zone:s3cret-pw@localhost/jobs")
    assert "mysql://" in str(refused.value) and "s3cret-pw" not in str(refused.value)


def test_the_app_starts_while_the_queues_postgresql_is_down(app):
    from app import create_app

    down = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                       "JOBS_IMMEDIATE": False, "JOBS_URL": "postgresql://postgres@127.0.0.1:1/zone"})
    assert isinstance(jobs.queue.storage, PostgresStorage) and down.config["JOBS_URL"].endswith(":1/zone")
    jobs.init_app(app)  # the app's own queue again (at once, as the tests run it)


def _wait_for(what, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while not (found := what()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return found


def _job(app, job_id: int) -> RegistryImport:
    with app.app_context():
        job = db.session.get(RegistryImport, job_id)
        db.session.expunge(job)
        return job


# Consumer A writes the first chunk of two rows, says so, and hangs inside its transaction until it is killed.
HANG_AFTER_FIRST_CHUNK = r"""
import time
from pathlib import Path
import domain.registry_import as importer
from models import db
importer.CHUNK = 2
original = importer._chunks
def hang_after_first(items):
    for number, batch in enumerate(original(items)):
        if number == 1:
            db.session.flush()
            Path(%r).write_text("in the middle")
            time.sleep(300)
        yield batch
importer._chunks = hang_after_first
"""


def test_a_consumer_killed_mid_import_is_replaced_and_the_import_written_once(app, client, login_as, real_queue,
                                                                            tmp_path):
    login_as(Role.ADMIN)
    codes = [valid_credit_code() for _ in range(5)]
    upload(client, csv_bytes([row(code) for code in codes]))
    job_id = latest_job(app).id
    with app.app_context():  # checked here; its task, still queued, finds it checked and leaves it
        importer.run_registry_check(job_id)
    client.post(f"/registry/imports/{job_id}/commit")  # enqueued: nobody consumes yet
    assert _job(app, job_id).status is ImportStatus.RUNNING and _job(app, job_id).attempts == 0

    marker = tmp_path / "marker"
    log = tmp_path / "consumers.log"
    first = start_consumer(app, real_queue, log, stale_seconds=2, hook=HANG_AFTER_FIRST_CHUNK % str(marker))
    try:
        _wait_for(lambda: marker.exists() or first.poll() is not None)  # the first chunk written, uncommitted
        assert first.poll() is None, log.read_text()
        if on_postgresql(app):  # its heartbeat, from a connection of its own, shows the rows written so far
            _wait_for(lambda: _job(app, job_id).processed_rows == 2, seconds=10)
    finally:
        first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=10) == -signal.SIGKILL

    with app.app_context():  # its transaction died with it
        assert db.session.scalar(sa.select(sa.func.count(Organisation.id))) == 0
    assert _job(app, job_id).status is ImportStatus.RUNNING and _job(app, job_id).attempts == 1

    time.sleep(2.5)  # its heartbeat goes stale
    second = start_consumer(app, real_queue, log, stale_seconds=2)
    try:
        done = _wait_for(lambda: _job(app, job_id).status is not ImportStatus.RUNNING or second.poll() is not None)
        assert done and second.poll() is None, log.read_text()
    finally:
        stop_consumer(second)

    job = _job(app, job_id)
    assert job.status is ImportStatus.DONE and job.attempts == 2 and job.created_count == 5
    with app.app_context():
        assert set(db.session.scalars(sa.select(Organisation.credit_code))) == set(codes)
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == "import_registry")) == 1
        runs = {run.status: run for run in db.session.scalars(sa.select(JobRun))}
        assert set(runs) == {RunStatus.FAILED, RunStatus.DONE}
        assert "执行中断" in runs[RunStatus.FAILED].error and runs[RunStatus.DONE].args == [job_id]


def test_every_run_of_a_task_is_recorded(client, app, login_as):
    login_as(Role.ADMIN)
    upload(client, csv_bytes([row(valid_credit_code())]))
    job_id = latest_job(app).id
    client.post(f"/registry/imports/{job_id}/commit")  # run at once (JOBS_IMMEDIATE), recorded all the same
    with app.app_context():
        runs = db.session.scalars(sa.select(JobRun).order_by(JobRun.id)).all()
        assert [(run.name, run.args, run.status) for run in runs] == [
            ("domain.registry_import.check_registry_import", [job_id], RunStatus.DONE),
            ("domain.registry_import.write_registry_import", [job_id], RunStatus.DONE)]
        assert all(run.finished_at is not None and run.consumer for run in runs)


def _failed_run(app, monkeypatch, client) -> int:
    """An import whose task failed outright (not one the import itself catches): its run is listed as failed."""
    upload(client, csv_bytes([row(valid_credit_code())]))
    job_id = latest_job(app).id

    def broken(job_id):
        raise RuntimeError("连接数据库超时")

    monkeypatch.setattr(importer, "run_registry_import", broken)
    client.post(f"/registry/imports/{job_id}/commit")
    monkeypatch.undo()
    with app.app_context():
        return db.session.scalar(sa.select(JobRun.id).where(JobRun.status == RunStatus.FAILED))


def test_the_admin_sees_a_failed_task_with_its_error_and_retries_it(client, app, login_as, monkeypatch):
    login_as(Role.ADMIN)
    run_id = _failed_run(app, monkeypatch, client)
    page = client.get("/admin/jobs/").get_data(as_text=True)
    assert "摸底导入：写入名录" in page and "RuntimeError: 连接数据库超时" in page and "重新执行" in page

    response = client.post(f"/admin/jobs/runs/{run_id}/retry", follow_redirects=True)
    assert "已重新排队：摸底导入：写入名录" in response.get_data(as_text=True)
    job = latest_job(app)
    assert job.status is ImportStatus.DONE and job.created_count == 1  # the retry ran it (at once, in the tests)
    with app.app_context():
        statuses = sorted(status.value for status in db.session.scalars(sa.select(JobRun.status)))
        assert statuses == ["done", "done", "retried"]  # the file's check, the retry, and the run that failed
        assert db.session.scalar(sa.select(AuditEvent.summary).where(AuditEvent.action == "retry_job")) == \
            "重新执行后台任务：摸底导入：写入名录"
    again = client.post(f"/admin/jobs/runs/{run_id}/retry", follow_redirects=True).get_data(as_text=True)
    assert "只有失败的任务可以重新执行" in again


def test_the_queue_lists_what_waits_for_a_consumer(client, app, login_as, real_queue):
    login_as(Role.ADMIN)
    upload(client, csv_bytes([row(valid_credit_code())]))
    job_id = latest_job(app).id
    with app.app_context():
        assert [(t.label, t.args) for t in queue_view().waiting] == [("摸底导入：校验文件", [job_id])]
        importer.run_registry_check(job_id)  # as a consumer would; its task stays queued until one takes it
    client.post(f"/registry/imports/{job_id}/commit")
    with app.app_context():
        view = queue_view()
    assert [(t.label, t.args) for t in view.waiting] == [("摸底导入：校验文件", [job_id]), ("摸底导入：写入名录", [job_id])]
    page = client.get("/admin/jobs/").get_data(as_text=True)
    assert "等待执行（2）" in page and "队列：本机 SQLite 文件" in page


def test_a_run_whose_consumer_stopped_beating_is_marked_failed(app, ctx):
    from jobs.queue import consumer_id
    from jobs.runs import beat_consumer, reap_dead_runs

    beat_consumer()  # this process, as a consumer that is alive
    ctx.add_all([JobRun(task_id="gone", name="x.y", args=[1], status=RunStatus.RUNNING, consumer="host-b:4242"),
                 JobRun(task_id="alive", name="x.y", args=[2], status=RunStatus.RUNNING, consumer=consumer_id())])
    ctx.commit()
    reap_dead_runs.call_local()
    runs = {run.task_id: run for run in ctx.scalars(sa.select(JobRun).execution_options(populate_existing=True))}
    assert runs["gone"].status is RunStatus.FAILED and "消费进程 host-b:4242 已退出" in runs["gone"].error
    assert runs["alive"].status is RunStatus.RUNNING


def test_finished_runs_are_pruned_after_their_days_and_failures_kept_longer(app, ctx):
    from datetime import timedelta

    from jobs.queue import PERIODIC, task_name
    from jobs.runs import prune_runs
    from models import utcnow

    assert task_name(prune_runs) in PERIODIC
    now = utcnow()
    keep, keep_failed = app.config["JOBS_KEEP_DAYS"], app.config["JOBS_KEEP_FAILED_DAYS"]
    assert (keep, keep_failed) == (30, 90)

    def run(task_id: str, status: RunStatus, days_ago: int | None) -> JobRun:
        finished = now - timedelta(days=days_ago) if days_ago is not None else None
        return JobRun(task_id=task_id, name="x.y", status=status, started_at=now - timedelta(days=days_ago or 400),
                      finished_at=finished)

    ctx.add_all([run("done-old", RunStatus.DONE, keep + 1), run("done-recent", RunStatus.DONE, keep - 1),
                 run("failed-old", RunStatus.FAILED, keep_failed + 1), run("failed-mid", RunStatus.FAILED, keep + 1),
                 run("retried-old", RunStatus.RETRIED, keep_failed + 1), run("running-old", RunStatus.RUNNING, None)])
    ctx.commit()
    assert prune_runs.call_local(now) == 3
    assert sorted(ctx.scalars(sa.select(JobRun.task_id))) == ["done-recent", "failed-mid", "running-old"]
    assert prune_runs.call_local(now) == 0


def test_the_days_runs_are_kept_come_from_the_environment_and_a_nonsense_one_is_named(monkeypatch):
    from config import Config

    monkeypatch.setenv("JOBS_KEEP_DAYS", "14")
    assert Config().JOBS_KEEP_DAYS == 14
    monkeypatch.setenv("JOBS_KEEP_FAILED_DAYS", "0")
    with pytest.raises(RuntimeError, match="JOBS_KEEP_FAILED_DAYS 应为不小于 1 的天数"):
        Config()


@pytest.mark.parametrize(("options", "info_shown"), [([], True), (["--quiet"], False)])
def test_the_consumer_logs_info_unless_quiet(app, monkeypatch, options, info_shown):
    # `make run` passes --quiet so the periodic tasks' lines do not bury the web server's; production keeps INFO.
    import logging

    import jobs.cli

    monkeypatch.setattr(jobs.cli, "run_consumer", lambda *args, **kwargs: None)
    root = logging.getLogger()
    before = root.level
    try:
        result = app.test_cli_runner().invoke(args=["jobs", "consume", *options])
        assert result.exit_code == 0
        assert logging.getLogger("huey.consumer").isEnabledFor(logging.INFO) is info_shown
        assert logging.getLogger("huey.consumer").isEnabledFor(logging.WARNING)
    finally:
        root.setLevel(before)
