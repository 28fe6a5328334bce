"""A branch with a committee reports its election as it happened (issue 29): the members' meeting elected the 委员,
each with their votes, and the committee elected the secretary from among them."""
import pytest
from playwright.sync_api import expect

from models import Application, Role, db
from tests.browser.helpers import log_in
from tests.conftest import zone_today

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 812}
DESK = {"width": 1366, "height": 768}


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["375", "1366"])
def test_the_committee_and_its_secretary_are_reported(browser, live_server, app, make_application, make_user,
                                                      viewport, shots):
    made = make_application("approved", formal=8, probationary=0)
    applicant = make_user(Role.APPLICANT, organisation=made.organisation)
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    log_in(page, live_server, applicant.username)
    page.goto(f"{live_server}/applications/{made.id}")
    card = page.locator("#application-card")
    card.locator("summary", has_text="报告选举结果").click()
    form = card.locator("details[open] form")
    form.get_by_label("党员大会日期").fill(zone_today().isoformat())
    form.get_by_label("实到人数").fill("8")
    for i, (name, votes) in enumerate([("党员1", "8"), ("党员2", "7"), ("党员3", "4")], start=1):
        form.get_by_label(f"第{i}名委员姓名").fill(name)
        form.get_by_label(f"第{i}名委员得票数").fill(votes)
    form.get_by_label("委员会选举产生的书记").fill("党员1")
    form.get_by_label("书记在委员会的得票数").fill("3")
    form.get_by_role("button", name="确认报告选举结果").click()
    refusal = card.locator(".refusal")
    expect(refusal).to_contain_text("委员“党员3”的得票数 4 未超过实到人数的一半，不能当选")
    expect(card.get_by_label("第3名委员姓名")).to_have_value("党员3")  # nothing typed is lost
    page.screenshot(path=shots / f"committee-refused-{viewport['width']}.png", full_page=True)
    card.get_by_label("第3名委员得票数").fill("6")
    card.get_by_role("button", name="确认报告选举结果").click()
    expect(card.locator(".badge").first).to_have_text("选举结果待审")
    expect(card).to_contain_text("选举委员：党员1（8 票）、党员2（7 票）、党员3（6 票）；委员会选举党员1为书记（3 票）")
    with app.app_context():
        assert db.session.get(Application, made.id).committee_members == "党员1、党员2、党员3"
    page.context.close()
