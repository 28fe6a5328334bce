"""The zone reassigns (改派) an organisation's instructor in Chromium: the ranked instructors arrive when the
form is opened (htmx), and, with JavaScript off, through the link that opens the form with them."""
import pytest
from playwright.sync_api import Browser, Page, expect

from models import Role
from tests.browser.helpers import log_in

pytestmark = pytest.mark.browser


def _reassign(page: Page, shots=None) -> None:
    card = page.locator("#application-card")
    choice = card.get_by_label("改派给 *")
    expect(choice.locator("option", has_text="乌云（组织部）")).to_have_count(1)
    if shots is not None:
        page.screenshot(path=shots / "reassign-open.png", full_page=True)
    choice.select_option(label=choice.locator("option", has_text="乌云").inner_text())
    card.get_by_label("改派理由 *").fill("原指导员调任")
    card.get_by_role("button", name="确认改派").click()
    expect(page.locator("#application-card")).to_contain_text("乌云（组织部）：")
    expect(page.locator("#application-card li", has_text="乌云")).to_contain_text("现任")


def test_zone_reassigns_with_the_choices_fetched_on_opening(page: Page, live_server, make_application,
                                                            make_instructor, make_user, shots):
    made = make_application("established")
    make_instructor(name="乌云")
    zone = make_user(Role.ZONE_APPROVER, username="reassign-zone")
    log_in(page, live_server, zone.username)
    page.goto(f"{live_server}/applications/{made.id}")
    choice = page.get_by_label("改派给 *")
    expect(choice.locator("option")).to_have_count(1)  # nothing ranked until the form is opened
    with page.expect_response(lambda r: r.url.endswith(f"/applications/{made.id}/reassign/options")):
        page.get_by_text("改派指导员").click()
    _reassign(page, shots)


def test_zone_reassigns_without_javascript(browser: Browser, live_server, make_application, make_instructor,
                                           make_user):
    made = make_application("established")
    make_instructor(name="乌云")
    zone = make_user(Role.ZONE_APPROVER, username="reassign-nojs")
    page = browser.new_context(java_script_enabled=False).new_page()
    log_in(page, live_server, zone.username)
    page.goto(f"{live_server}/applications/{made.id}")
    page.get_by_text("改派指导员").click()
    page.get_by_role("link", name="载入指导员名单").click()
    _reassign(page)
    page.context.close()
