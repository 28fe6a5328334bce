"""The registry import at the zone's scale: 11,000 rows uploaded, checked and committed, then imported again (updates).

    .venv/bin/python bench/bench_import.py                       # SQLite, in a temporary file
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/zone_registry_bench .venv/bin/python bench/bench_import.py

As the app runs it: the upload (what the request does: read the header, keep the file) in this process; the check and
the commit (what the job queue's consumer runs: check_registry_import, then write_registry_import once confirmed) in
a process of its own, started with --consume, so that its peak RSS is the consumer's alone and not that of the
process that built the files. Prints each step's time and the load, for an XLSX and a CSV file. Target: 11,000
rows in 15 s; 110,000 (--rows) checked and committed in 30 s, the consumer under 300 MB.
"""
import argparse
import csv
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from openpyxl import Workbook  # noqa: E402
from stdnum.cn import uscc  # noqa: E402

from app import create_app  # noqa: E402
from config import database_url  # noqa: E402
from domain.reference import UNITS, ensure_units  # noqa: E402
from domain.registry_import import (  # noqa: E402
    COLUMNS, run_registry_check, run_registry_import, start_registry_import, upload_registry_file,
)
from models import ImportStatus, Organisation, OrgKind, RegistryImport, Role, User, db  # noqa: E402
from seeding.scale import bench_account  # noqa: E402

ROWS = 11000


def rows(seed: int, count: int = ROWS, first: int = 0) -> list[list]:
    """`count` rows of the registry's template, the organisations numbered from `first` (their codes and names)."""
    rng = random.Random(seed)
    out = []
    for i in range(first, first + count):
        body = f"93150500MA{i:07d}"
        formal = rng.choice([0] * 12 + [1, 2, 3, 4, 5, 8])
        out.append([body + uscc.calc_check_digit(body), f"导入压测企业{i}", rng.choice([k.label for k in OrgKind]),
                    rng.choice(UNITS)[1], f"开发区{i}号", rng.randint(10, 500), formal, rng.randint(0, 1),
                    "是" if formal >= 3 and rng.random() < 0.6 else "否", "", "", ""])
    return out


def as_xlsx(data: list[list]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append([h for _, h, _ in COLUMNS])
    for r in data:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def as_csv(data: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([h for _, h, _ in COLUMNS])
    writer.writerows(data)
    return out.getvalue().encode("utf-8")


def main() -> None:
    """--rows N imports N rows; --json prints the timings and the consumer's peak RSS as the last line (bench/run.py
    runs it so at 110,000 rows). --consume ID is the consumer's part, run by measure in a process of its own."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--consume", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = database_url(os.environ["DATABASE_URL"]) if os.environ.get("DATABASE_URL") else \
        f"sqlite:///{tempfile.mkdtemp()}/bench-import.db"
    if args.consume:
        print(json.dumps(consume(url, args.consume)))
        return
    timings, rss = measure(url, args.rows)
    if args.json:
        print(json.dumps({"timings": timings, "max_rss_mb": rss}))


def _app(url: str):
    return create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})


def consume(url: str, job_id: int) -> dict:
    """What the consumer does with one upload: check it, then (confirmed as the page's button does) write it. Its
    seconds each and this process's peak RSS."""
    with _app(url).app_context():
        started = time.perf_counter()
        run_registry_check(job_id)
        checked = time.perf_counter()
        job = db.session.get(RegistryImport, job_id)
        assert job.status is ImportStatus.READY, (job.message, job.errors[:3])
        start_registry_import(job, actor=job.created_by)
        db.session.commit()
        db.session.expunge_all()
        confirmed = time.perf_counter()
        run_registry_import(job_id)
        done = time.perf_counter()
        job = db.session.get(RegistryImport, job_id)
        assert job.status is ImportStatus.DONE, job.message
        return {"check": checked - started, "commit": done - confirmed, "created": job.created_count,
                "updated": job.updated_count,
                "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure(url: str, count: int = ROWS) -> tuple[list[tuple[str, float]], float]:
    """Import `count` new rows (XLSX) then the same codes again (CSV, updates); returns (label, seconds of the check
    and the commit) each, and the consumer's peak RSS in MB."""
    if url.startswith("postgresql") and "bench" not in (sa.make_url(url).database or ""):
        sys.exit("refusing: the benchmark database's name must contain 'bench'")
    timings, rss = [], 0.0
    app = _app(url)
    with app.app_context():
        upgrade()
        ensure_units()
        bench_account("bench-admin", "压测管理员", Role.ADMIN, "bench-2026")
        db.session.commit()
        for label, data in [("xlsx, new rows", as_xlsx(rows(1, count))),
                            ("csv, same codes again", as_csv(rows(2, count)))]:
            before = db.session.scalar(sa.select(sa.func.count(Organisation.id)))
            admin = db.session.scalar(sa.select(User).filter_by(username="bench-admin"))
            started = time.perf_counter()
            job = upload_registry_file(f"bench.{label[:4]}", data, actor=admin)
            db.session.commit()
            uploaded = time.perf_counter() - started
            load = os.getloadavg()[0]
            consumer = subprocess.run([sys.executable, __file__, "--consume", str(job.id)], env=os.environ | {
                "DATABASE_URL": url}, capture_output=True, text=True, timeout=900, check=True)
            measured = json.loads(consumer.stdout.strip().splitlines()[-1])
            after = db.session.scalar(sa.select(sa.func.count(Organisation.id)))
            print(f"{db.engine.dialect.name} {label:22s} {len(data) / 1e6:4.1f} MB: upload {uploaded:5.2f} s; "
                  f"consumer: check {measured['check']:5.2f} s, commit {measured['commit']:5.2f} s, "
                  f"peak RSS {measured['max_rss_mb']:.0f} MB; created {measured['created']}, updated "
                  f"{measured['updated']}, organisations {before} -> {after}; load {load:.1f} -> "
                  f"{os.getloadavg()[0]:.1f}", flush=True)
            timings.append((label, measured["check"] + measured["commit"]))
            rss = max(rss, measured["max_rss_mb"])
        db.engine.dispose()
    return timings, rss


if __name__ == "__main__":
    main()
