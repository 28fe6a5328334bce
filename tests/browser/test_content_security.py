"""The Content-Security-Policy in Chromium, with HTMX_LOCAL_ONLY unset (the CDN tag and the local fallback).

There is no internet here, so Playwright stands in for the CDN: once it cannot be reached (htmx comes from the
local fallback), once it serves its htmx file (the same bytes as static/vendor/, so the SRI hash holds) and, at
any other path on the same host, a script the policy must refuse."""
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from models import Role
from tests.browser.helpers import log_in

pytestmark = pytest.mark.browser

HTMX_CDN_FILE = "https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js"
HTMX_LOCAL = "/static/vendor/htmx-2.0.11.min.js"
ELSEWHERE_ON_THE_CDN = "https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/ext/debug.js"
# Recorded from the document's start: an init script runs before the page's own and is not held to its policy.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
                          e => window.__violations.push(e.effectiveDirective + ' ' + e.blockedURI));
"""

# Adds a script tag and answers with what came of it: the policy's refusal, or that it loaded (or failed to).
LOAD_A_SCRIPT = """src => new Promise(resolve => {
  document.addEventListener('securitypolicyviolation', e => resolve(e.effectiveDirective + ' ' + e.blockedURI),
                            {once: true});
  const script = Object.assign(document.createElement('script'), {src});
  script.onload = () => resolve('loaded');
  script.onerror = () => setTimeout(() => resolve('failed'), 100);  // a refusal fires its event first
  document.head.appendChild(script);
})"""


def open_the_form(browser: Browser, live_server: str, username: str, cdn) -> tuple[Page, list[str], list[str]]:
    """The applicant's application form with `cdn` answering for the CDN host; the page, the URLs it requested,
    and what the console said about the policy."""
    page = browser.new_context().new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    requested, console = [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: console.append(message.text) if "Content Security Policy" in message.text
            else None)
    page.route("https://cdn.jsdelivr.net/**", cdn)
    log_in(page, live_server, username)
    page.goto(live_server + "/applications/new")
    return page, requested, console


def add_a_member_row(page: Page) -> None:
    """htmx at work: 添加一行 fetches a blank row from the server and appends it."""
    rows = page.locator(".member-row")
    before = rows.count()
    # htmx loads async (from the CDN or, failing that, the local copy): a click before it has started does nothing,
    # as for a person who clicks in that moment. Wait for it, as they would try again.
    page.wait_for_function("() => window.htmx !== undefined", timeout=5000)
    page.get_by_role("button", name="添加一行").click()
    expect(rows).to_have_count(before + 1)


@pytest.fixture
def applicant(app, make_org, make_user):
    app.config["HTMX_LOCAL_ONLY"] = False  # as when the variable is unset (the testing config sets it)
    return make_user(Role.APPLICANT, organisation=make_org(formal_members=3, probationary_members=0))


def test_without_the_cdn_htmx_runs_from_the_local_copy_and_nothing_is_refused(browser: Browser, live_server,
                                                                                applicant):
    page, requested, console = open_the_form(browser, live_server, applicant.username,
                                             lambda route: route.abort("internetdisconnected"))
    add_a_member_row(page)
    assert HTMX_CDN_FILE in requested and live_server + HTMX_LOCAL in requested
    assert page.evaluate("window.__violations") == [] and console == []
    page.context.close()


def test_the_policy_allows_the_htmx_file_on_the_cdn_and_nothing_else_there(browser: Browser, live_server,
                                                                            applicant):
    served = []

    def cdn(route: Route):
        served.append(route.request.url)
        if route.request.url == HTMX_CDN_FILE:
            body = (Path(__file__).parents[2] / HTMX_LOCAL.lstrip("/")).read_bytes()
        else:
            body = b"window.__elsewhere = true;"
        route.fulfill(status=200, body=body, headers={"Content-Type": "text/javascript",
                                                      "Access-Control-Allow-Origin": "*"})

    page, requested, console = open_the_form(browser, live_server, applicant.username, cdn)
    add_a_member_row(page)
    assert live_server + HTMX_LOCAL not in requested  # the CDN's copy ran: no fallback was needed
    assert page.evaluate("window.__violations") == [] and console == []
    # Another file on the same host is refused by the browser: the CDN never hears of it.
    outcome = page.evaluate(LOAD_A_SCRIPT, ELSEWHERE_ON_THE_CDN)
    assert [outcome, page.evaluate("window.__elsewhere === undefined")] == [
        f"script-src-elem {ELSEWHERE_ON_THE_CDN}", True]
    assert set(served) == {HTMX_CDN_FILE}  # one request a page
    page.context.close()


@pytest.mark.parametrize("path", ["/auth/login", "/applicant/", "/applications/new"])
def test_a_cdn_that_never_answers_holds_no_page(browser: Browser, live_server, applicant, path):
    """The CDN's request held open (an intranet dropping packets): the page shows at once, and htmx comes from the
    local copy within 2 s and works."""
    page = browser.new_context().new_page()
    page.route("https://cdn.jsdelivr.net/**", lambda route: route.abort("internetdisconnected"))
    if path != "/auth/login":
        log_in(page, live_server, applicant.username)
    page.unroute_all()
    held = []
    page.route("https://cdn.jsdelivr.net/**", lambda route: held.append(route))  # never fulfilled, never aborted
    # A script that blocked rendering would hold the document's parsing, and so this, until the CDN answered:
    # never. The clock starts once the page is parsed, so that a slow test machine's request is not counted.
    page.goto(live_server + path, wait_until="domcontentloaded", timeout=15000)
    started = time.monotonic()
    expect(page.locator("main h1, main h2").first).to_be_visible(timeout=1000)
    page.wait_for_function("() => window.htmx !== undefined", timeout=2000)
    loaded = time.monotonic() - started
    assert held and loaded < 2, loaded
    if path == "/applications/new":
        add_a_member_row(page)  # htmx started, though the page's load event is still waiting for the CDN
    page.unroute_all(behavior="ignoreErrors")
    page.context.close()
