"""Finance in Chromium: build a batch, have it approved, download both sheets, record the payment."""
from decimal import Decimal
from io import BytesIO

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from models import DisbursementBatch, User, db
from tests.browser.helpers import log_in

pytestmark = pytest.mark.browser


def test_finance_builds_a_batch_downloads_sheets_and_records_payment(page: Page, app, live_server, make_fund, shots):
    make_fund("checked", name="通辽旅程甲科技有限公司", amount="1234.56")
    make_fund("checked", name="通辽旅程乙物流有限公司")
    with app.app_context():
        finance = db.session.get(User, make_fund.finance_id[0]).username
        zone = db.session.get(User, make_fund.zone_id[0]).username

    log_in(page, live_server, finance)
    expect(page.get_by_role("heading", name="启动经费拨付")).to_be_visible()
    first, second = page.get_by_label("选择通辽旅程甲科技有限公司"), page.get_by_label("选择通辽旅程乙物流有限公司")
    every = page.get_by_label("全选本页")
    first.check()  # one row of two ticked by hand: 全选本页 shows itself half ticked
    assert every.evaluate("box => box.indeterminate") is True
    expect(every).not_to_be_checked()
    second.check()
    assert every.evaluate("box => box.indeterminate") is False
    expect(every).to_be_checked()
    second.uncheck()
    page.get_by_label("全选本页").check()  # static/js/app.js: ticks every row of the page
    expect(first).to_be_checked()
    expect(second).to_be_checked()
    page.get_by_label("全选本页").uncheck()
    expect(first).not_to_be_checked()
    expect(second).not_to_be_checked()
    page.get_by_label("全选本页").check()
    page.get_by_role("button", name="用勾选的经费新建批次").click()
    card = page.locator("#batch-card")
    expect(card).to_contain_text("3,234.56")
    number = card.locator("h1").inner_text().split()[1]
    # The draft's "add" list filters by unit: nothing else of that unit waits (both items are in the batch).
    card.get_by_label("初审单位").select_option(label="新型工业园区党委")
    card.get_by_role("button", name="筛选").click()
    expect(card).to_contain_text("没有符合筛选条件的待拨付经费")
    assert "unit_id=" in page.url  # the filter is in the address, for a reload
    page.screenshot(path=shots / "draft-batch.png", full_page=True)
    page.evaluate("window.__sameDocument = true")
    card.get_by_role("button", name="提交党工委审批").click()
    expect(card.locator("h1 .badge")).to_have_text("待审批")
    assert page.evaluate("window.__sameDocument") is True, "submitting reloaded the page"

    log_in(page, live_server, zone)
    page.get_by_role("link", name="经费核定").click()
    expect(page.get_by_text(number)).to_be_visible()
    expect(page.get_by_text("确认后生成拨付明细表 PDF 并存档", exact=False)).to_be_visible()
    page.screenshot(path=shots / "zone-batch-to-approve.png", full_page=True)
    # 审批同意 first shows every amount, payee and full account number, rendered by the server; the second button
    # approves. Once sent, it says the approval is working and cannot be pressed again. Seen here on a submission
    # stopped after app.js has handled it: a listener added after app.js's.
    page.get_by_role("button", name="审批同意").click()
    confirmation = page.get_by_role("table", name="请逐笔核对金额、收款人和完整账号后确认审批")
    expect(confirmation).to_contain_text("通辽旅程甲科技有限公司")
    expect(confirmation).to_contain_text("1,234.56")
    expect(confirmation).to_contain_text("62220206")  # the full account number (make_fund's), not a masked one
    expect(page.get_by_role("button", name="确认审批同意（合计 3,234.56 元）")).to_be_focused()
    page.screenshot(path=shots / "zone-batch-confirm.png", full_page=True)
    page.evaluate("document.addEventListener('submit', event => event.preventDefault())")
    page.get_by_role("button", name="确认审批同意（合计 3,234.56 元）").click()
    expect(page.get_by_role("button", name="正在审批…")).to_be_disabled()
    page.goto(f"{live_server}/zone/funds")
    page.get_by_role("button", name="审批同意").click()
    page.get_by_role("button", name="确认审批同意（合计 3,234.56 元）").click()
    expect(page.get_by_text(f"已审批同意拨付批次 {number}")).to_be_visible()

    log_in(page, live_server, finance)
    page.get_by_role("link", name=number).click()
    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="下载拨付明细表（XLSX）").click()
    assert xlsx_download.value.suggested_filename == f"拨付明细表-{number}.xlsx"
    with open(xlsx_download.value.path(), "rb") as xlsx:
        ws = load_workbook(BytesIO(xlsx.read())).active  # the saved download has no extension for openpyxl to read
    assert sum(Decimal(str(ws.cell(r, 8).value)) for r in (4, 5)) == Decimal("3234.56")
    assert ws.cell(6, 8).value == "=SUM(H4:H5)"
    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="下载拨付明细表（PDF）").click()
    assert pdf_download.value.suggested_filename.endswith(".pdf")
    with open(pdf_download.value.path(), "rb") as pdf, app.app_context():
        year, _, serial = number.split("-")
        filed = db.session.scalar(sa.select(DisbursementBatch).filter_by(year=int(year), serial=int(serial))).sheet_file
        assert pdf.read() == filed.data  # the sheet filed after the approval (a task), not a new render
    expect(card).to_contain_text("拨付明细表 PDF 已按审批时的内容存档")

    page.evaluate("window.__sameDocument = true")
    card.get_by_label("通辽旅程甲科技有限公司的凭证号").fill("记-2026-0087")
    card.get_by_role("row", name="通辽旅程甲科技有限公司").get_by_role("button", name="登记拨付").click()
    expect(card).to_contain_text("已登记通辽旅程甲科技有限公司的拨付")
    expect(card.locator("h1 .badge")).to_have_text("已审批")
    whole = card.get_by_role("region", name="整批登记拨付")
    whole.get_by_label("凭证号").fill("记-2026-0088")
    whole.get_by_role("button", name="整批登记拨付").click()
    expect(card.locator("h1 .badge")).to_have_text("已拨付")
    expect(card).to_contain_text("已整批登记拨付")
    expect(card).to_contain_text("凭证号 记-2026-0087")
    expect(card).to_contain_text("凭证号 记-2026-0088")
    assert page.evaluate("window.__sameDocument") is True, "recording the payment reloaded the page"
    page.screenshot(path=shots / "batch-paid.png", full_page=True)


