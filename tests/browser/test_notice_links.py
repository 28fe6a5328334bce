"""A notice opens the card at the panel it is about (issue 29): the fund's notice at the fund and its payee form,
a returned election at the election report's form, opened."""
import pytest
from playwright.sync_api import expect

from domain import applications as verbs
from domain import funds
from domain.applications import ElectionReport
from models import Application, FundItem, Role, User, db
from tests.browser.helpers import log_in
from tests.conftest import zone_today

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 812}
DESK = {"width": 1366, "height": 768}
IN_VIEW = "el => { const r = el.getBoundingClientRect(); return r.top >= -1 && r.top < window.innerHeight; }"


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["375", "1366"])
def test_the_fund_notice_opens_the_fund_panel(browser, live_server, app, make_fund, make_user, viewport, shots):
    item = make_fund("pending")
    contact = make_user(Role.APPLICANT, organisation=item.organisation)
    with app.app_context():
        fund = db.session.get(FundItem, item.id)
        funds.confirm_fund(fund, actor=db.session.get(User, make_fund.zone_id[0]), version=fund.version)
        db.session.commit()
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    log_in(page, live_server, contact.username)
    page.goto(live_server + "/applications/notifications")
    page.get_by_role("link", name="启动经费已核定").click()
    page.wait_for_url(f"**/applications/{item.application_id}#fund")
    panel = page.locator("#fund")
    expect(panel.get_by_label("开户名")).to_be_visible()
    page.wait_for_function(f"() => ({IN_VIEW})(document.getElementById('fund'))")
    page.wait_for_timeout(600)  # Bootstrap's smooth scrolling, if any, has ended
    assert page.evaluate("scrollY") > 0 and page.evaluate(f"({IN_VIEW})(document.getElementById('fund'))")
    page.screenshot(path=shots / f"fund-notice-{viewport['width']}.png")
    page.context.close()


def test_a_returned_election_opens_its_report_form(browser, live_server, app, make_application, make_user, shots):
    made = make_application("approved")
    contact = make_user(Role.APPLICANT, organisation=made.organisation)
    zone = make_user(Role.ZONE_APPROVER)
    with app.app_context():
        application = db.session.get(Application, made.id)
        verbs.report_election(application, ElectionReport(zone_today(), 5, 5, "党员1", 5),
                              actor=db.session.get(User, contact.id), version=application.version)
        verbs.return_election(application, actor=db.session.get(User, zone.id), version=application.version,
                              comment="实到人数有误，请核对签到表")
        db.session.commit()
    page = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    log_in(page, live_server, contact.username)
    page.goto(live_server + "/applications/notifications")
    page.get_by_role("link", name="退回选举结果").click()
    panel = page.locator("#step-report_election")
    expect(panel).to_have_attribute("open", "")
    expect(panel.get_by_label("党员大会日期")).to_be_visible()
    # The panel itself has no box (display: contents): its button, and its form below, are what must show.
    summary = "document.querySelector('#step-report_election summary')"
    page.wait_for_timeout(600)  # Bootstrap's smooth scrolling, if any, has ended
    assert page.evaluate("scrollY") > 0 and page.evaluate(f"({IN_VIEW})({summary})")
    page.screenshot(path=shots / "election-notice-375.png")
    page.context.close()


def test_a_malformed_link_target_opens_the_card_without_a_script_error(browser, live_server, make_application,
                                                                        make_user):
    made = make_application("approved")
    contact = make_user(Role.APPLICANT, organisation=made.organisation)
    page = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server, contact.username)
    page.goto(live_server + f"/applications/{made.id}#%E0%A4%A")
    page.wait_for_load_state()
    page.evaluate("() => { location.hash = '#%E0%A4'; }")  # and a hashchange to another cut-off target
    expect(page.locator("#application-card")).to_be_visible()
    page.wait_for_timeout(200)
    assert errors == []
    page.context.close()
