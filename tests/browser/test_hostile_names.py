"""Markup typed into names and free text shows as text on every page, in Chromium.

The demo world is given hostile names everywhere a user can type one (organisations, people, instructors,
members, reasons); then each role walks every page it may open. A script that ran would open a dialog
(alert) or leave an element the payload made; either fails the test.
"""
import pytest
import sqlalchemy as sa
from playwright.sync_api import Page

from domain.accounts import DEMO_PASSWORD
from models import Application, ApplicationMember, Instructor, Organisation, User, db
from tests.browser.helpers import log_in
from tests.test_access_matrix import ACCESS, DOWNLOADS, _urls, world  # noqa: F401 (world is a fixture)

pytestmark = pytest.mark.browser

PAYLOADS = {
    "org": "<img src=x onerror=alert(1)>",
    "user": "<script>alert(2)</script>",
    "instructor": '"><svg onload=alert(3)>',
    "member": "<b onmouseover=alert(4)>",
    "text": "</textarea><iframe srcdoc='<script>alert(5)</script>'>",
}
# What the walk does not open in the browser: downloads, and routes that only answer POST.
NOT_PAGES = DOWNLOADS | {"static", "auth.logout"}
INJECTED = "img[src='x'], svg[onload], iframe[srcdoc], b[onmouseover], script:not([src])"


def _make_hostile(app) -> None:
    with app.app_context():
        for org in db.session.scalars(sa.select(Organisation)):
            org.name = PAYLOADS["org"] + org.name
        for user in db.session.scalars(sa.select(User)):
            user.name = PAYLOADS["user"] + user.name
        for instructor in db.session.scalars(sa.select(Instructor)):
            instructor.name = PAYLOADS["instructor"] + instructor.name
        for member in db.session.scalars(sa.select(ApplicationMember)):
            member.name = PAYLOADS["member"] + member.name
        for application in db.session.scalars(sa.select(Application)):
            application.reasons = PAYLOADS["text"] + (application.reasons or "")
            application.version += 1  # an edit, as the applicant's form would make
        db.session.commit()


def test_hostile_names_show_as_text_on_every_page(page: Page, app, live_server, world):  # noqa: F811
    ids, logins = world
    _make_hostile(app)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(f"{page.url}: {dialog.message}"), dialog.dismiss()))
    pages = [(endpoint, url) for endpoint, method, url in _urls(app, ids)
             if method == "GET" and endpoint not in NOT_PAGES]
    injected, visited, shown = [], 0, set()
    for actor, username in logins.items():
        if actor.startswith("other_"):
            continue
        page.context.clear_cookies()
        if username:
            log_in(page, live_server, username, DEMO_PASSWORD)
        for endpoint, url in pages:
            if actor not in ACCESS[endpoint]:
                continue
            response = page.goto(live_server + url)
            assert response.status < 500, f"{url} as {actor}: {response.status}"
            page.mouse.move(200, 300)  # over whatever is there, for onmouseover
            visited += 1
            found = page.locator(INJECTED).count()
            if found:
                injected.append(f"{url} as {actor}: {found} element(s) made by a payload")
            text = page.locator("body").inner_text()
            shown.update(name for name, payload in PAYLOADS.items() if payload in text)
    assert dialogs == [] and injected == [], "\n".join(dialogs + injected)
    assert visited > 40
    # The payloads were on the pages, as text (not dropped, which would also "pass").
    assert shown == set(PAYLOADS), shown
