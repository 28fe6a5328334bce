"""Simulated users for bench/load.py; run only there (loopback, bounded in time), never in `make test`.

The mixed users (ZoneUser, ReviewerUser, InstructorUser, FinanceUser) are the load test: 50 officials at work,
mostly lists and application cards, some dashboards and finance pages, now and then a PDF or a sheet.
ListUser, FloorUser and BareUser hammer one page each without pauses, to compare the throughput of our list page
with the bare Flask route under the same gunicorn settings, and with the floor of any logged-in page of ours.
"""
import os
import random
import re
import time

import gevent
from locust import HttpUser, between, constant, events, task

PASSWORD = os.environ.get("BENCH_PASSWORD", "bench-2026")
# Applications each role may open (load.py passes them), so that every request is one a real user makes.
def _ids(variable: str) -> list[int]:
    return [int(i) for i in os.environ.get(variable, "1").split(",") if i]


APP_IDS = {role: _ids(f"BENCH_IDS_{role}") for role in ("zone_approver", "unit_reviewer", "instructor")}
# Of those, the ones with an issued 批复; and the batch whose sheets finance downloads (the 200-item one).
DOC_IDS = {role: _ids(f"BENCH_DOCS_{role}") for role in APP_IDS}
BATCH_ID = int(os.environ.get("BENCH_BATCH", "1"))
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
# Seconds after the last user has started at which the statistics are reset (load.py sets it): the last users'
# logins finish in that time, so the figures that follow are the steady state, and the logins are reported apart.
SETTLE = float(os.environ.get("BENCH_SETTLE", "0"))


@events.init.add_listener
def _reset_after_ramp(environment, **_kwargs):
    @environment.events.spawning_complete.add_listener
    def _later(user_count, **_kw):
        if environment.runner is not None:
            gevent.spawn_later(SETTLE, environment.runner.stats.reset_all)


class Official(HttpUser):
    abstract = True
    role = "zone_approver"

    def on_start(self):
        page = self.client.get("/auth/login", name="login form").text
        token = CSRF.search(page).group(1)
        started = time.perf_counter()
        with self.client.post("/auth/login", name="login", allow_redirects=False, catch_response=True,
                              data={"username": f"bench-{self.role}", "password": PASSWORD,
                                    "csrf_token": token}) as response:
            # Only a redirect is a login: a 200 (the form again) or a 429 would leave the user timing login pages.
            if response.status_code != 302:
                response.failure(f"login answered {response.status_code}")
            status = response.status_code
        # The stats are reset after the ramp (load.py), so each login's time is also kept here, to report apart.
        if log := os.environ.get("BENCH_LOGIN_LOG"):
            with open(log, "a") as f:
                f.write(f"{(time.perf_counter() - started) * 1000:.0f} {status}\n")


# The mixed workload: the zone's offices at work, a task per request. Weights are per role (locust's `tasks` dict,
# each task picked in proportion to its weight), large enough that the rendered downloads can be rare: an official
# has a dossier rendered once in 85 to 125 requests (by role), finance the 200-row disbursement sheet as PDF once in
# 84 and as XLSX once in 28, as people who file them now and then do. With two finance users in 50 that is about one
# sheet PDF a run: its p95 in the load row is one sample. A 批复 is sent as it was stored when issued, so it need not
# be rare; so is the sheet PDF of the approved batch, filed at its approval (bench/run.py files it before the load).
def inbox(user):
    user.client.get("/applications/" if user.role != "instructor" else "/instructor/", name=f"inbox ({user.role})")


def all_applications(user):
    user.client.get("/applications/?state=all", name="applications ?state=all")


def card(user):
    user.client.get(f"/applications/{random.choice(APP_IDS[user.role])}", name="application page")


def approval_pdf(user):
    if DOC_IDS[user.role]:  # a role none of whose organisations has a 批复 yet has none to open
        user.client.get(f"/applications/{random.choice(DOC_IDS[user.role])}/approval.pdf", name="批复 PDF (stored)")


def dossier_pdf(user):
    user.client.get(f"/applications/{random.choice(APP_IDS[user.role])}/dossier.pdf", name="dossier PDF")


def zone_pages(user):
    user.client.get(random.choice(["/zone/", "/zone/instructors", "/zone/funds"]), name="zone pages")


def dashboard(user):
    user.client.get("/registry/", name="registry dashboard")


def finance_pages(user):
    user.client.get(random.choice(["/finance/", "/finance/overview", f"/finance/batches/{BATCH_ID}"]),
                    name="finance pages")


def sheet_xlsx(user):
    user.client.get(f"/finance/batches/{BATCH_ID}/sheet.xlsx", name="sheet XLSX, 200 rows")


def sheet_pdf(user):
    user.client.get(f"/finance/batches/{BATCH_ID}/sheet.pdf", name="sheet PDF, 200 rows")


class MixedUser(Official):
    """One of the zone's officials at work. Of every 21 sessions, 8 are the zone's, 8 a unit's reviewers, 4
    instructors and 1 finance (locust spreads the 50 users by these weights)."""
    abstract = True
    wait_time = between(0.5, 2.0)


class ZoneUser(MixedUser):
    weight, role = 8, "zone_approver"
    tasks = {inbox: 40, all_applications: 20, card: 40, approval_pdf: 4, dossier_pdf: 1, zone_pages: 10,
             dashboard: 10}


class ReviewerUser(MixedUser):
    weight, role = 8, "unit_reviewer"
    tasks = {inbox: 40, all_applications: 20, card: 40, approval_pdf: 4, dossier_pdf: 1, dashboard: 10}


class InstructorUser(MixedUser):
    weight, role = 4, "instructor"
    tasks = {inbox: 40, card: 40, approval_pdf: 4, dossier_pdf: 1}


class FinanceUser(MixedUser):
    weight, role = 1, "finance"
    tasks = {finance_pages: 80, sheet_xlsx: 3, sheet_pdf: 1}


class ListUser(Official):
    wait_time = constant(0)

    @task
    def listing(self):
        self.client.get("/applications/?state=all", name="list page")


class FloorUser(Official):
    """The least an official's page costs: the login session, the user, the navigation's counters, a fragment
    of two badges (/applications/badges, which htmx fetches after every action). No list, no layout."""
    wait_time = constant(0)

    @task
    def badges(self):
        self.client.get("/applications/badges", name="badges")


class BareUser(HttpUser):
    wait_time = constant(0)

    @task
    def bare(self):
        self.client.get("/bare", name="bare route")
