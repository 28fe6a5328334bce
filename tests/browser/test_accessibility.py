"""Every page of every role, with the demo data, through axe-core in Chromium: no serious or critical violation;
and the same page at 375 px is no wider than the phone.

The pages come from the URL map and the access table of tests/test_access_matrix.py, so a new page is
checked as soon as it exists (a GET route neither visited nor skipped here with a reason fails the test).
Pages about one application are opened once per state of the workflow, since each state shows other
panels (the return reason, the steps' forms, the instructor, the documents, the fund, the guidance).
"""
import time
from collections import defaultdict

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from flask import url_for
from playwright.sync_api import Browser, expect

from domain import applications as verbs
from domain.accounts import DEMO_PASSWORD
from models import AppState, Application, PartyOrg, Role, User, db
from tests.browser.helpers import log_in
from tests.browser.test_phone_journey import OVERFLOW, PHONE
from tests.test_access_matrix import ACCESS, DOWNLOADS, world  # noqa: F401 (the demo data plus what it lacks)

pytestmark = pytest.mark.browser

# GET routes that are not HTML pages, or not whole ones: axe has nothing to check in them.
NOT_PAGES = DOWNLOADS | {
    "static",  # stylesheets, scripts and images
    # htmx partials: each is part of a whole page checked here (the counters are in every page's navbar,
    # a member row is in the application form, the 改派 options in the card, whose forms are opened here).
    "applications.badges", "applicant.member_row", "applications.reassign_options",
}
# Pages everyone may open (login, register, the public verify page) are checked as the anonymous visitor:
# signed in, the same page differs only by the navbar, which every other page checks.
ANONYMOUS_ONLY = {endpoint for endpoint, who in ACCESS.items() if who == ACCESS["auth.login"]}
SERIOUS = {"serious", "critical"}
DESKTOP = {"width": 1280, "height": 900}
# The states whose application page each role gets to see, one application of each.
STATES = list(AppState)


def _actors(ids: dict, logins: dict) -> list[tuple[str, str | None, str]]:
    """(label, username, access-table role): every role, and an applicant at each state of the workflow."""
    actors = [("anonymous", None, "anonymous"), ("applicant without application", "applicant", "applicant")]
    for state in STATES:
        application = db.session.scalar(sa.select(Application).where(Application.state == state)
                                        .order_by(Application.id))
        if application is not None:
            contact = db.session.scalar(sa.select(User.username).where(
                User.organisation_id == application.organisation_id, User.role == Role.APPLICANT))
            actors.append((f"applicant at {state.value}", contact, "applicant"))
    actors += [("unit reviewer", logins["reviewer"], "reviewer"), ("zone approver", "zone", "zone"),
               ("instructor", logins["instructor"], "instructor"), ("finance", "finance", "finance"),
               ("admin", "admin", "admin")]
    return actors


# The established organisation's contact (the access table's applicant) opens every applicant page; the
# other states' contacts open only the pages their state changes, which keeps the walk short.
STATE_PAGES = {"applicant.home", "applications.show", "applicant.edit_application"}


def _pages(app, ids: dict, username: str | None, role: str, only: set | None = None) -> list[str]:
    """The URLs of every GET page this account may open, with each application it may see, one per state."""
    user = db.session.scalar(sa.select(User).filter_by(username=username)) if username else None
    by_state = {}
    for application in db.session.scalars(sa.select(Application).order_by(Application.id)):
        if user is not None and application.can_view(user):
            by_state.setdefault(application.state, application)
    urls = []
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            endpoint = rule.endpoint
            if "GET" not in rule.methods or endpoint in NOT_PAGES or role not in ACCESS[endpoint]:
                continue
            if only is not None and endpoint not in only:
                continue
            if endpoint in ANONYMOUS_ONLY and role != "anonymous":
                continue
            if "party_org_id" in rule.arguments and not (
                    user is not None and db.session.get(PartyOrg, ids["party_org_id"]).can_view(user)):
                continue  # the chosen organisation's record, for those who see it (an applicant of another: 404)
            if "application_id" in rule.arguments:
                for application in by_state.values():
                    if endpoint == "applicant.edit_application" and not verbs.can_edit(application, user):
                        continue  # it would only redirect to the application's page, checked already
                    urls.append(url_for(endpoint, application_id=application.id))
            else:
                urls.append(url_for(endpoint, **{name: ids[name] for name in rule.arguments}))
    return urls