def test_finance_sends_a_payee_back_and_checks_the_correction(page: Page, app, live_server, make_fund, shots):
    """Finance reads the payee, sends it back with a reason; the applicant reads the reason and corrects it; finance
    checks the correction by typing the account number a second time."""
    from domain import funds
    from models import FundItem

    made = make_fund("approved", name="通辽退回更正有限公司")
    with app.app_context():
        item = db.session.get(FundItem, made.id)
        contact = db.session.scalar(sa.select(User).where(User.organisation_id == item.organisation_id))
        contact.username = "payee-contact"
        funds.set_payee(item, funds.Payee("通辽退回更正有限公", "中国银行通辽分行", "6222020612345678"), actor=contact)
        db.session.commit()
        finance = db.session.get(User, make_fund.finance_id[0]).username
    log_in(page, live_server, finance)
    page.get_by_role("link", name="核验或退回通辽退回更正有限公司的收款账户").click()
    page.get_by_label("退回理由").fill("开户名少一个“司”字，请按开户许可证填写")
    page.get_by_role("button", name="退回单位更正").click()
    expect(page.get_by_text("已将通辽退回更正有限公司的收款账户退回单位更正")).to_be_visible()
    expect(page.get_by_label("选择通辽退回更正有限公司")).to_have_count(0)

    log_in(page, live_server, "payee-contact")
    expect(page.get_by_text("开户名少一个“司”字，请按开户许可证填写")).to_be_visible()
    page.get_by_label("开户名").fill("通辽退回更正有限公司")
    page.get_by_role("button", name="保存更正后的收款账户").click()
    expect(page.get_by_text("已更正待复核").first).to_be_visible()
    page.screenshot(path=shots / "payee-corrected.png", full_page=True)

    log_in(page, live_server, finance)
    page.get_by_role("link", name="核验或退回通辽退回更正有限公司的收款账户").click()
    page.get_by_label("财务二次录入账号").check()
    page.get_by_label("开户名与凭据一致").check()
    page.get_by_label("开户行与凭据一致").check()
    page.get_by_label("再次录入账号").fill("6222 0206 1234 5678")
    page.screenshot(path=shots / "payee-check.png", full_page=True)
    page.get_by_role("button", name="核验通过").click()
    expect(page.get_by_text("已核验通辽退回更正有限公司的收款账户")).to_be_visible()
    expect(page.get_by_label("选择通辽退回更正有限公司")).to_be_visible()
