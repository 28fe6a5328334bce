"""Every benchmark at the zone's scale, on SQLite and (with --pg) PostgreSQL: `make bench [BENCH_PG=...]`.

Per database: seed 11,000 organisations and 5,000 applications (seeding/scale.py), time each page warm through the
Flask test client logged in as the role that uses it (median and p95 of --runs samples), the 批复 PDF and the
dossier, then (PostgreSQL only) the load test of bench/load.py, then the registry import. Prints one table,
writes bench/results.json and the table in bench/RESULTS.md. Each figure also shows its ratio to the same-run
baseline (a bare Flask route with a static 50-row table; bare WeasyPrint with one line), because the machine is
shared and absolute figures move with its load.

Timings are reported, never asserted: a missed target is a line to investigate, not a failed build.
"""
import argparse
import gc
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from bench.bare_app import app as bare_app  # noqa: E402
from config import database_url  # noqa: E402
from domain import funds  # noqa: E402
from domain.sheets import disbursement_sheet, file_approved_sheet, sheet_as_data  # noqa: E402
from models import (  # noqa: E402
    AppState, Application, BatchState, DisbursementBatch, Document, FundItem, Role, Unit, User, db,
)

HERE = Path(__file__).resolve().parent
PASSWORD = "bench-2026"
LIST_MEDIAN, LIST_P95 = 25.0, 60.0
# (figure, role, path, median target ms, p95 target ms); {app} is an established application with history,
# {batch} the approved disbursement batch of 200 items (seeding/scale.py, SHEET_BATCH).
PAGES = [
    ("inbox, zone", Role.ZONE_APPROVER, "/applications/", LIST_MEDIAN, LIST_P95),
    ("inbox, unit reviewer", Role.UNIT_REVIEWER, "/applications/", LIST_MEDIAN, LIST_P95),
    ("applications ?state=all", Role.ZONE_APPROVER, "/applications/?state=all", LIST_MEDIAN, LIST_P95),
    ("application page", Role.ZONE_APPROVER, "/applications/{app}", LIST_MEDIAN, LIST_P95),
    ("instructor workspace", Role.INSTRUCTOR, "/instructor/", LIST_MEDIAN, LIST_P95),
    ("zone overview", Role.ZONE_APPROVER, "/zone/", LIST_MEDIAN, LIST_P95),
    ("zone instructors", Role.ZONE_APPROVER, "/zone/instructors", LIST_MEDIAN, LIST_P95),
    ("admin instructors", Role.ADMIN, "/admin/instructors", LIST_MEDIAN, LIST_P95),
    ("finance: fundable items and batches", Role.FINANCE, "/finance/", LIST_MEDIAN, LIST_P95),
    ("finance: batch page, 200 items", Role.FINANCE, "/finance/batches/{batch}", LIST_MEDIAN, LIST_P95),
    ("finance: overview", Role.FINANCE, "/finance/overview", LIST_MEDIAN, LIST_P95),
    ("zone: funds to confirm, batches to approve", Role.ZONE_APPROVER, "/zone/funds", LIST_MEDIAN, LIST_P95),
    ("registry dashboard", Role.ZONE_APPROVER, "/registry/", 150.0, None),
]
# Files, timed with the PDF sample count: (figure, role, path, median target ms). The seeded 200-item batch was
# approved with no sheet filed (as batches approved before sheets were filed): its PDF is rendered on each download,
# the render an approval now does once. bench_database then files it and times the download of the filed sheet.
SHEET_PDF = "/finance/batches/{batch}/sheet.pdf"
DOWNLOADS = [
    ("disbursement sheet XLSX, 200 rows", Role.FINANCE, "/finance/batches/{batch}/sheet.xlsx", 500.0),
    ("disbursement sheet PDF, 200 rows (rendered, as at the approval)", Role.FINANCE, SHEET_PDF, 2000.0),
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def sample(fn, runs: int, warm: int = 3) -> tuple[float, float]:
    """Median and p95 in ms of `runs` calls, after `warm` calls that fill the caches a running server has."""
    for _ in range(warm):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), percentile(times, 0.95)