def _serious(results: dict) -> list[str]:
    """One line per serious or critical rule broken: the rule, where, and axe's words on the first place."""
    problems = []
    for v in results["violations"]:
        if v["impact"] in SERIOUS:
            checks = [c["message"] for n in v["nodes"][:1] for c in n["any"] + n["all"] + n["none"]]
            problems.append(f"{v['id']} ({v['impact']}) at {', '.join(' '.join(n['target']) for n in v['nodes'])}"
                            f": {'; '.join(checks)[:300]}")
    return problems


def test_every_page_of_every_role_passes_axe(app, world, browser: Browser, live_server):  # noqa: F811
    ids, logins = world
    app.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    with app.app_context():
        # The returned application gets an attachment too, so its form lists one with its delete button.
        returned = db.session.scalar(sa.select(Application).where(Application.state == AppState.RETURNED))
        contact = db.session.scalar(sa.select(User).where(User.organisation_id == returned.organisation_id))
        verbs.add_attachment(returned, "党员名册.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 8, actor=contact,
                             version=returned.version)
        db.session.commit()
        plan = [(label, username, _pages(app, ids, username, role, only=STATE_PAGES if (
                    label.startswith("applicant at") and username != logins["applicant"]) else None))
                for label, username, role in _actors(ids, logins)]
    axe = Axe()
    found: dict[str, list[str]] = defaultdict(list)
    minor: dict[str, list[str]] = defaultdict(list)
    overflowing: list[str] = []
    checked, started = 0, time.monotonic()
    for label, username, urls in plan:
        context = browser.new_context(locale="zh-CN", viewport=DESKTOP)
        page = context.new_page()
        if username:
            log_in(page, live_server, username, DEMO_PASSWORD)
        for url in urls:
            response = page.goto(live_server + url)
            assert response.ok, f"{label}: {url} answered {response.status}"
            # The steps' forms wait in closed <details>; open them so that axe sees their fields too.
            page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true })")
            # Opening the card's 改派 form fetches its options (htmx): axe checks them once they are in.
            expect(page.locator('#reassign-instructor option[value=""]')).to_have_count(0)
            results = axe.run(page).response
            for problem in _serious(results):
                found[problem].append(f"{label} {url}")
            for v in results["violations"]:
                if v["impact"] not in SERIOUS:
                    minor[f"{v['id']} ({v['impact']})"].append(f"{label} {url} {[n['target'] for n in v['nodes'][:3]]}")
            # The same page on a phone: nothing may stick out past 375 px (wide tables scroll in their wrapper).
            page.set_viewport_size(PHONE)
            # Charts redraw on the resize event, a moment after it: give them that moment (up to 3 s; what still
            # sticks out is reported just below). Polled from here: page.wait_for_function evaluates its predicate
            # with eval() in the page, which the app's CSP refused once Debian's Chromium 156.0.8078.108 was
            # installed here (the suite passed with the build before it).
            deadline = time.monotonic() + 3
            while (page.evaluate("document.documentElement.scrollWidth") > PHONE["width"]
                   and time.monotonic() < deadline):
                page.wait_for_timeout(100)
            wide = page.evaluate(OVERFLOW)
            if wide["scrollWidth"] > PHONE["width"] or wide["wide"]:
                overflowing.append(f"{label} {url}: {wide}")
            page.set_viewport_size(DESKTOP)
            checked += 1
        if label == "applicant without application":
            # The form as it comes back with errors: the messages, the invalid fields, the error summary.
            page.goto(live_server + "/applications/new")
            page.locator("input[name=member_name]").first.fill("张海军")  # a member without a date
            page.get_by_role("button", name="保存草稿").click()
            page.wait_for_load_state()
            for problem in _serious(axe.run(page).response):
                found[problem].append(f"{label} /applications/new (with errors)")
            checked += 1
        context.close()
    report = [f"{problem}\n    on {'; '.join(pages[:6])}{' ...' if len(pages) > 6 else ''}"
              for problem, pages in sorted(found.items())]
    for rule, pages in sorted(minor.items()):  # not failures, but worth seeing with -s
        print("moderate or minor:", rule, len(pages), pages[:3])
    print(f"axe checked {checked} pages for {len(plan)} accounts in {time.monotonic() - started:.1f}s")
    assert not report, "serious or critical accessibility violations:\n" + "\n".join(report)
    assert not overflowing, "wider than a 375 px phone:\n" + "\n".join(overflowing)
    assert checked > 60


def test_every_get_route_is_visited_or_skipped_with_a_reason(app):
    """A new page fails here until it is in the access table, which is where the walk above finds it."""
    gets = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods}
    assert set(NOT_PAGES) <= gets
    assert gets - set(NOT_PAGES) <= set(ACCESS)
    assert {"applications.show", "applicant.edit_application", "finance.batch", "registry.show_import",
            "public.verify", "admin.reset_user_password"} <= gets - set(NOT_PAGES)
