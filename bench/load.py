"""The load test: gunicorn with 2 workers on PostgreSQL, locust headless on 127.0.0.1, bounded in time.

Called by bench/run.py after the page figures (the database is seeded and has the bench-* accounts).
The mixed workload (50 users, 60 s): errors, p95, and the workers' RSS afterwards from /proc; then, for the
throughput ratio, rounds of 10 s on our list page, 10 s on the authenticated floor (the navigation badges) and
10 s on the bare route (bench/bare_app.py under the same gunicorn settings), without pauses. In each of those
runs the CPU time of gunicorn, PostgreSQL and locust is read from /proc, to say where a request's time goes.
Servers use ports 5090 and 5091 and are stopped afterwards.

As in production (`make serve`), one consumer of the job queue runs beside the workers throughout (its periodic
tasks, as it starts and each minute), with the queue in the bench's database; and a registry import of 11,000 rows,
checked and confirmed beforehand, is queued a few seconds into the mixed run's measured time, so that the consumer
writes it while the officials work.

Users arrive over a ramp (the mixed run: 5 a second, so all 50 within 10 s, as a morning's officials do, not
all in the same second); ten seconds after the last has started, when the last logins are done, the statistics
are reset (locustfile.py, like `--reset-stats` but after the logins rather than during them): the figures are
the steady state over the stated duration, which starts after that. The logins themselves (scrypt, deliberately
slow) are timed by the users as they log in; their figure is reported apart.
"""
import csv
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import threading
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
APP_PORT, BARE_PORT = 5090, 5091
THROUGHPUT_ROUNDS, THROUGHPUT_SECONDS = 5, 10
MIXED_USERS = ["ZoneUser", "ReviewerUser", "InstructorUser", "FinanceUser"]  # locustfile.py: the offices' weights
# Two workers (the setting) with GUNICORN_THREADS threads each; the bare route runs with the same.
GUNICORN_ARGS = ["-w", "2", "--threads", os.environ.get("GUNICORN_THREADS", "1")]
# Who spends the two cores during a throughput run: the server, the database, the load generator itself, and the job
# queue's consumer beside the server.
CPU_PARTIES = ("gunicorn", "PostgreSQL", "locust", "consumer")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _serve(target: str, port: int, env: dict) -> subprocess.Popen:
    server = subprocess.Popen([str(BIN / "gunicorn"), *GUNICORN_ARGS, "-b", f"127.0.0.1:{port}", "--log-level",
                               "warning", target], cwd=ROOT, env=env, start_new_session=True)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/bare" if "bare" in target else
                                   f"http://127.0.0.1:{port}/auth/login", timeout=2)
            return server
        except OSError:
            time.sleep(0.2)
    _stop(server)
    raise RuntimeError(f"gunicorn {target} did not start on port {port}")


def _stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)  # its own session: the master and its two workers, nothing else
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def _consume(env: dict) -> subprocess.Popen:
    """One consumer of the job queue, as `make serve` starts it beside gunicorn (Makefile, with_consumer)."""
    return subprocess.Popen([str(BIN / "flask"), "--app", "app", "jobs", "consume", "--quiet"], cwd=ROOT, env=env,
                            start_new_session=True)


def _confirmed_import(url: str) -> int:
    """A registry import of 11,000 new organisations (bench/bench_import.py's rows, other codes), checked and
    confirmed by bench-admin as the upload and 确认导入 do, not yet queued; its id."""
    from app import create_app
    from bench.bench_import import ROWS, as_xlsx, rows
    from domain.registry_import import run_registry_check, start_registry_import, upload_registry_file
    from models import ImportStatus, RegistryImport, User, db

    # Bound to the queue in the bench's database, which creates its tables: before the servers start, so that the
    # workers and the consumer do not race to create them.
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url, "JOBS_URL": url, "JOBS_IMMEDIATE": False})
    with app.app_context():
        admin = db.session.scalar(sa.select(User).filter_by(username="bench-admin"))
        job = upload_registry_file("load.xlsx", as_xlsx(rows(3, first=ROWS)), actor=admin)
        db.session.commit()
        run_registry_check(job.id)
        job = db.session.get(RegistryImport, job.id)
        assert job.status is ImportStatus.READY, job.errors[:3]
        start_registry_import(job, actor=admin)
        db.session.commit()
        job_id = job.id
        db.engine.dispose()
    return job_id


