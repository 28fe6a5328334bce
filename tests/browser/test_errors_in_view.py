"""Errors where the user is (issue 29): after a refused form the first error is on screen and focused, beside its
field or button, with a summary linking to each error when there are several; the browser's own validation
bubbles never show; number fields open the number pad. At 375 px (a phone) and 1366 px."""
import pytest
from playwright.sync_api import Page, expect

from models import Role
from tests.browser.helpers import log_in

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 812}
DESK = {"width": 1366, "height": 768}

IN_VIEW = """el => { const r = el.getBoundingClientRect();
  return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }"""


def focused_in_view(page: Page) -> bool:
    """The focused element is on screen (waiting a moment for the page to settle after a reload)."""
    page.wait_for_function(f"() => document.activeElement !== document.body && ({IN_VIEW})(document.activeElement)",
                           timeout=3000)
    return True


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["375", "1366"])
def test_the_election_form_shows_its_errors_where_the_button_is(browser, live_server, make_application, make_user,
                                                               viewport, shots):
    made = make_application("approved")
    applicant = make_user(Role.APPLICANT, organisation=made.organisation)
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    log_in(page, live_server, applicant.username)
    page.goto(f"{live_server}/applications/{made.id}")
    card = page.locator("#application-card")
    card.locator("summary", has_text="报告选举结果").click()
    card.get_by_label("应到人数").fill("")
    card.get_by_label("当选书记").fill("")
    button = card.get_by_role("button", name="确认报告选举结果")
    button.scroll_into_view_if_needed()
    button.click()  # no browser bubble: the form is sent and the server answers in Chinese
    summary = card.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    assert focused_in_view(page)
    expect(summary.get_by_role("link")).to_have_count(5)  # date, expected, present, secretary, votes
    expect(card.get_by_label("党员大会日期")).to_have_attribute("aria-invalid", "true")
    assert card.get_by_label("应到人数").get_attribute("inputmode") == "numeric"
    # Only this panel's errors: the card's top shows no refusal.
    assert page.locator("#application-card > .card-body > .alert-danger").all_inner_texts() == []
    page.screenshot(path=shots / f"election-errors-{viewport['width']}.png")
    summary.get_by_role("link").first.click()
    expect(card.get_by_label("党员大会日期")).to_be_focused()
    page.context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["375", "1366"])
def test_a_refused_step_says_why_beside_its_button(browser, live_server, make_application, make_user, viewport,
                                                 shots):
    made = make_application("submitted")
    reviewer = make_user(Role.UNIT_REVIEWER)
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    log_in(page, live_server, reviewer.username)
    page.goto(f"{live_server}/applications/{made.id}")
    card = page.locator("#application-card")
    card.locator("summary", has_text="退回修改").click()
    card.get_by_role("button", name="确认退回修改").click()  # no reason given
    error = card.locator("#return-comment-error")
    expect(error).to_contain_text("理由")
    expect(card.locator("#return-comment")).to_be_focused()
    assert focused_in_view(page)
    page.screenshot(path=shots / f"return-refused-{viewport['width']}.png")
    page.context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["375", "1366"])
def test_the_payee_form_brings_its_error_into_view_after_the_reload(browser, live_server, make_fund, make_user, app,
                                                                    viewport, shots):
    from models import FundItem, db

    item = make_fund("approved")
    with app.app_context():
        org = db.session.get(FundItem, item.id).application.organisation
        applicant = db.session.query(type(make_user(Role.APPLICANT, organisation=org))).filter_by(
            organisation_id=org.id).first()
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    log_in(page, live_server, applicant.username)
    page.goto(live_server + "/applicant/")
    account = page.get_by_label("账号")
    assert account.get_attribute("inputmode") == "numeric" and account.get_attribute("type") == "text"
    page.get_by_label("开户行").fill("中国工商银行通辽开发区支行")
    page.get_by_role("button", name="保存收款账户").click()
    page.wait_for_load_state()
    expect(page.locator(".is-invalid").first).to_be_visible()
    assert focused_in_view(page), page.evaluate("[document.activeElement.outerHTML.slice(0, 200), JSON.stringify(document.activeElement.getBoundingClientRect()), window.scrollY]")
    page.screenshot(path=shots / f"payee-errors-{viewport['width']}.png")
    page.context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["375", "1366"])
def test_the_payee_form_on_the_card_answers_in_its_panel(browser, live_server, make_fund, app, viewport, shots):
    """Saving the payee from the card stays on the card: the error beside the account number, focused and on
    screen, what was typed kept; then the saved message in the fund panel, still where the user is."""
    from models import FundItem, User, db

    item = make_fund("approved")
    with app.app_context():
        fund = db.session.get(FundItem, item.id)
        application_id = fund.application_id
        username = db.session.query(User.username).filter_by(organisation_id=fund.organisation_id).first()[0]
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    log_in(page, live_server, username)
    page.goto(f"{live_server}/applications/{application_id}")
    panel = page.locator("#fund")
    panel.get_by_label("开户名").fill("卡片收款测试有限公司")
    panel.get_by_label("开户行").fill("中国工商银行通辽开发区支行")
    panel.get_by_label("账号").fill("6222 02")
    panel.get_by_role("button", name="保存收款账户").click()
    account = page.locator("#fund").get_by_label("账号")
    expect(page.locator("#account_number-error")).to_contain_text("账号应为8至30位数字")
    expect(account).to_be_focused()
    assert focused_in_view(page)
    assert page.url == f"{live_server}/applications/{application_id}"  # still the card, not the home page
    expect(page.locator("#fund").get_by_label("开户名")).to_have_value("卡片收款测试有限公司")
    expect(page.locator("#fund .is-invalid")).to_have_count(1)  # only the error that applies
    page.screenshot(path=shots / f"payee-card-error-{viewport['width']}.png")
    account.fill("6222 0206 1234 5678")
    page.locator("#fund").get_by_role("button", name="保存收款账户").click()
    saved = page.locator("#fund [role=status]")
    expect(saved).to_contain_text("收款账户已保存")
    expect(saved).to_be_focused()  # not lost to the top of the page with the swapped button
    expect(page.locator("#fund .is-invalid")).to_have_count(0)
    assert saved.evaluate(IN_VIEW)
    expect(page.locator("#flash-area")).to_have_text("")
    assert page.url == f"{live_server}/applications/{application_id}"
    page.screenshot(path=shots / f"payee-card-saved-{viewport['width']}.png")
    page.context.close()


def test_no_form_uses_the_browsers_own_validation(browser, live_server, make_application, make_user):
    made = make_application("submitted")
    reviewer = make_user(Role.UNIT_REVIEWER)
    page = browser.new_context(viewport=DESK).new_page()
    log_in(page, live_server, reviewer.username)
    for path in [f"/applications/{made.id}", "/applications/", "/auth/password"]:
        page.goto(live_server + path)
        assert page.evaluate("[...document.forms].filter(f => !f.noValidate).length") == 0, path
    page.context.close()
