"""With JavaScript off, the forms still work: plain POSTs and redirects. An application is submitted,
passed and approved, and a reload after each step repeats nothing."""
import pytest
from playwright.sync_api import Browser, expect

from models import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_submit_pass_and_approve_without_javascript(browser: Browser, live_server, app, make_org, make_user,
                                                    make_instructor):
    org = make_org(name="通辽无脚本测试有限公司", formal_members=3, probationary_members=0)
    contact = make_user(Role.APPLICANT, organisation=org, username="nojs-contact")
    reviewer = make_user(Role.UNIT_REVIEWER, unit_code="industrial_park", username="nojs-reviewer")
    zone = make_user(Role.ZONE_APPROVER, username="nojs-zone")
    make_instructor(name="孟德胜")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()

    def log_in(username):
        context.clear_cookies()
        page.goto(live_server + "/auth/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()

    log_in(contact.username)
    page.get_by_role("link", name="申请成立党组织").click()
    rows = page.locator(".member-row")
    for i, name in enumerate(["甲", "乙"]):
        rows.nth(i).locator("input[name=member_name]").fill(f"党员{name}")
        rows.nth(i).locator("input[name=member_joined]").fill("2015-07-01")
    page.get_by_role("button", name="保存草稿").click()  # two blank rows only: save, then a third row appears
    page.get_by_role("link", name="修改申请").click()
    rows.nth(2).locator("input[name=member_name]").fill("党员丙")
    rows.nth(2).locator("input[name=member_joined]").fill("2015-07-01")
    page.get_by_label("拟任书记").fill("党员甲")
    page.get_by_label("申请理由").fill("现有正式党员3名。")
    page.get_by_role("button", name="保存并提交").click()
    expect(page.get_by_text("申请已提交")).to_be_visible()
    url = page.url

    log_in(reviewer.username)
    page.goto(url)
    page.locator("summary", has_text="初审通过").click()  # <details> opens without JavaScript
    page.get_by_role("button", name="确认初审通过").click()
    expect(page.get_by_text("已初审通过。")).to_be_visible()
    page.reload()  # the step redirected, so a reload only shows the page again
    expect(page.locator("#application-card .badge").first).to_have_text("待党工委审批")
    expect(page.get_by_text("已初审通过。")).to_have_count(0)

    log_in(zone.username)
    page.goto(url)
    page.locator("summary", has_text="批准成立").click()
    page.get_by_label("选派党建指导员").select_option(index=1)
    page.get_by_role("button", name="确认批准成立").click()
    expect(page.locator("#application-card .badge").first).to_have_text("已批复")
    page.go_back()
    page.reload()
    expect(page.locator("#application-card .badge").first).to_have_text("已批复")
    with app.app_context():
        from models import ApplicationEvent, db

        actions = db.session.scalars(db.select(ApplicationEvent.action).order_by(ApplicationEvent.id)).all()
    assert actions == ["create", "submit", "pass", "approve"]
    context.close()
