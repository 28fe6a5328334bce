"""Simulated users for bench/load.py; run only there (loopback, bounded in time), never in `make test`.

MixedUser is the load test: 50 officials at work, mostly lists and application cards, some dashboards.
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
APP_IDS = {role: [int(i) for i in os.environ.get(f"BENCH_IDS_{role}", "1").split(",")]
           for role in ("zone_approver", "unit_reviewer", "instructor")}
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


class MixedUser(Official):
    wait_time = between(0.5, 2.0)

    def on_start(self):
        # Roughly the zone's offices: most sessions are unit reviewers and the zone, a few instructors.
        self.role = random.choices(["zone_approver", "unit_reviewer", "instructor"], [4, 4, 2])[0]
        super().on_start()

    @task(4)
    def inbox(self):
        self.client.get("/applications/" if self.role != "instructor" else "/instructor/",
                        name=f"inbox ({self.role})")

    @task(2)
    def all_applications(self):
        if self.role != "instructor":
            self.client.get("/applications/?state=all", name="applications ?state=all")

    @task(4)
    def card(self):
        self.client.get(f"/applications/{random.choice(APP_IDS[self.role])}", name="application page")

    @task(1)
    def zone_pages(self):
        if self.role == "zone_approver":
            self.client.get(random.choice(["/zone/", "/zone/instructors"]), name="zone pages")

    @task(1)
    def dashboard(self):
        if self.role != "instructor":
            self.client.get("/registry/", name="registry dashboard")


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
