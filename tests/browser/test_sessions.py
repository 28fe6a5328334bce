"""An official's logins on two computers: a new password typed on one signs the other out."""
import pytest
from playwright.sync_api import Browser, Page, expect

from models import Role
from tests.browser.helpers import log_in, open_account_menu
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_a_new_password_signs_out_the_other_computer(page: Page, browser: Browser, live_server, make_user, shots):
    official = make_user(Role.ZONE_APPROVER, username="two-desks")
    other = browser.new_context().new_page()  # the meeting-room computer, still logged in from the morning
    log_in(other, live_server, official.username)
    log_in(page, live_server, official.username)

    open_account_menu(page)
    page.get_by_role("link", name="修改密码").click()
    page.get_by_label("当前密码").fill(PASSWORD)
    page.get_by_label("新密码", exact=True).fill("moved-desk-8")
    page.get_by_label("确认新密码").fill("moved-desk-8")
    page.get_by_role("button", name="修改密码").click()
    expect(page.locator("#flash-area")).to_contain_text("其他浏览器或设备上的登录已退出")
    page.screenshot(path=shots / "password-changed.png")
    open_account_menu(page)
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()  # this computer stays logged in

    other.get_by_role("link", name="待办").click()
    expect(other.get_by_role("heading", name="登录")).to_be_visible()
    log_in(other, live_server, official.username, "moved-desk-8")
    expect(other.get_by_role("heading", name="申请待办")).to_be_visible()
    other.context.close()