def _queue_import(url: str, job_id: int) -> None:
    """Put the confirmed import on the queue in the bench's database, as the confirming request does."""
    from app import create_app
    from domain.registry_import import enqueue_registry_import
    from models import RegistryImport, db

    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url, "JOBS_URL": url,
                      "JOBS_IMMEDIATE": False})
    with app.app_context():
        enqueue_registry_import(db.session.get(RegistryImport, job_id))
        db.engine.dispose()


def _import_outcome(url: str, job_id: int, queued_at: datetime) -> str:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        status, created, finished = conn.execute(sa.text(
            "SELECT status, created_count, finished_at FROM registry_imports WHERE id = :id"), {"id": job_id}).one()
    engine.dispose()
    took = f" {(finished - queued_at).total_seconds():.1f} s after it was queued" if finished else ""
    return f"registry import of 11,000 rows during the run: {status.lower()}, {created} created{took}"


def _workers_rss_mb(master: int) -> list[float]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    rss = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss.append(int(line.split()[1]) / 1024)
    return rss


def _cpu_seconds(port: int, database: str) -> dict[str, float]:
    """CPU seconds (user and system) used so far by each party to a throughput run: the gunicorn serving `port`
    (master and workers), PostgreSQL (its backends connected to `database`, not other sessions' on this shared
    machine), locust and our consumer (_consume's, started in this project's folder). Read from /proc, as
    _workers_rss_mb does."""
    used = dict.fromkeys(CPU_PARTIES, 0.0)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # it ended meanwhile
            continue
        name, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        party = ("PostgreSQL" if name == "postgres" and f" {database} " in command else
                 "locust" if "locust" in command else
                 "gunicorn" if "gunicorn" in command and f"127.0.0.1:{port}" in command else
                 "consumer" if "jobs consume" in command and _folder(proc) == ROOT else None)
        if party:
            used[party] += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # stat's utime and stime
    return used


def _folder(proc: Path) -> Path | None:
    try:
        return Path(os.readlink(proc / "cwd"))
    except OSError:
        return None


def _locust(user_classes: list[str], port: int, users: int, seconds: int, env: dict, spawn_rate: float,
            settle: float, cpu: bool = False) -> dict:
    """One headless locust run: `users` arrive at `spawn_rate` a second; `settle` seconds after the last has
    started (time for the last logins) the stats are reset, and `seconds` are measured from there. Returns the
    aggregated row of its stats CSV, with the per-request rows in it; with `cpu`, also the CPU milliseconds each
    party (_cpu_seconds) spent per request in the steady state, under "cpu_ms"."""
    ramp, database = users / spawn_rate, sa.make_url(env["DATABASE_URL"]).database
    with tempfile.TemporaryDirectory() as tmp:
        locust = subprocess.Popen(
            [str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), *user_classes, "--headless",
             "-u", str(users), "-r", str(spawn_rate), "--run-time", f"{round(ramp + settle + seconds)}s",
             "--stop-timeout", "5", "-H", f"http://127.0.0.1:{port}",
             "--csv", f"{tmp}/run", "--only-summary", "--loglevel", "WARNING"],
            cwd=ROOT, env={**env, "BENCH_LOGIN_LOG": f"{tmp}/logins", "BENCH_SETTLE": str(settle)},
            stdout=subprocess.DEVNULL)
        try:
            if cpu:  # a window inside the measured seconds: locust takes a second or two to start before its clock
                time.sleep(ramp + settle + 1)
                before, started = _cpu_seconds(port, database), time.monotonic()
                time.sleep(seconds - 2)
                after, window = _cpu_seconds(port, database), time.monotonic() - started
            locust.wait(timeout=ramp + settle + seconds + 90)
        finally:
            if locust.poll() is None:
                locust.kill()
                locust.wait()
        with open(f"{tmp}/run_stats.csv") as f:
            rows = list(csv.DictReader(f))
        log = Path(f"{tmp}/logins")
        logins = [line.split() for line in log.read_text().splitlines()] if log.exists() else []
    total = next(r for r in rows if r["Name"] == "Aggregated")
    # Requests made only before the reset (the logins) stay as rows with no count after it.
    total["by_name"] = [r for r in rows if r["Name"] != "Aggregated" and int(r["Request Count"])]
    total["logins"] = sorted(float(ms) for ms, _ in logins)
    total["failed_logins"] = sum(status != "302" for _, status in logins)
    if cpu:
        requests = max(float(total["Requests/s"]) * window, 1.0)
        total["cpu_ms"] = {party: 1000 * (after[party] - before[party]) / requests for party in CPU_PARTIES}
    return total


