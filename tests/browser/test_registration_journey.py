"""A self-registration in Chromium: the contact registers with the business licence, the unit's reviewer verifies it
beside the certificate, and only then does the organisation appear in the dashboard's figures."""
import io

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from models import Role
from tests.browser.helpers import log_in
from tests.conftest import valid_credit_code

pytestmark = pytest.mark.browser


def _licence_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (240, 160), (250, 250, 250)).save(out, "PNG")
    return out.getvalue()


def _industrial_park_row(page: Page):
    return page.locator("table").first.locator("tr", has=page.get_by_role("rowheader", name="新型工业园区党委"))


def test_registration_verified_by_the_unit_reaches_the_dashboard(page: Page, live_server, make_user, shots):
    reviewer = make_user(Role.UNIT_REVIEWER, unit_code="industrial_park", username="journey-verifier")

    page.goto(live_server + "/auth/register")
    page.get_by_label("组织名称").fill("通辽核实旅程科技有限公司")
    page.get_by_label("统一社会信用代码").fill(valid_credit_code())
    page.get_by_label("所属初审单位").select_option(label="新型工业园区党委")
    page.get_by_label("正式党员人数").fill("4")
    page.get_by_label("营业执照或登记证书").set_input_files(
        [{"name": "营业执照.png", "mimeType": "image/png", "buffer": _licence_png()}])
    page.get_by_label("联系人", exact=True).fill("周丽娜")
    page.get_by_label("职务").fill("行政主管")
    page.get_by_label("联系电话").fill("13847501234")
    page.get_by_label("登录用户名").fill("journey-new")
    page.get_by_label("密码", exact=True).fill("goodpass1")
    page.get_by_label("确认密码").fill("goodpass1")
    page.get_by_role("button", name="注册").click()
    expect(page.get_by_text("正在等待新型工业园区党委核实")).to_be_visible()
    page.screenshot(path=shots / "01-registered.png", full_page=True)

    log_in(page, live_server, reviewer.username)
    page.goto(live_server + "/registry/")
    expect(_industrial_park_row(page).locator("td").first).to_have_text("0")  # not counted while it waits
    link = page.get_by_role("link", name="注册核实")
    expect(link).to_contain_text("1")  # the navigation's counter
    link.click()
    card = page.locator("section.card", has_text="通辽核实旅程科技有限公司")
    expect(card.get_by_text("周丽娜（行政主管）")).to_be_visible()
    expect(card.get_by_role("img", name="通辽核实旅程科技有限公司的营业执照或登记证书")).to_be_visible()
    page.screenshot(path=shots / "02-queue.png", full_page=True)
    card.get_by_role("button", name="核实通过").click()
    expect(page.get_by_text("已核实通过：通辽核实旅程科技有限公司。")).to_be_visible()
    expect(page.get_by_text("目前没有待核实的注册")).to_be_visible()

    page.goto(live_server + "/registry/")
    row = _industrial_park_row(page)
    expect(row.locator("td").first).to_have_text("1")
    expect(row.locator("td").nth(5)).to_have_text("1")  # 应建未建: 4 formal members, no Party organisation yet
    page.screenshot(path=shots / "03-dashboard.png", full_page=True)
