"""The founding journey in Chromium: apply, return, correct, pass, approve, elect, establish.

Every workflow action swaps the card in place: a marker set on `window` survives each one, which a
page load would wipe.
"""

import pytest
from playwright.sync_api import Page, expect

from models import Role
from tests.browser.helpers import log_in
from tests.conftest import zone_today

pytestmark = pytest.mark.browser
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def act_in_place(page: Page, summary: str, confirm: str, **fields) -> None:
    """Open a step's form, fill it, confirm; assert the page was not reloaded."""
    page.evaluate("window.__sameDocument = true")
    card = page.locator("#application-card")
    card.locator("summary", has_text=summary).click()
    form = card.locator("details[open] form")
    for label, value in fields.items():
        control = form.get_by_label(label)
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(label=value)
        else:
            control.fill(value)
    form.get_by_role("button", name=confirm).click()
    expect(page.locator("#application-card .alert-success")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True, "the action reloaded the page"


def test_the_whole_founding_journey(page: Page, live_server, make_org, make_user, make_instructor, shots):
    org = make_org(name="通辽旅程测试机械有限公司", formal_members=4, probationary_members=1)
    contact = make_user(Role.APPLICANT, organisation=org, username="journey-contact")
    reviewer = make_user(Role.UNIT_REVIEWER, unit_code="industrial_park", username="journey-reviewer")
    zone = make_user(Role.ZONE_APPROVER, username="journey-zone")
    make_instructor(name="乌云其木格", home_organ="开发区党群工作部")

    # The applicant fills the form: five members, one attachment, and submits.
    log_in(page, live_server, contact.username)
    page.get_by_role("link", name="申请成立党组织").click()
    expect(page.get_by_label("申请成立的党组织类别")).to_have_value("branch")  # suggested from 4 + 1 members
    expect(page.locator(".member-row")).to_have_count(5)  # the list follows the declared 4 + 1 members
    page.get_by_role("button", name="添加一行").click()  # one more by hand, from the server
    expect(page.locator(".member-row")).to_have_count(6)
    for i, (name, status) in enumerate([("张海军", "正式党员"), ("李秀英", "正式党员"), ("王立新", "正式党员"),
                                        ("赵春生", "正式党员"), ("刘晓东", "预备党员")]):
        row = page.locator(".member-row").nth(i)
        row.locator("input[name=member_name]").fill(name)
        row.locator("input[name=member_joined]").fill(f"201{i}-07-01")
        row.locator("select[name=member_status]").select_option(label=status)
    page.get_by_label("拟任书记").fill("张海军")
    page.get_by_label("申请理由").fill("公司现有正式党员4名、预备党员1名，申请成立党支部。")
    page.get_by_label("附件").set_input_files([{"name": "党员名册.png", "mimeType": "image/png", "buffer": PNG}])
    page.get_by_role("button", name="保存并提交").click()
    expect(page.get_by_text("申请已提交，请等待初审单位审核。")).to_be_visible()
    expect(page.get_by_role("link", name="党员名册.png")).to_be_visible()

    # The reviewer returns it with a reason, in place.
    log_in(page, live_server, reviewer.username)
    expect(page.locator("#inbox-count")).to_have_text("待办件数1")
    page.get_by_role("link", name="通辽旅程测试机械有限公司").click()
    act_in_place(page, "退回修改", "确认退回修改", 理由="请补充党员组织关系转接证明")
    expect(page.locator("#application-card .badge").first).to_have_text("退回修改")
    expect(page.locator("#inbox-count")).to_be_hidden()  # the counter refreshed after the action

    # The applicant sees why, corrects and resubmits.
    log_in(page, live_server, contact.username)
    expect(page.locator("#bell-count")).to_have_text("未读通知1")
    page.get_by_role("link", name="查看和办理申请").click()
    # The return reason first, at the top of the card and again of the edit form.
    expect(page.get_by_role("note", name="退回理由")).to_contain_text("请补充党员组织关系转接证明")
    page.get_by_role("link", name="修改申请").click()
    expect(page.get_by_role("note", name="退回理由")).to_contain_text("请补充党员组织关系转接证明")
    page.get_by_label("附件").set_input_files([{"name": "组织关系证明.pdf", "mimeType": "application/pdf",
                                              "buffer": b"%PDF-1.4\n%proof\n"}])
    page.get_by_role("button", name="保存并提交").click()
    expect(page.get_by_text("申请已提交")).to_be_visible()

    # The reviewer passes it; the zone approves with an instructor.
    log_in(page, live_server, reviewer.username)
    page.get_by_role("link", name="通辽旅程测试机械有限公司").click()
    act_in_place(page, "初审通过", "确认初审通过")
    expect(page.locator("#application-card .badge").first).to_have_text("待党工委审批")

    log_in(page, live_server, zone.username)
    page.get_by_role("link", name="通辽旅程测试机械有限公司").click()
    act_in_place(page, "批准成立", "确认批准成立", 选派党建指导员="乌云其木格（开发区党群工作部）— 负责其他单位，已指导 0/3，尚未选派")
    expect(page.locator("#application-card")).to_contain_text("乌云其木格（开发区党群工作部")

    # The applicant reports the election; the zone establishes the organisation.
    log_in(page, live_server, contact.username)
    page.get_by_role("link", name="查看和办理申请").click()
    act_in_place(page, "报告选举结果", "确认报告选举结果", 党员大会日期=zone_today().isoformat(), 实到人数="4",
                 书记得票数="4")
    expect(page.locator("#application-card .badge").first).to_have_text("选举结果待审")

    log_in(page, live_server, zone.username)
    page.goto(live_server + "/applications/")
    page.get_by_role("link", name="通辽旅程测试机械有限公司").click()
    act_in_place(page, "批准选举结果", "确认批准选举结果")
    card = page.locator("#application-card")
    expect(card.locator(".badge").first).to_have_text("已成立")
    expect(card).to_contain_text("党组织已正式成立")
    expect(card.locator(".timeline li")).to_have_count(8)  # created, submitted, returned, resubmitted, passed, approved, reported, established
    page.screenshot(path=shots / "established.png", full_page=True)


def test_acting_after_logging_out_elsewhere_keeps_the_page_and_says_why(page: Page, live_server, make_application,
                                                                         make_user):
    """Logged out in another tab, an official confirms a step: the card stays (with what was typed), and the
    reason shows at the top of the page, scrolled into view. Before, the login page was swapped into the card."""
    made = make_application("submitted")
    reviewer = make_user(Role.UNIT_REVIEWER, unit_code="industrial_park", username="expired-reviewer")
    log_in(page, live_server, reviewer.username)
    page.goto(f"{live_server}/applications/{made.id}")
    card = page.locator("#application-card")
    card.locator("summary", has_text="退回修改").click()
    card.locator("details[open] form").get_by_label("理由").fill("请补充党员组织关系证明")
    token = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")
    assert page.request.post(f"{live_server}/auth/logout", headers={"X-CSRFToken": token}).ok  # "another tab"
    card.locator("details[open] form").get_by_role("button", name="确认退回修改").click()
    alert = page.locator("#flash-area .alert-danger")
    expect(alert).to_contain_text("登录已过期")
    expect(alert).to_be_in_viewport()
    expect(card.locator("details[open] form").get_by_label("理由")).to_have_value("请补充党员组织关系证明")
    expect(card.get_by_label("用户名")).to_have_count(0)  # no login form inside the card