def _throughput_rounds(env: dict, rounds: int = THROUGHPUT_ROUNDS) -> list[dict[str, tuple[float, int, dict]]]:
    """{user: (req/s, errors, CPU ms per request by party)} of each round: 20 users without pauses on our list
    page, on the authenticated floor (FloorUser) and on the bare route, one after the other, both servers up
    throughout. This shared
    machine's speed drifts by 1.5x within minutes (the bare route alone gave 317 to 571 req/s in runs a minute
    apart), so each round compares them within the same half-minute, and the figure is the median round rather
    than one run of each taken minutes apart."""
    parties = (("ListUser", APP_PORT), ("FloorUser", APP_PORT), ("BareUser", BARE_PORT))
    measured = []
    for n in range(rounds):
        # Which goes first alternates, so that a machine slowing down steadily does not favour either.
        runs = {user: _locust([user], port, 20, THROUGHPUT_SECONDS, env, spawn_rate=10, settle=3, cpu=True)
                for user, port in parties[::1 if n % 2 == 0 else -1]}
        measured.append({user: (float(run["Requests/s"]), int(run["Failure Count"]), run["cpu_ms"])
                         for user, run in runs.items()})
    return measured


def run_load(url: str, password: str, batch_id: int, results, label: str) -> None:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        unit_id = conn.scalar(sa.text("SELECT unit_id FROM users WHERE username = 'bench-unit_reviewer'"))
        instructor_id = conn.scalar(sa.text("SELECT instructor_id FROM users WHERE username = 'bench-instructor'"))
        # Officials never see an application that was not submitted (a draft, or one withdrawn as a draft).
        seen = "submitted_at IS NOT NULL"
        ids = {"zone_approver": conn.scalars(sa.text(f"SELECT id FROM applications WHERE {seen} ORDER BY id "
                                                     "LIMIT 2000")).all(),
               "unit_reviewer": conn.scalars(sa.text(f"SELECT id FROM applications WHERE unit_id = :u AND {seen}"),
                                             {"u": unit_id}).all(),
               "instructor": conn.scalars(sa.text("SELECT id FROM applications WHERE instructor_id = :i"),
                                          {"i": instructor_id}).all()}
        with_approval = set(conn.scalars(sa.text("SELECT application_id FROM documents WHERE kind = 'approval'")))
    engine.dispose()
    docs = {role: [i for i in v if i in with_approval] for role, v in ids.items()}
    # LOGIN_RATE_LIMIT: the limit is per address, and all 50 simulated users come from 127.0.0.1; with the
    # default 20 a minute, 10 of the 50 logins were refused (429) and those users then timed the login page.
    # The queue lives in the bench's database (JOBS_URL), as it would in PostgreSQL in production.
    env = {**os.environ, "DATABASE_URL": url, "JOBS_URL": url, "APP_ENV": "development",
           "SECRET_KEY": secrets.token_hex(16), "LOGIN_RATE_LIMIT": "200 per minute",
           "BENCH_PASSWORD": password, "BENCH_BATCH": str(batch_id),
           **{f"BENCH_IDS_{r}": ",".join(map(str, v)) for r, v in ids.items()},
           **{f"BENCH_DOCS_{r}": ",".join(map(str, v)) for r, v in docs.items()}}
    import_id = _confirmed_import(url)
    server = _serve("app:create_app()", APP_PORT, env)
    consumer = _consume(env)
    queued = []
    # Queued 5 s into the measured minute: after the 10-s ramp and the 10 s of settling, and locust's start.
    timer = threading.Timer(10 + 10 + 2 + 5, lambda: (_queue_import(url, import_id),
                                                      queued.append(datetime.now(timezone.utc))))
    try:
        timer.start()
        mixed = _locust(MIXED_USERS, APP_PORT, 50, 60, env, spawn_rate=5, settle=10, cpu=True)
        rss = _workers_rss_mb(server.pid)
        bare_server = _serve("bench.bare_app:app", BARE_PORT, env)
        try:
            rounds = _throughput_rounds(env)
        finally:
            _stop(bare_server)
    finally:
        timer.cancel()
        _stop(consumer)
        _stop(server)
    imported = _import_outcome(url, import_id, queued[0]) if queued else "the registry import was not queued"

    # The logins happen before the reset: their failures are added here, so a refused login still counts.
    requests = int(mixed["Request Count"]) + len(mixed["logins"])
    failures = int(mixed["Failure Count"]) + mixed["failed_logins"]
    results.add(label, f"load: errors in {requests} requests (50 users, 60 s)", float(failures), None, 0.0,
                unit="count", note=f"of which refused logins: {mixed['failed_logins']}; with the job consumer; "
                                   + imported)
    if "done" not in imported:  # the consumer's work failed or never ran: the run did not measure what it says
        results.rows[-1]["pass_"] = False
    results.add(label, "load: median / p95 (mixed)", float(mixed["50%"]), float(mixed["95%"]), None, 250.0,
                note=f"{float(mixed['Requests/s']):.1f} req/s; CPU ms per request: " + ", ".join(
                    f"{party} {ms:.1f}" for party, ms in mixed["cpu_ms"].items()) + "; p95 by request (how many): "
                + ", ".join(f"{r['Name']} {r['95%']} ({r['Request Count']})"
                            for r in sorted(mixed["by_name"], key=lambda r: -float(r["95%"]))))
    results.rows[-1]["pass_"] = float(mixed["95%"]) <= 250.0
    if logins := mixed["logins"]:
        at = lambda share: logins[min(len(logins) - 1, round(share * (len(logins) - 1)))]  # noqa: E731
        results.add(label, "load: logins during the ramp (50 over 10 s)", at(0.5), at(0.95), None, unit="ms",
                    note="scrypt by design; before the stats reset, so not in the mixed figures")
    def share(user: str) -> float:
        return statistics.median(r[user][0] / max(r["BareUser"][0], 1e-9) for r in rounds)

    list_errors = sum(r["ListUser"][1] for r in rounds)
    parties = ("ListUser", "FloorUser", "BareUser")
    each = ", ".join("/".join(f"{r[u][0]:.0f}" for u in parties) for r in rounds)
    # Where each request's CPU went, so that the figure explains itself: the bare route's share is the ceiling.
    cpu = ", ".join(f"{party} " + "/".join(f"{statistics.median(r[u][2][party] for r in rounds):.1f}" for u in parties)
                    for party in CPU_PARTIES)
    results.add(label, "load: list page throughput, share of the bare route's", 100 * share("ListUser"), None, 40.0,
                unit="%", at_least=True, note=f"median of {len(rounds)} rounds (list / floor / bare req/s): {each}; "
                                               f"list errors {list_errors}; CPU ms per request, list / floor / bare "
                                               f"(median of the rounds): {cpu}")
    if list_errors:  # a page that fails fast would look fast
        results.rows[-1]["pass_"] = False
    # No target: where a logged-in request of ours starts (the session, the user, the counters), for reading the
    # figure above. A list page can only be as fast as this plus its own queries and rows.
    results.add(label, "load: authenticated floor (the badges fragment), share of the bare route's",
                100 * share("FloorUser"), None, None, unit="%",
                note=f"errors {sum(r['FloorUser'][1] for r in rounds)}")
    results.add(label, "load: gunicorn worker RSS after load (max of 2)", max(rss), None, 200.0, unit="MB",
                note=", ".join(f"{r:.0f}" for r in rss) + " MB")
