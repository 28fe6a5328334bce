"""The list page and the logged-in floor alone: the narrowest bench for a change to what every logged-in page costs
(the session, the user, the counters, a list).

    python bench/throughput.py [--runs 300]
    python bench/throughput.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/zone_x_bench [--rounds 5] [--seeded]

Without --pg: a SQLite database seeded as `make bench` seeds it (bench/run.py), and the zone's list page
(?state=all), the floor (the badges fragment) and the bare route timed through the test client, as bench/run.py
times pages, with each one's ratio to the bare route. With --pg: the load test's throughput rounds (bench/load.py)
on that database, seeded first unless --seeded says it already is, and the list's and the floor's shares of the
bare route's requests per second.
"""
import argparse
import gc
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from bench.load import APP_PORT, BARE_PORT, _serve, _stop, _throughput_rounds  # noqa: E402
from bench.bare_app import app as bare_app  # noqa: E402
from bench.run import PASSWORD, _getter, prepare, sample  # noqa: E402
from config import database_url  # noqa: E402
from models import Role  # noqa: E402


def cpu_sample(fn, runs: int, warm: int = 3) -> float:
    """Median CPU ms of this process per call: on a shared machine, steadier than the wall clock."""
    for _ in range(warm):
        fn()
    times = []
    for _ in range(runs):
        started = time.process_time()
        fn()
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times)


def in_process(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app, _, _ = prepare(f"sqlite:///{tmp}/bench.db")
        gc.collect()
        gc.freeze()  # as bench/run.py and each gunicorn worker do
        bare_client = bare_app.test_client()
        bare = sample(lambda: bare_client.get("/bare"), runs)
        bare_cpu = cpu_sample(lambda: bare_client.get("/bare"), runs)
        print(f"bare route: median {bare[0]:.2f} ms, p95 {bare[1]:.2f} ms; CPU {bare_cpu:.2f} ms")
        for figure, path in (("list page, zone, ?state=all", "/applications/?state=all"),
                             ("floor (badges)", "/applications/badges")):
            get = _getter(app, Role.ZONE_APPROVER, path)
            median, p95 = sample(get, runs)
            cpu = cpu_sample(get, runs)
            print(f"{figure}: median {median:.2f} ms, p95 {p95:.2f} ms, {median / bare[0]:.2f}x the bare route; "
                  f"CPU {cpu:.2f} ms, {cpu / bare_cpu:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", ""))
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seeded", action="store_true", help="the database is already seeded by a run of this")
    args = parser.parse_args()
    if not args.pg:
        in_process(args.runs)
        return
    url = database_url(args.pg)
    if "bench" not in (sa.make_url(url).database or ""):
        sys.exit("refusing: the benchmark database's name must contain 'bench' (the run drops its schema)")
    if not args.seeded:
        app, _, _ = prepare(url)
        with app.app_context():
            from models import db

            db.engine.dispose()
    env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "development", "SECRET_KEY": secrets.token_hex(16),
           "LOGIN_RATE_LIMIT": "200 per minute", "BENCH_PASSWORD": PASSWORD}
    server = _serve("app:create_app()", APP_PORT, env)
    try:
        bare = _serve("bench.bare_app:app", BARE_PORT, env)
        try:
            rounds = _throughput_rounds(env, args.rounds)
        finally:
            _stop(bare)
    finally:
        _stop(server)
    for user in ("ListUser", "FloorUser"):
        shares = [r[user][0] / max(r["BareUser"][0], 1e-9) for r in rounds]
        print(f"{user}: {100 * statistics.median(shares):.1f} % of the bare route's (median of {len(rounds)}); "
              f"errors {sum(r[user][1] for r in rounds)}")
    print("rounds (list / floor / bare req/s): " + ", ".join(
        "/".join(f"{r[u][0]:.0f}" for u in ("ListUser", "FloorUser", "BareUser")) for r in rounds))
    print("CPU ms per request, list / floor / bare: " + ", ".join(
        f"{party} " + "/".join(f"{statistics.median(r[u][2][party] for r in rounds):.1f}"
                               for u in ("ListUser", "FloorUser", "BareUser"))
        for party in ("gunicorn", "PostgreSQL", "locust")))


if __name__ == "__main__":
    main()