class Results:
    def __init__(self):
        self.rows: list[dict] = []

    def add(self, db_name: str, figure: str, median: float | None, p95: float | None, target: float | None,
            p95_target: float | None = None, unit: str = "ms", ratio: float | None = None, note: str = "",
            at_least: bool = False):
        """One figure; it passes when at most its target (at least, with at_least: a throughput)."""
        ok = None
        if median is not None and target is not None:
            ok = median >= target if at_least else (
                median <= target and (p95_target is None or p95 is None or p95 <= p95_target))
        row = dict(db=db_name, figure=figure, value=None if median is None else round(median, 1),
                   p95=None if p95 is None else round(p95, 1), unit=unit, target=target, p95_target=p95_target,
                   ratio=None if ratio is None else round(ratio, 1), pass_=ok, note=note, at_least=at_least)
        self.rows.append(row)
        print(self.line(row), flush=True)

    @staticmethod
    def line(r: dict) -> str:
        def num(v):
            return "" if v is None else f"{v:,.1f}" if isinstance(v, float) else str(v)
        at_least = r.get("at_least")
        target = "" if r["target"] is None else f"{'≥' if at_least else '≤'} {r['target']:g}" + (
            f" / p95 ≤ {r['p95_target']:g}" if r["p95_target"] else "")
        verdict = {True: "yes", False: "NO", None: ""}[r["pass_"]]
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.1f}x"
        return (f"| {r['db']} | {r['figure']} | {num(r['value'])} | {num(r['p95'])} | {r['unit']} | {target} | "
                f"{ratio} | {verdict} | {r['note']} |")


def prepare(url: str, orgs: int = 11000, applications: int = 5000):
    """A fresh database at the zone's scale (or `orgs`), and one account per role with a known password."""
    if url.startswith("postgresql"):
        engine = sa.create_engine(url)
        with engine.begin() as conn:  # ours alone (the name was checked): start from nothing, like SQLite
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade()
        from seeding.scale import seed_scale

        started = time.perf_counter()
        counts = seed_scale(orgs, applications)
        db.session.commit()
        seconds = time.perf_counter() - started
        print(f"seeded {counts} in {seconds:.1f} s", flush=True)
        if url.startswith("postgresql"):
            # A running server's autovacuum would long since have vacuumed tables this size, which marks their
            # pages all-visible: only then does PostgreSQL answer a count from an index alone (the lists' totals,
            # the navigation's counter: 0.9 ms by a table scan, 0.5 ms from the index). This machine's server
            # runs with autovacuum off, so the bench does once what it would have done. Outside a transaction.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
        # The instructor with the most organisations, and an established application with the longest history.
        busiest = db.session.scalar(sa.select(Application.instructor_id).where(Application.instructor_id.is_not(None))
                                    .group_by(Application.instructor_id).order_by(sa.func.count().desc()).limit(1))
        unit = db.session.scalar(sa.select(Unit).filter_by(code="industrial_park"))
        for role in (Role.ZONE_APPROVER, Role.UNIT_REVIEWER, Role.INSTRUCTOR, Role.ADMIN, Role.FINANCE):
            user = User(username=f"bench-{role.value}", name="压测", role=role,
                        unit=unit if role is Role.UNIT_REVIEWER else None,
                        instructor_id=busiest if role is Role.INSTRUCTOR else None)
            user.set_password(PASSWORD)
            db.session.add(user)
        db.session.commit()
        target = db.session.scalar(sa.select(Application.id).where(Application.state == AppState.ESTABLISHED)
                                   .order_by(Application.id).limit(1))
        # The batch whose disbursement sheet is timed: the one with the most items (200).
        batch = db.session.scalar(sa.select(DisbursementBatch.id).join(FundItem).group_by(DisbursementBatch.id)
                                  .order_by(sa.func.count().desc(), DisbursementBatch.id).limit(1))
    return app, seconds, {"app": target, "batch": batch}


