"""The dashboard's render time at the zone's scale (11,000 organisations, 5,000 applications).

    .venv/bin/python bench/bench_dashboard.py                    # SQLite, in a temporary file
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/zone_registry_bench .venv/bin/python bench/bench_dashboard.py

Seeds the database once (bulk, see seeding/scale.py) when it has fewer organisations than asked, then times
whole requests through the Flask test client (routing, auth, every query, template) and prints the
median and p95 per page. Target: the dashboard under 150 ms.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from config import database_url  # noqa: E402
from models import Organisation, Role, Unit, User, db  # noqa: E402

PAGES = [("zone dashboard", Role.ZONE_APPROVER, "/registry/"),
         ("unit dashboard", Role.UNIT_REVIEWER, "/registry/"),
         ("应建未建 page 1", Role.ZONE_APPROVER, "/registry/todo?list=build"),
         ("应联未联 text filter", Role.ZONE_APPROVER, "/registry/todo?list=join&q=科技"),
         ("dashboard.xlsx", Role.ZONE_APPROVER, "/registry/dashboard.xlsx")]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orgs", type=int, default=11000)
    parser.add_argument("--applications", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL")
    if url:
        url = database_url(url)
        if url.startswith("postgresql") and "bench" not in (sa.make_url(url).database or ""):
            sys.exit("refusing: the benchmark database's name must contain 'bench'")
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade()
        have = db.session.scalar(sa.select(sa.func.count(Organisation.id)))
        if have < args.orgs:
            from seeding.scale import seed_scale

            started = time.perf_counter()
            counts = seed_scale(args.orgs - have, args.applications)
            db.session.commit()
            print(f"seeded {counts} in {time.perf_counter() - started:.1f} s")
        users = {}
        for role in (Role.ZONE_APPROVER, Role.UNIT_REVIEWER):
            name = f"bench-{role.value}"
            user = db.session.scalar(sa.select(User).filter_by(username=name))
            if user is None:
                unit = db.session.scalar(sa.select(Unit).filter_by(code="industrial_park"))
                user = User(username=name, name="压测", role=role, unit=unit if role is Role.UNIT_REVIEWER else None)
                user.set_password("bench-2026")
                db.session.add(user)
            users[role] = name
        db.session.commit()
        print(f"database: {db.engine.dialect.name}, organisations: "
              f"{db.session.scalar(sa.select(sa.func.count(Organisation.id)))}")

    for label, role, path in PAGES:
        client = app.test_client()
        client.post("/auth/login", data={"username": users[role], "password": "bench-2026"})
        for _ in range(3):  # warm the caches (templates, statements) as a running server would have them
            assert client.get(path).status_code == 200
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        print(f"{label:24s} median {statistics.median(times):6.1f} ms   p95 {percentile(times, 0.95):6.1f} ms   "
              f"({args.runs} runs)")


if __name__ == "__main__":
    main()
