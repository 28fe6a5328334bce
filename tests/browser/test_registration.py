"""An organisation's contact registers in the browser, logs in again, and sees its home page in Chinese."""
import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_out
from tests.conftest import valid_credit_code

pytestmark = pytest.mark.browser
CERTIFICATE = {"name": "营业执照.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64}


def test_register_log_out_log_in(page: Page, live_server, shots):
    code = valid_credit_code()
    page.goto(live_server + "/")
    expect(page).to_have_title("首页 - 开发区党组织组建管理系统")
    page.get_by_role("link", name="企业/社会组织注册").click()

    page.get_by_label("组织名称").fill("通辽浏览器测试科技有限公司")
    page.get_by_label("统一社会信用代码").fill(code[:-1] + ("0" if code[-1] != "0" else "1"))  # a wrong check digit
    page.get_by_label("组织类别").select_option(label="非公企业")
    page.get_by_label("联系人", exact=True).fill("巴特尔")
    page.get_by_label("职务").fill("综合部经理")
    page.get_by_label("联系电话").fill("13904751234")
    page.get_by_label("营业执照或登记证书").set_input_files([CERTIFICATE])
    page.get_by_label("正式党员人数").fill("4")
    page.get_by_label("登录用户名").fill("bater")
    page.get_by_label("密码", exact=True).fill("browser-pass-1")
    page.get_by_label("确认密码").fill("browser-pass-1")
    page.get_by_role("button", name="注册").click()
    expect(page.get_by_text("统一社会信用代码校验位不正确")).to_be_visible()
    expect(page.get_by_label("组织名称")).to_have_value("通辽浏览器测试科技有限公司")  # nothing typed is lost

    page.get_by_label("统一社会信用代码").fill(code)
    page.get_by_label("营业执照或登记证书").set_input_files([CERTIFICATE])  # a file is chosen again, as the form says
    page.get_by_label("密码", exact=True).fill("browser-pass-1")
    page.get_by_label("确认密码").fill("browser-pass-1")
    page.get_by_role("button", name="注册").click()
    expect(page.get_by_text("注册成功")).to_be_visible()
    log_out(page)
    expect(page.get_by_text("您已退出登录")).to_be_visible()

    page.get_by_label("用户名").fill("bater")
    page.get_by_label("密码").fill("browser-pass-1")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="通辽浏览器测试科技有限公司")).to_be_visible()
    expect(page.get_by_text("正式党员 4 名")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.screenshot(path=shots / "applicant-home.png", full_page=True)