def login(app, role: Role):
    client = app.test_client()
    response = client.post("/auth/login", data={"username": f"bench-{role.value}", "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


def _getter(app, role: Role, url_path: str):
    client = login(app, role)

    def get():
        response = client.get(url_path)
        assert response.status_code == 200, (url_path, response.status_code)
    return get


def bench_database(label: str, url: str, args, results: Results) -> None:
    app, seed_seconds, ids = prepare(url)
    app_id = ids["app"]
    # As each gunicorn worker does once the app is loaded (gunicorn.conf.py): the objects that live as long as
    # the process are frozen, so that a full garbage collection does not rescan them in the middle of a request.
    gc.collect()
    gc.freeze()
    results.add(label, "seed-scale 11,000 / 5,000", seed_seconds, None, 60.0, unit="s")
    bare_client = bare_app.test_client()
    bare = sample(lambda: bare_client.get("/bare"), args.runs)
    results.add(label, "baseline: bare Flask, 50-row table", *bare, None, ratio=1.0)
    # Every figure is timed: a route that is missing or fails stops the run instead of being reported as skipped.
    for figure, role, path, target, p95_target in PAGES:
        median, p95 = sample(_getter(app, role, path.format(**ids)), args.runs)
        results.add(label, figure, median, p95, target, p95_target, ratio=median / bare[0])

    from weasyprint import HTML

    from domain.documents import lay_out_document, render_document, render_dossier
    from domain.settings import get_settings
    from domain.signing import sign

    bare_pdf = sample(lambda: HTML(string='<p style="font-family: Noto Serif CJK SC">党组织组建</p>').write_pdf(),
                      args.pdf_runs, warm=1)
    results.add(label, "baseline: bare WeasyPrint, one line", *bare_pdf, None, ratio=1.0)
    with app.app_context(), app.test_request_context():
        document = db.session.scalar(sa.select(Document).where(Document.application_id == app_id))
        settings, day = get_settings(), document.issued_at.date()
        approval = sample(lambda: render_document(document, settings, day), args.pdf_runs, warm=1)
        results.add(label, "批复 PDF (rendered)", *approval, 300.0, ratio=approval[0] / bare_pdf[0])
        # Issuing signs what it renders (issue 33): the signed 批复 beside the unsigned one, and the signature alone
        # on one laid-out file (the built-in test timestamper; production adds TSA_URL's round trip).
        signed = sample(lambda: sign(*lay_out_document(document, settings, day)), args.pdf_runs, warm=1)
        results.add(label, "批复 PDF (rendered and signed)", *signed, None, ratio=signed[0] / bare_pdf[0],
                    note=f"{signed[0] - approval[0]:+.1f} ms on the unsigned render's median")
        laid_out = lay_out_document(document, settings, day)
        signature = sample(lambda: sign(*laid_out), args.pdf_runs, warm=1)
        results.add(label, "its PAdES signature alone (test timestamper)", *signature, 50.0)
        dossier = sample(lambda: render_dossier(document.application), args.pdf_runs, warm=1)
        results.add(label, "dossier PDF", *dossier, 1000.0, ratio=dossier[0] / bare_pdf[0])
        db.session.remove()
    # The sheets through their routes, as finance downloads them (query, build, send).
    for figure, role, path, target in DOWNLOADS:
        median, p95 = sample(_getter(app, role, path.format(**ids)), args.pdf_runs, warm=1)
        results.add(label, figure, median, p95, target, ratio=median / bare_pdf[0] if "PDF" in figure else None)
    with app.app_context(), app.test_request_context():
        zone = db.session.scalar(sa.select(User).filter_by(username=f"bench-{Role.ZONE_APPROVER.value}"))
        # The zone's approval of the seeded submitted batch, which keeps its sheet for a task to render (none is run:
        # the transaction is rolled back each time, so that the database stays as seeded).
        submitted = db.session.scalar(sa.select(DisbursementBatch.id).filter_by(state=BatchState.SUBMITTED))

        def approve():
            batch = funds.load_batch(submitted)
            funds.approve_batch(batch, actor=zone, version=batch.version)
            db.session.rollback()
        median, p95 = sample(approve, args.pdf_runs, warm=1)
        items = len(funds.load_batch(submitted).items)
        results.add(label, f"zone approves a batch of {items} items (keeps its sheet; a task renders it)", median, p95,
                    None)
        file_sheet(ids["batch"])
    # The load test that follows downloads it so too: an approved batch's sheet, as finance gets it.
    median, p95 = sample(_getter(app, Role.FINANCE, SHEET_PDF.format(**ids)), args.pdf_runs, warm=1)
    results.add(label, "disbursement sheet PDF, 200 rows (filed at the approval)", median, p95, None)
    with app.app_context():
        db.engine.dispose()

    if url.startswith("postgresql"):
        from bench.load import run_load

        run_load(url, PASSWORD, ids["batch"], results, label)

    from bench.bench_import import measure

    for figure, seconds in measure(url)[0]:
        results.add(label, f"registry import, 11,000 rows ({figure}), check + commit", seconds, None, 15.0, unit="s")


SCALE_ORGS, SCALE_APPLICATIONS = 110_000, 50_000
# At ten times the zone (issue 34), beside PAGES: the registry's pages, paged, and the dashboard's export.
SCALE_PAGES = [
    ("registry dashboard export", Role.ZONE_APPROVER, "/registry/dashboard.xlsx", 150.0, None),
    ("应建未建, page 1", Role.ZONE_APPROVER, "/registry/todo?list=build", 50.0, None),
    ("应建未建, page 20", Role.ZONE_APPROVER, "/registry/todo?list=build&page=20", 50.0, None),
    ("应联未联, page 1", Role.ZONE_APPROVER, "/registry/todo?list=join", 50.0, None),
]


def bench_todo_exports(app, label: str, at: str, results: Results) -> None:
    """The to-do lists' exports as their task writes them (domain/todo_exports.py): each page it reads (≤ 50 ms), and
    the whole file, in seconds, for the consumer (no target: no web worker waits for it)."""
    from domain.dashboard import TodoFilter
    from domain.todo_exports import todo_pages, todo_xlsx

    with app.app_context():
        for key, name in (("build", "应建未建"), ("join", "应联未联")):
            pages, times = todo_pages(TodoFilter(list=key), None), []
            while True:
                started = time.perf_counter()
                if next(pages, None) is None:
                    break
                times.append((time.perf_counter() - started) * 1000)
            results.add(label, f"{name} export, a page of its task {at}", statistics.median(times),
                        percentile(times, 0.95), 50.0, note=f"{len(times)} pages")
            started = time.perf_counter()
            todo_xlsx(TodoFilter(list=key), None)
            results.add(label, f"{name} export, the whole file in its task {at}", time.perf_counter() - started,
                        None, None, unit="s")
        db.engine.dispose()


def bench_at_scale(label: str, url: str, args, results: Results) -> None:
    """Ten times the zone, as the city would run it (issue 34): 110,000 organisations and 50,000 applications, the
    lists, the registry's pages and a registry import of 110,000 rows, each figure naming 110,000. PostgreSQL only:
    the city would not run on SQLite, and the 11,000 rows above already hold SQLite's figures."""
    app, seed_seconds, ids = prepare(url, SCALE_ORGS, SCALE_APPLICATIONS)
    at = f"at {SCALE_ORGS:,}"
    results.add(label, f"seed-scale {SCALE_ORGS:,} / {SCALE_APPLICATIONS:,}", seed_seconds, None, 180.0, unit="s")
    bare_client = bare_app.test_client()
    bare = sample(lambda: bare_client.get("/bare"), args.runs)
    results.add(label, f"baseline: bare Flask, 50-row table ({at})", *bare, None, ratio=1.0)
    for figure, role, path, target, p95_target in PAGES + SCALE_PAGES:
        median, p95 = sample(_getter(app, role, path.format(**ids)), args.runs)
        results.add(label, f"{figure} {at}", median, p95, target, p95_target, ratio=median / bare[0])
    with app.app_context():
        db.engine.dispose()
    bench_todo_exports(app, label, at, results)
    # Uploaded here, checked and committed in a process of its own as the consumer runs them, so that its peak RSS is
    # the import's (bench/bench_import.py).
    done = subprocess.run([sys.executable, str(HERE / "bench_import.py"), "--rows", str(SCALE_ORGS), "--json"],
                          env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True, timeout=900)
    if done.returncode:  # reported, like a missed target (a refusal under load, e.g. the reading's clock)
        print(done.stderr[-2000:], file=sys.stderr)
        results.add(label, f"registry import, {SCALE_ORGS:,} rows", None, None, 30.0, unit="s",
                    note="failed: " + (done.stderr.strip().splitlines() or ["no output"])[-1][:200])
        return
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    for figure, seconds in measured["timings"]:
        results.add(label, f"registry import, {SCALE_ORGS:,} rows ({figure}), check + commit in the consumer", seconds,
                    None, 30.0, unit="s")
    results.add(label, f"registry import, {SCALE_ORGS:,} rows: peak RSS of the consumer", measured["max_rss_mb"],
                None, 300.0, unit="MB")


def file_sheet(batch_id: int) -> None:
    """File the approved batch's sheet as the approval's task does: the load test downloads it as finance does."""
    batch = funds.load_batch(batch_id)
    batch.sheet_data = sheet_as_data(disbursement_sheet(batch))
    db.session.commit()
    file_approved_sheet(batch.id)


def load_only(url: str, results: Results) -> None:
    """--load-only: the database seeded as for the whole bench, the sheet filed, then the load test alone."""
    app, _, ids = prepare(url)
    with app.app_context(), app.test_request_context():
        file_sheet(ids["batch"])
        db.engine.dispose()
    from bench.load import run_load

    run_load(url, PASSWORD, ids["batch"], results, "postgresql")


def create_if_missing(url: str) -> None:
    """Create the PostgreSQL database the URL names when the server has none of that name, from the server's
    maintenance database (postgres), as the same user."""
    name = sa.make_url(url).database
    engine = sa.create_engine(sa.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
                conn.execute(sa.text(f"CREATE DATABASE {engine.dialect.identifier_preparer.quote(name)}"))
                print(f"created the database {name}", flush=True)
    finally:
        engine.dispose()


def machine(pg_url: str | None) -> dict:
    mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    info = {"cores": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "sqlite": sqlite3.sqlite_version, "when": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if pg_url:
        engine = sa.create_engine(pg_url)
        with engine.connect() as conn:
            info["postgresql"] = conn.scalar(sa.text("SHOW server_version"))
        engine.dispose()
    return info


def write(results: Results, info: dict) -> None:
    rows = [{**{k: v for k, v in r.items() if k != "pass_"}, "pass": r["pass_"]} for r in results.rows]
    (HERE / "results.json").write_text(json.dumps({"machine": info, "results": rows}, ensure_ascii=False, indent=1))
    table = "\n".join(
        [f"Machine: {info['cores']} cores, {info['memory_gb']} GB, Python {info['python']}, SQLite {info['sqlite']}"
         + (f", PostgreSQL {info['postgresql']}" if "postgresql" in info else ", PostgreSQL not run")
         + f"; {info['when']}.", "",
         "| db | figure | median | p95 | unit | target | ratio to baseline | pass | note |",
         "| --- | --- | ---: | ---: | --- | --- | ---: | --- | --- |"] + [Results.line(r) for r in results.rows])
    path = HERE / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n\n<!-- results -->\n<!-- /results -->\n"
    head, rest = text.split("<!-- results -->", 1)
    tail = rest.split("<!-- /results -->", 1)[1]
    path.write_text(f"{head}<!-- results -->\n{table}\n<!-- /results -->{tail}")
    print(f"\nwrote {HERE / 'results.json'} and the table in {path}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", ""), help="PostgreSQL URL (name must contain 'bench')")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--pdf-runs", type=int, default=10)
    parser.add_argument("--load-only", action="store_true",
                        help="with --pg: seed, then the load test alone; prints its rows, writes no results")
    args = parser.parse_args()
    pg = database_url(args.pg) if args.pg else None
    if pg and "bench" not in (sa.make_url(pg).database or ""):
        sys.exit("refusing: the benchmark database's name must contain 'bench' (the run drops its schema)")
    if args.load_only and not pg:
        sys.exit("--load-only needs --pg (the load test runs on PostgreSQL)")
    if pg:
        create_if_missing(pg)
    results = Results()
    print("| db | figure | median | p95 | unit | target | ratio to baseline | pass | note |", flush=True)
    if args.load_only:
        load_only(pg, results)
        return
    with tempfile.TemporaryDirectory() as tmp:
        bench_database("sqlite", f"sqlite:///{tmp}/bench.db", args, results)
    if pg:
        bench_database("postgresql", pg, args, results)
        bench_at_scale("postgresql", pg, args, results)
    else:
        print("PostgreSQL skipped (and with it the load test): no BENCH_PG given, e.g. "
              "make bench BENCH_PG=postgresql+psycopg://postgres@127.0.0.1:5432/zone_bench_load")
    write(results, machine(pg))


if __name__ == "__main__":
    main()
