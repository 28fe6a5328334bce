"""The fund pages per role: who may open and post what, and what each page says back."""
import re
from decimal import Decimal
from io import BytesIO

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from domain import funds
from models import (
    BatchState, DisbursementBatch, FundItem, FundPayment, FundStandard, FundState, Role, Unit, User, db,
)
from tests.conftest import zone_today


@pytest.fixture
def batch(app, make_fund):
    """A draft batch of two checked items (one more approved item waits outside)."""
    items = [make_fund("checked", amount="1234.56"), make_fund("checked")]
    make_fund("approved", name="等待编入批次有限公司")
    with app.app_context():
        made = funds.create_batch([db.session.get(FundItem, i.id) for i in items],
                                  actor=db.session.get(User, make_fund.finance_id[0]))
        db.session.commit()
        return made.id


def _move(app, batch_id, *steps):
    with app.app_context():
        b = db.session.get(DisbursementBatch, batch_id)
        finance = db.session.scalar(sa.select(User).where(User.role == Role.FINANCE).limit(1))
        zone = db.session.scalar(sa.select(User).where(User.role == Role.ZONE_APPROVER).limit(1))
        if "submit" in steps:
            funds.submit_batch(b, actor=finance, version=b.version)
        if "approve" in steps:
            funds.approve_batch(b, actor=zone, version=b.version)
        db.session.commit()
        return b.version


GETS = {
    "/finance/": Role.FINANCE, "/finance/overview": Role.FINANCE, "/finance/overview.csv": Role.FINANCE,
    "/finance/batches/{batch}": Role.FINANCE, "/finance/batches/{batch}/sheet.xlsx": Role.FINANCE,
    "/finance/items/{item}/payee": Role.FINANCE,
    "/zone/funds": Role.ZONE_APPROVER, "/admin/fund-standards": Role.ADMIN,
}
POSTS = {
    "/finance/batches": Role.FINANCE, "/finance/batches/{batch}/submit": Role.FINANCE,
    "/finance/batches/{batch}/payment": Role.FINANCE, "/finance/items/{item}/check-payee": Role.FINANCE,
    "/finance/items/{item}/return-payee": Role.FINANCE,
    "/zone/funds/{item}/confirm": Role.ZONE_APPROVER, "/zone/batches/{batch}/approve": Role.ZONE_APPROVER,
    "/applicant/fund/payee": Role.APPLICANT, "/admin/fund-standards": Role.ADMIN,
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("url, owner", list(GETS.items()))
def test_pages_answer_their_role_only(client, app, login_as, batch, role, url, owner):
    login_as(role)
    with app.app_context():
        item = db.session.scalar(sa.select(FundItem.id).limit(1))
    response = client.get(url.format(batch=batch, item=item))
    assert response.status_code == (200 if role is owner else 403)


@pytest.mark.parametrize("url, role", [(url, role) for url, owner in POSTS.items() for role in Role if role is not owner])
def test_posts_refuse_other_roles(client, app, login_as, batch, url, role):
    """The owner's answers are tested one by one below."""
    login_as(role)
    with app.app_context():
        item = db.session.scalar(sa.select(FundItem.id).limit(1))
        before = db.session.scalar(sa.select(DisbursementBatch.version).where(DisbursementBatch.id == batch))
    response = client.post(url.format(batch=batch, item=item), data={"version": before})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(DisbursementBatch, batch).version == before


@pytest.mark.parametrize("url", ["/finance/batches/999", "/finance/batches/999/sheet.pdf",
                                 "/finance/batches/999/sheet.xlsx"])
def test_unknown_batches_are_a_chinese_404(client, login_as, url):
    login_as(Role.FINANCE)
    response = client.get(url)
    assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True)


def test_anonymous_is_sent_to_log_in(client, batch):
    response = client.get(f"/finance/batches/{batch}/sheet.pdf")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")


def test_finance_builds_a_batch_from_the_filtered_list(client, app, login_as, make_fund):
    park = make_fund("checked", name="园区甲有限公司")
    east = make_fund("checked", unit_code="street_east", name="东城乙有限公司")
    login_as(Role.FINANCE)
    with app.app_context():
        east_unit = db.session.get(FundItem, east.id).organisation.unit_id
    page = client.get(f"/finance/?unit_id={east_unit}").get_data(as_text=True)
    assert "东城乙有限公司" in page and "园区甲有限公司" not in page
    refused = client.post("/finance/batches", data={}, follow_redirects=True)
    assert "请至少勾选一笔已核定的经费" in refused.get_data(as_text=True)
    response = client.post("/finance/batches", data={"item_ids": [park.id, east.id], "note": "第一批"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"{zone_today().year}-BF-001" in page and "园区甲有限公司" in page and "东城乙有限公司" in page


def test_finance_pages_the_items_to_gather_and_keeps_the_filter(client, app, login_as, make_fund, monkeypatch):
    monkeypatch.setattr(funds.queries, "FUNDABLE_PAGE_SIZE", 2)
    made = [make_fund("approved", name=f"待编批次{n}有限公司") for n in range(3)]
    make_fund("approved", unit_code="street_east", name="东城另一家有限公司")
    with app.app_context():
        unit = db.session.get(FundItem, made[0].id).organisation.unit_id
    login_as(Role.FINANCE)
    first = client.get(f"/finance/?unit_id={unit}&date_from=2000-01-01").get_data(as_text=True)
    assert "待编批次0有限公司" in first and "待编批次1有限公司" in first and "待编批次2有限公司" not in first
    assert "东城另一家有限公司" not in first and "共 3 条" in first
    assert f'href="/finance/?unit_id={unit}&amp;date_from=2000-01-01&amp;page=2"' in first  # filters set only
    assert 'data-check-all' in first and 'aria-label="全选本页"' in first
    second = client.get(f"/finance/?unit_id={unit}&date_from=2000-01-01&page=2").get_data(as_text=True)
    assert "待编批次2有限公司" in second and "待编批次0有限公司" not in second
    # A draft batch offers the oldest items to add, a page of them, and says how many more wait.
    response = client.post("/finance/batches", data={"item_ids": [made[0].id]})
    card = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="add-' + str(made[1].id) + '"' in card and 'id="add-' + str(made[2].id) + '"' in card
    assert "显示最早的 2 笔，共 3 笔" in card


def test_finance_pages_the_batches_apart_from_the_items(client, app, login_as, make_fund, monkeypatch):
    """Newest first, each batch with its own count and total; each list's pager keeps the other's page."""
    monkeypatch.setattr(funds.queries, "BATCH_PAGE_SIZE", 2)
    monkeypatch.setattr(funds.queries, "FUNDABLE_PAGE_SIZE", 1)
    made = [[make_fund("checked", amount=f"{n + 1}000.00") for _ in range(n + 1)] for n in range(3)]
    make_fund("approved")
    make_fund("approved")
    with app.app_context():
        finance = db.session.get(User, make_fund.finance_id[0])
        numbers = [funds.create_batch([db.session.get(FundItem, i.id) for i in items], actor=finance).number
                   for items in made]
        db.session.commit()
    login_as(Role.FINANCE)
    first = client.get("/finance/?page=2").get_data(as_text=True)
    assert numbers[2] in first and numbers[1] in first and numbers[0] not in first and "共 3 条" in first
    assert re.search(r">3</td>\s*<td[^>]*>9,000\.00<", first) and re.search(r">2</td>\s*<td[^>]*>4,000\.00<", first)
    assert 'href="/finance/?page=2&amp;batches_page=2"' in first  # the batches' next page, on the items' page
    second = client.get("/finance/?page=2&batches_page=2").get_data(as_text=True)
    assert numbers[0] in second and numbers[1] not in second and re.search(r">1</td>\s*<td[^>]*>1,000\.00<", second)
    assert 'href="/finance/?batches_page=2&amp;page=1"' in second  # the items' pager keeps the batches' page


def test_checking_a_payee_comes_back_to_the_page_and_filter_shown(client, app, login_as, make_fund, monkeypatch):
    monkeypatch.setattr(funds.queries, "FUNDABLE_PAGE_SIZE", 1)
    make_fund("approved")
    item = make_fund("approved")  # the newer: on page 2
    with app.app_context():
        fund = db.session.get(FundItem, item.id)
        contact = db.session.scalar(sa.select(User).where(User.organisation_id == fund.organisation_id))
        funds.set_payee(fund, funds.Payee("核验回页有限公司", "中国银行通辽分行", "6222020612345678"), actor=contact)
        db.session.commit()
        unit, version = fund.organisation.unit_id, fund.version
    login_as(Role.FINANCE)
    page = client.get(f"/finance/?unit_id={unit}&page=2").get_data(as_text=True)
    link = re.search(r'href="(/finance/items/%d/payee\?[^"]*)"' % item.id, page).group(1).replace("&amp;", "&")
    form = client.get(link).get_data(as_text=True)
    assert "核验收款账户：" in form and "核验回页有限公司" in form and "6222020612345678" in form and "单位未上传" in form
    action = re.search(r'action="(/finance/items/%d/check-payee\?[^"]*)"' % item.id, form).group(1)
    # Whatever else the query holds is not passed on (url_for would read "_external" or "endpoint" as its own).
    checked = client.post(action.replace("&amp;", "&") + "&endpoint=x&_external=1", data={
        "version": version, "method": "retyped", "confirmed": ["account_name", "bank_name"],
        "retyped_account": "6222 0206 1234 5678"})
    assert checked.status_code == 302
    back = checked.headers["Location"]
    assert back.startswith("/finance/?") and f"unit_id={unit}" in back and "page=2" in back
    assert "已核验" in client.get(back).get_data(as_text=True)


def _payee_entered(app, make_fund, document: bool = False):
    item = make_fund("approved", name="退回测试有限公司")
    with app.app_context():
        fund = db.session.get(FundItem, item.id)
        contact = db.session.scalar(sa.select(User).where(User.organisation_id == fund.organisation_id))
        funds.set_payee(fund, funds.Payee("退回测试有限公司", "中国银行通辽分行", "6222020612345678"), actor=contact,
                        document=("开户许可证.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 8) if document else None)
        db.session.commit()
        return fund.id, fund.version, fund.organisation


def test_finance_refusals_land_by_their_fields_and_keep_what_was_ticked(client, app, login_as, make_fund):
    item_id, version, _ = _payee_entered(app, make_fund)
    login_as(Role.FINANCE)
    wrong = client.post(f"/finance/items/{item_id}/check-payee", data={
        "version": version, "method": "retyped", "confirmed": ["account_name", "bank_name"],
        "retyped_account": "6222020612345670"})
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "两次录入的账号不一致" in html and 'value="6222020612345670"' in html
    assert 'id="confirmed-bank_name" checked' in html and 'id="method-retyped" checked' in html
    unticked = client.post(f"/finance/items/{item_id}/check-payee", data={"version": version, "method": "document"})
    html = unticked.get_data(as_text=True)
    assert unticked.status_code == 422 and "单位未上传开户许可证或银行回单" in html
    # With the document uploaded by finance, ticks missing are named.
    png = (BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 8), "回单.png")
    partly = client.post(f"/finance/items/{item_id}/check-payee", data={
        "version": version, "method": "document", "confirmed": ["account_name"], "bank_document": png},
        content_type="multipart/form-data")
    assert partly.status_code == 422 and "开户行、账号未勾选" in partly.get_data(as_text=True)
    png = (BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 8), "回单.png")
    done = client.post(f"/finance/items/{item_id}/check-payee", data={
        "version": version, "method": "document", "confirmed": list(funds.PAYEE_FIELDS), "bank_document": png},
        content_type="multipart/form-data", follow_redirects=True)
    assert "已核验退回测试有限公司的收款账户" in done.get_data(as_text=True)
    page = client.get(f"/finance/items/{item_id}/payee").get_data(as_text=True)
    assert "方式：对照开户许可证或银行回单" in page and "回单.png" in page
    document = client.get(f"/finance/items/{item_id}/bank-document")
    assert document.status_code == 200 and document.mimetype == "image/png"


def test_finance_sends_a_payee_back_and_the_applicant_corrects_it(client, app, login_as, make_fund):
    item_id, version, org = _payee_entered(app, make_fund, document=True)
    login_as(Role.FINANCE)
    empty = client.post(f"/finance/items/{item_id}/return-payee", data={"version": version, "reason": ""})
    assert empty.status_code == 422 and "请写明退回理由" in empty.get_data(as_text=True)
    sent = client.post(f"/finance/items/{item_id}/return-payee",
                       data={"version": version, "reason": "开户名与开户许可证不一致"}, follow_redirects=True)
    home = sent.get_data(as_text=True)
    assert "已将退回测试有限公司的收款账户退回单位更正" in home and "已退回" in home
    assert f'value="{item_id}" id="pick-{item_id}"' not in home  # no box to tick into a batch
    refused = client.post("/finance/batches", data={"item_ids": [item_id]}, follow_redirects=True)
    assert "须财务重新核验后才能加入批次" in refused.get_data(as_text=True)
    client.post("/auth/logout")

    login_as(Role.APPLICANT, organisation=org)
    card = client.get("/applicant/").get_data(as_text=True)
    assert "退回了收款账户，请更正" in card and "开户名与开户许可证不一致" in card and "已退回待更正" in card
    assert client.get("/applicant/fund/bank-document").status_code == 200
    fixed = client.post("/applicant/fund/payee", data={"account_name": "退回测试有限公司（更正）",
                                                       "bank_name": "中国银行通辽分行",
                                                       "account_number": "6222020612345678"}, follow_redirects=True)
    card = fixed.get_data(as_text=True)
    assert "收款账户已保存" in card and "已更正待复核" in card
    client.post("/auth/logout")

    login_as(Role.FINANCE)
    with app.app_context():
        version = db.session.get(FundItem, item_id).version
    page = client.get(f"/finance/items/{item_id}/payee").get_data(as_text=True)
    assert "单位已更正，请复核" in page and "退回测试有限公司（更正）" in page
    client.post(f"/finance/items/{item_id}/check-payee", data={
        "version": version, "method": "document", "confirmed": list(funds.PAYEE_FIELDS)})
    with app.app_context():
        fund = db.session.get(FundItem, item_id)
        assert fund.payee_checked and not fund.payee_returned
    assert client.post("/finance/batches", data={"item_ids": [item_id]}).status_code == 302


def test_a_payee_sent_back_from_a_draft_batch_leaves_it(client, app, login_as, batch):
    with app.app_context():
        item = db.session.get(DisbursementBatch, batch).items[0]
        item_id, version = item.id, item.version
    login_as(Role.FINANCE)
    card = client.get(f"/finance/batches/{batch}").get_data(as_text=True)
    assert f'href="/finance/items/{item_id}/payee"' in card
    sent = client.post(f"/finance/items/{item_id}/return-payee", data={"version": version, "reason": "账号少一位"})
    assert sent.status_code == 302 and sent.headers["Location"] == f"/finance/batches/{batch}"
    page = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "该笔经费已移出草稿批次" in page and "共 1 笔" in page


def test_draft_batch_actions_swap_the_card_with_htmx(client, app, login_as, batch, make_fund):
    login_as(Role.FINANCE)
    with app.app_context():
        b = db.session.get(DisbursementBatch, batch)
        first, version = b.items[0].id, b.version
        waiting = db.session.scalar(sa.select(FundItem.id).where(FundItem.batch_id.is_(None)))
    hx = {"HX-Request": "true"}
    removed = client.post(f"/finance/batches/{batch}/items/{first}/remove", data={"version": version}, headers=hx)
    html = removed.get_data(as_text=True)
    assert removed.status_code == 200 and html.lstrip().startswith('<article id="batch-card"') and "已将" in html
    stale = client.post(f"/finance/batches/{batch}/items/{first}/remove", data={"version": version}, headers=hx)
    assert stale.status_code == 409 and "本次操作未执行" in stale.get_data(as_text=True)
    added = client.post(f"/finance/batches/{batch}/items", data={"version": version + 1, "item_ids": [waiting]},
                        headers=hx)
    assert added.status_code == 200 and "等待编入批次有限公司" in added.get_data(as_text=True)
    refused = client.post(f"/finance/batches/{batch}/submit", data={"version": version + 2}, headers=hx)
    assert refused.status_code == 422 and "收款账户尚未核验" in refused.get_data(as_text=True)


def test_a_draft_batch_filters_what_it_may_add_and_comes_back_filtered(client, app, login_as, batch, make_fund):
    east = make_fund("approved", unit_code="street_east", name="东城待加入有限公司")
    login_as(Role.FINANCE)
    with app.app_context():
        unit = db.session.scalar(sa.select(Unit.id).filter_by(code="street_east"))
        version = db.session.get(DisbursementBatch, batch).version
    page = client.get(f"/finance/batches/{batch}").get_data(as_text=True)
    assert "东城待加入有限公司" in page and "等待编入批次有限公司" in page
    page = client.get(f"/finance/batches/{batch}?unit_id={unit}&date_from=bad").get_data(as_text=True)
    assert "东城待加入有限公司" in page and "等待编入批次有限公司" not in page
    assert f'<option value="{unit}" selected>' in page
    # Added from the filtered list: back to it, without htmx (the redirect) and with it (the card).
    added = client.post(f"/finance/batches/{batch}/items?unit_id={unit}", data={"version": version,
                                                                              "item_ids": [east.id]})
    assert added.status_code == 302 and f"unit_id={unit}" in added.headers["Location"]
    card = client.get(added.headers["Location"], headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "已加入批次" in card and "没有符合筛选条件的待拨付经费" in card and "等待编入批次有限公司" not in card
    with app.app_context():
        b = db.session.get(DisbursementBatch, batch)
        assert east.id in {i.id for i in b.items}
        first, version = b.items[0].id, b.version
    removed = client.post(f"/finance/batches/{batch}/items/{first}/remove?unit_id={unit}",
                          data={"version": version}, headers={"HX-Request": "true"})
    assert removed.status_code == 200 and f'<option value="{unit}" selected>' in removed.get_data(as_text=True)


def test_a_long_batch_pages_its_items_and_an_action_keeps_the_page(client, app, login_as, make_fund, monkeypatch):
    monkeypatch.setattr(funds.queries, "BATCH_PAGE_SIZE", 2)
    made = [make_fund("checked", name=f"分页测试{n}有限公司", amount=f"{1000 + n}") for n in range(3)]
    with app.app_context():
        batch = funds.create_batch([db.session.get(FundItem, m.id) for m in made],
                                   actor=db.session.get(User, make_fund.finance_id[0]))
        db.session.commit()
        batch_id, version = batch.id, batch.version
    login_as(Role.FINANCE)
    first = client.get(f"/finance/batches/{batch_id}").get_data(as_text=True)
    # The figures are the whole batch's; the rows are the page's.
    assert "共 3 笔" in first and "3,003.00" in first
    assert "分页测试0有限公司" in first and "分页测试2有限公司" not in first and "?page=2" in first
    second = client.get(f"/finance/batches/{batch_id}?page=2").get_data(as_text=True)
    assert "分页测试2有限公司" in second and "分页测试0有限公司" not in second and "<td>3</td>" in second
    # Taking an item out from page 2 answers with page 2 again (its URL carries the page).
    removed = client.post(f"/finance/batches/{batch_id}/items/{made[2].id}/remove?page=2", data={"version": version},
                          headers={"HX-Request": "true"})
    # That was page 2's only row: the card shows the page that now is the last.
    card = removed.get_data(as_text=True)
    assert removed.status_code == 200 and "共 2 笔" in card and "分页测试1有限公司" in card


def test_payment_twice_changes_nothing_and_says_so(client, app, login_as, batch):
    version = _move(app, batch, "submit", "approve")
    login_as(Role.FINANCE)
    bad = client.post(f"/finance/batches/{batch}/payment", data={"version": version, "voucher_number": "记-77",
                                                                   "paid_on": "2999-01-01"})
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "拨付日期不能晚于今天" in page and 'value="记-77"' in page  # nothing lost
    empty = client.post(f"/finance/batches/{batch}/payment", data={"version": version, "voucher_number": ""},
                        headers={"HX-Request": "true"}).get_data(as_text=True)
    # The form's own "required" is shown once, and a date left empty stays empty beside "请选择拨付日期".
    assert empty.count("此项为必填项") == 1 and 'id="batch-paid-on" name="paid_on" required' in empty
    assert re.search(r'id="batch-paid-on"[^>]*value=""', empty)
    data = {"version": version, "voucher_number": "记-78", "paid_on": zone_today().isoformat()}
    assert client.post(f"/finance/batches/{batch}/payment", data=data).status_code == 302
    again = client.post(f"/finance/batches/{batch}/payment", data=data)
    assert again.status_code == 409 and "本次未重复登记" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(FundPayment.id))) == 2
        assert db.session.get(DisbursementBatch, batch).state is BatchState.PAID


def test_reversal_through_the_page_keeps_the_payment(client, app, login_as, batch):
    version = _move(app, batch, "submit", "approve")
    login_as(Role.FINANCE)
    client.post(f"/finance/batches/{batch}/payment", data={"version": version, "voucher_number": "记-80",
                                                           "paid_on": zone_today().isoformat()})
    with app.app_context():
        payment = db.session.scalar(sa.select(FundPayment).limit(1))
        payment_id, item_version = payment.id, payment.item.version
    empty = client.post(f"/finance/payments/{payment_id}/reverse", data={"version": item_version, "reason": ""})
    assert empty.status_code == 422 and "冲销须填写理由" in empty.get_data(as_text=True)
    done = client.post(f"/finance/payments/{payment_id}/reverse", data={"version": item_version, "reason": "退票"},
                       follow_redirects=True)
    assert "已冲销该笔拨付" in done.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(FundPayment.id))) == 3


def test_sheet_downloads(client, app, login_as, batch):
    login_as(Role.FINANCE)
    xlsx = client.get(f"/finance/batches/{batch}/sheet.xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(BytesIO(xlsx.data)).active
    assert Decimal(str(ws["H4"].value)) == Decimal("1234.56") and ws["H6"].value == "=SUM(H4:H5)"
    pdf = client.get(f"/finance/batches/{batch}/sheet.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert ".pdf" in pdf.headers["Content-Disposition"]


def test_a_sheet_whose_render_dies_says_so_in_chinese(client, login_as, batch, monkeypatch):
    """The sheet renders in a child process (domain/pdf.py): if the child dies, finance reads why, not a stack
    trace or a generic 500, and the next download works again."""
    import os

    from domain import pdf

    login_as(Role.FINANCE)
    monkeypatch.setattr(pdf, "HTML", lambda string, **_: os._exit(9))
    failed = client.get(f"/finance/batches/{batch}/sheet.pdf")
    assert failed.status_code == 503 and "生成 PDF 的进程意外退出，请稍后重试。" in failed.get_data(as_text=True)
    monkeypatch.undo()
    assert client.get(f"/finance/batches/{batch}/sheet.pdf").data.startswith(b"%PDF")


def test_overview_and_its_csv(client, app, login_as, batch):
    login_as(Role.FINANCE)
    page = client.get("/finance/overview").get_data(as_text=True)
    assert "新型工业园区党委" in page and "5,234.56" in page  # 1234.56 + 2000 + 2000 approved
    csv = client.get("/finance/overview.csv")
    text = csv.data.decode("utf-8-sig")
    assert csv.mimetype == "text/csv" and text.splitlines()[0] == "初审单位,年度,笔数,已核定金额,在批次中未拨付,已拨付金额"
    assert f"新型工业园区党委,{zone_today().year},3,5234.56,3234.56,0.00" in text


def test_zone_confirms_with_htmx_and_sees_refusals_by_the_field(client, app, login_as, make_fund):
    item = make_fund("pending")
    login_as(Role.ZONE_APPROVER)
    page = client.get("/zone/funds").get_data(as_text=True)
    assert "待核定的启动经费" in page and f'action="/zone/funds/{item.id}/confirm?page=1"' in page
    hx = {"HX-Request": "true"}
    refused = client.post(f"/zone/funds/{item.id}/confirm", data={"version": item.version, "amount": "2600"},
                          headers=hx)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "须填写理由" in html and 'value="2600"' in html
    assert html.lstrip().startswith(f'<tr id="fund-{item.id}"')
    out_of_range = client.post(f"/zone/funds/{item.id}/confirm", data={"version": item.version, "amount": "5000",
                                                                        "reason": "x"})
    assert out_of_range.status_code == 422 and "1000 元至 3000 元" in out_of_range.get_data(as_text=True)
    done = client.post(f"/zone/funds/{item.id}/confirm", data={"version": item.version, "amount": "2600",
                                                               "reason": "场地较大", "confirmed": "1"}, headers=hx)
    assert done.status_code == 200 and "已核定" in done.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(FundItem, item.id).amount == Decimal("2600")


def test_zone_funds_page_keeps_its_page_through_a_confirmation(client, app, login_as, make_fund):
    item = make_fund("pending")
    login_as(Role.ZONE_APPROVER)
    # A page past the last (say, a bookmark from when more were waiting) shows the last, with its form.
    assert f'action="/zone/funds/{item.id}/confirm?page=1"' in client.get("/zone/funds?page=7").get_data(as_text=True)
    # With htmx, the row that comes back (here refused: a changed amount needs a reason) posts to the same page.
    refused = client.post(f"/zone/funds/{item.id}/confirm?page=3", data={"version": item.version, "amount": "2600"},
                          headers={"HX-Request": "true"})
    assert refused.status_code == 422 and f'hx-post="/zone/funds/{item.id}/confirm?page=3"' in refused.get_data(
        as_text=True)
    done = client.post(f"/zone/funds/{item.id}/confirm?page=3", data={"version": item.version, "confirmed": "1"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/zone/funds?page=3")
    assert "没有待核定的启动经费" in client.get(done.headers["Location"]).get_data(as_text=True)


def test_zone_approves_a_submitted_batch(client, app, login_as, batch):
    version = _move(app, batch, "submit")
    login_as(Role.ZONE_APPROVER)
    assert "待审批的拨付批次" in client.get("/zone/funds").get_data(as_text=True)
    page = client.post(f"/zone/batches/{batch}/approve", data={"version": version, "confirmed": "1"},
                       follow_redirects=True)
    assert "已审批同意拨付批次" in page.get_data(as_text=True)
    again = client.post(f"/zone/batches/{batch}/approve", data={"version": version, "confirmed": "1"},
                        follow_redirects=True)
    assert "本次操作未执行" in again.get_data(as_text=True)
    # The approval filed the sheet: finance downloads that file, not a new render.
    with app.app_context():
        filed = db.session.get(DisbursementBatch, batch).sheet_file.data
    client.post("/auth/logout")
    login_as(Role.FINANCE)
    response = client.get(f"/finance/batches/{batch}/sheet.pdf")
    assert response.status_code == 200, response.get_data(as_text=True)[-800:]
    assert response.data == filed


def test_an_approval_whose_sheet_fails_to_render_stands_and_finance_reads_why(client, app, login_as, batch,
                                                                            monkeypatch):
    import os

    from domain import pdf

    version = _move(app, batch, "submit")
    login_as(Role.ZONE_APPROVER)
    monkeypatch.setattr(pdf, "HTML", lambda string, **_: os._exit(9))  # the child rendering the sheet dies
    page = client.post(f"/zone/batches/{batch}/approve", data={"version": version, "confirmed": "1"},
                       follow_redirects=True)
    assert page.status_code == 200 and "已审批同意拨付批次" in page.get_data(as_text=True)
    monkeypatch.undo()
    client.post("/auth/logout")
    login_as(Role.FINANCE)
    card = client.get(f"/finance/batches/{batch}").get_data(as_text=True)
    assert "拨付明细表（PDF）未能生成：生成 PDF 的进程意外退出" in card and f"/finance/batches/{batch}/sheet.pdf" not in card
    assert "PDF 未能生成" in client.get("/finance/").get_data(as_text=True)
    answer = client.get(f"/finance/batches/{batch}/sheet.pdf", follow_redirects=True)
    assert answer.mimetype == "text/html" and "拨付明细表（PDF）未能生成" in answer.get_data(as_text=True)
    assert client.get(f"/finance/batches/{batch}/sheet.xlsx").status_code == 200


def test_while_the_sheet_is_being_prepared_the_page_says_so_and_offers_no_link(client, app, login_as, batch,
                                                                             monkeypatch):
    from domain import sheets

    version = _move(app, batch, "submit")
    login_as(Role.ZONE_APPROVER)
    monkeypatch.setattr(sheets, "file_batch_sheet", lambda batch_id: None)  # no consumer has taken it yet
    client.post(f"/zone/batches/{batch}/approve", data={"version": version, "confirmed": "1"})
    client.post("/auth/logout")
    login_as(Role.FINANCE)
    card = client.get(f"/finance/batches/{batch}").get_data(as_text=True)
    assert sheets.SHEET_BEING_PREPARED in card and f"/finance/batches/{batch}/sheet.pdf" not in card
    assert "PDF 生成中" in client.get("/finance/").get_data(as_text=True)
    early = client.get(f"/finance/batches/{batch}/sheet.pdf")
    assert early.status_code == 302 and early.headers["Location"].endswith(f"/finance/batches/{batch}")
    assert sheets.SHEET_BEING_PREPARED in client.get(early.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert sheets.file_approved_sheet(batch)
    card = client.get(f"/finance/batches/{batch}").get_data(as_text=True)
    assert sheets.SHEET_BEING_PREPARED not in card and f"/finance/batches/{batch}/sheet.pdf" in card
    assert client.get(f"/finance/batches/{batch}/sheet.pdf").data.startswith(b"%PDF")

def test_applicant_enters_the_payee_and_bad_input_is_kept(client, app, login_as, make_fund):
    item = make_fund("approved")
    with app.app_context():
        org = db.session.get(FundItem, item.id).organisation
    login_as(Role.APPLICANT, organisation=org)
    assert "启动经费" in client.get("/applicant/").get_data(as_text=True)
    bad = client.post("/applicant/fund/payee", data={"account_name": "某公司", "bank_name": "工行开发区支行",
                                                     "account_number": "6222 02"})
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "账号应为8至30位数字" in page and 'value="工行开发区支行"' in page
    ok = client.post("/applicant/fund/payee", data={"account_name": "某公司", "bank_name": "工行开发区支行",
                                                    "account_number": "6222 0206 1234 5678"}, follow_redirects=True)
    assert "收款账户已保存" in ok.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(FundItem, item.id).account_number == "6222020612345678"


def _card_fund(app, login_as, make_fund):
    item = make_fund("approved")
    with app.app_context():
        fund = db.session.get(FundItem, item.id)
        org, application_id = fund.organisation, fund.application_id
    login_as(Role.APPLICANT, organisation=org)
    return item.id, application_id


WRONG = {"account_name": "卡片公司", "bank_name": "工行开发区支行", "account_number": "6222 02"}
RIGHT = {**WRONG, "account_number": "6222 0206 1234 5678"}
HX = {"HX-Request": "true"}


def test_the_card_posts_the_payee_back_to_itself(client, app, login_as, make_fund):
    _, application_id = _card_fund(app, login_as, make_fund)
    card = client.get(f"/applications/{application_id}").get_data(as_text=True)
    assert 'action="/applicant/fund/payee?on=card"' in card and 'hx-target="#fund"' in card
    home = client.get("/applicant/").get_data(as_text=True)
    assert 'action="/applicant/fund/payee"' in home


def test_htmx_gets_the_fund_panel_with_the_error_then_the_saved_message(client, app, login_as, make_fund):
    item_id, _ = _card_fund(app, login_as, make_fund)
    bad = client.post("/applicant/fund/payee?on=card", data=WRONG, headers=HX)
    panel = bad.get_data(as_text=True)
    assert bad.status_code == 422 and '<section class="card mb-3" id="fund"' in panel and "<html" not in panel
    error = re.search(r'id="account_number-error">(.*?)</div></div>', panel, re.S).group(1)
    assert "账号应为8至30位数字" in error and 'value="工行开发区支行"' in panel and 'value="6222 02"' in panel
    assert "收款账户已保存" not in panel
    ok = client.post("/applicant/fund/payee?on=card", data=RIGHT, headers=HX)
    panel = ok.get_data(as_text=True)
    assert ok.status_code == 200 and "<html" not in panel
    assert re.search(r'<div class="alert alert-success" role="status"[^>]*>收款账户已保存', panel)
    assert "is-invalid" not in panel
    assert 'value="6222020612345678"' in panel  # the panel shows what was saved, not what was typed
    assert "收款账户已保存" not in client.get("/applicant/").get_data(as_text=True)  # shown once, in the panel
    with app.app_context():
        assert db.session.get(FundItem, item_id).account_number == "6222020612345678"


def test_without_js_the_card_comes_back_at_fund_with_the_error_or_the_message(client, app, login_as, make_fund):
    _, application_id = _card_fund(app, login_as, make_fund)
    bad = client.post("/applicant/fund/payee?on=card", data=WRONG)
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="application-card"' in page
    assert page.index("账号应为8至30位数字") > page.index('id="fund"') and 'value="卡片公司"' in page
    ok = client.post("/applicant/fund/payee?on=card", data=RIGHT)
    assert ok.status_code == 302 and ok.headers["Location"] == f"/applications/{application_id}#fund"
    page = client.get(ok.headers["Location"]).get_data(as_text=True)
    # the message sits in the fund panel, not in the flash area at the top of the page
    assert page.count("收款账户已保存") == 1 and page.index("收款账户已保存") > page.index('id="fund"')


def test_a_refusal_of_no_one_field_shows_in_the_panel(client, app, login_as, batch):
    """A payee posted after the batch was submitted (a page left open): the refusal sits in the fund panel, with
    htmx and without, once."""
    _move(app, batch, "submit")
    with app.app_context():
        fund = db.session.scalars(sa.select(FundItem).where(FundItem.batch_id == batch)).first()
        org, application_id = fund.organisation, fund.application_id
    login_as(Role.APPLICANT, organisation=org)
    panel = client.post("/applicant/fund/payee?on=card", data=RIGHT, headers=HX)
    assert panel.status_code == 422
    refusal = r'<div class="alert alert-danger refusal" role="alert">[^<]*收款账户不能再修改'
    assert re.search(refusal, panel.get_data(as_text=True))
    page = client.post("/applicant/fund/payee?on=card", data=RIGHT)
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and text.count("收款账户不能再修改；") == 1
    assert text.index("收款账户不能再修改；") > text.index('id="fund"')


def test_without_js_the_home_page_form_comes_back_home(client, app, login_as, make_fund):
    _card_fund(app, login_as, make_fund)
    ok = client.post("/applicant/fund/payee", data=RIGHT)
    assert ok.status_code == 302 and ok.headers["Location"] == "/applicant/"
    page = client.get("/applicant/").get_data(as_text=True)
    assert page.count("收款账户已保存") == 1 and page.index("收款账户已保存") > page.index('id="fund"')


def test_applicant_without_a_fund_gets_404(client, login_as):
    login_as(Role.APPLICANT)
    assert client.post("/applicant/fund/payee", data={}).status_code == 404


def test_admin_sets_a_standard_and_sees_refusals(client, app, login_as):
    login_as(Role.ADMIN)
    bad = client.post("/admin/fund-standards", data={"party_org_kind": "branch", "amount": "3500",
                                                     "effective_from": "2026-07-01"})
    assert bad.status_code == 422 and "1000 元至 3000 元" in bad.get_data(as_text=True)
    ok = client.post("/admin/fund-standards", data={"party_org_kind": "branch", "amount": "2500",
                                                    "effective_from": "2026-07-01"}, follow_redirects=True)
    assert "自 2026-07-01 起 2500.00 元" in ok.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(FundStandard.amount).where(FundStandard.party_org_kind == "branch")) == 2500


def test_fund_state_shows_to_the_applicant_once_paid(client, app, login_as, batch):
    version = _move(app, batch, "submit", "approve")
    with app.app_context():
        item = db.session.get(DisbursementBatch, batch).items[0]
        org = item.organisation
    login_as(Role.FINANCE)
    client.post(f"/finance/batches/{batch}/payment", data={"version": version, "voucher_number": "记-90",
                                                           "paid_on": zone_today().isoformat()})
    client.post("/auth/logout")
    login_as(Role.APPLICANT, organisation=org)
    page = client.get("/applicant/").get_data(as_text=True)
    assert f"（经费{FundState.PAID.label}，账户不能再修改）" in page and 'action="/applicant/fund/payee"' not in page


def _statements(app, client, url) -> int:
    count = [0]

    def counter(*_args):
        count[0] += 1

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", counter)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", counter)
    return count[0]


@pytest.mark.parametrize("url, role", [("/finance/", Role.FINANCE), ("/finance/batches/1", Role.FINANCE),
                                       ("/zone/funds", Role.ZONE_APPROVER), ("/finance/overview", Role.FINANCE)])
def test_list_pages_do_not_query_per_row(client, app, login_as, make_fund, url, role):
    """Three rows or nine: the same number of statements (joined and select-in loading, one aggregate)."""
    def grow(n):
        made = [make_fund("checked") for _ in range(n)]  # each in its own session, before this one writes
        for _ in range(n):
            make_fund("checked")  # waiting outside the batch
            make_fund("pending")  # waiting for the zone
        with app.app_context():
            items = [db.session.get(FundItem, m.id) for m in made]
            finance = db.session.get(User, make_fund.finance_id[0])
            batch = db.session.get(DisbursementBatch, 1)
            if batch is None:
                funds.create_batch(items, actor=finance)
            else:
                funds.add_to_batch(batch, items, actor=finance, version=batch.version)
            db.session.commit()

    grow(3)
    login_as(role)
    few = _statements(app, client, url)
    grow(6)
    assert _statements(app, client, url) == few


def test_an_item_in_an_approved_batch_shows_so_everywhere(client, app, login_as, batch):
    """Not 已核定: the applicant's card and finance's batch card say the batch's progress."""
    _move(app, batch, "submit", "approve")
    with app.app_context():
        item = db.session.get(DisbursementBatch, batch).items[0]
        org = item.organisation
    login_as(Role.FINANCE)
    card = client.get(f"/finance/batches/{batch}").get_data(as_text=True)
    assert card.count(">已审批待拨付</span>") == 2 and ">已核定</span>" not in card
    client.post("/auth/logout")
    login_as(Role.APPLICANT, organisation=org)
    page = client.get("/applicant/").get_data(as_text=True)
    assert ">已审批待拨付</span>" in page and ">已核定</span>" not in page


def test_the_zone_confirms_an_amount_after_reading_it_with_the_payee(client, app, login_as, make_fund):
    """The first POST shows the amount, the payee and the full account number and changes nothing; the second,
    which carries `confirmed`, records what was shown. Without htmx (the whole page) and with it (the row)."""
    item = make_fund("pending", name="确认面板有限公司")
    with app.app_context():
        fund = db.session.get(FundItem, item.id)
        contact = db.session.scalar(sa.select(User).where(User.organisation_id == fund.organisation_id))
        funds.set_payee(fund, funds.Payee("确认面板有限公司", "中国银行通辽分行", "6222 0206 1234 5678 901"),
                        actor=contact)
        db.session.commit()
        version = fund.version
    login_as(Role.ZONE_APPROVER)
    data = {"version": version, "amount": "2600", "reason": "场地较大"}
    for headers in ({}, {"HX-Request": "true"}):
        shown = client.post(f"/zone/funds/{item.id}/confirm", data=data, headers=headers)
        html = shown.get_data(as_text=True)
        assert shown.status_code == 200 and "请核对后确认核定" in html
        assert "2,600.00 元" in html and "贰仟陆佰元整" in html and "6222020612345678901" in html
        assert "中国银行通辽分行" in html and 'name="confirmed" value="1"' in html and 'value="2600.00"' in html
        if headers:
            assert html.lstrip().startswith(f'<tr id="fund-{item.id}"')
        with app.app_context():
            assert db.session.get(FundItem, item.id).state is FundState.PENDING
    done = client.post(f"/zone/funds/{item.id}/confirm", data={**data, "amount": "2600.00", "confirmed": "1"})
    assert done.status_code == 302
    with app.app_context():
        fund = db.session.get(FundItem, item.id)
        assert fund.state is FundState.APPROVED and fund.amount == Decimal("2600")


def test_a_payee_changed_after_the_confirmation_was_shown_is_not_confirmed(client, app, login_as, make_fund):
    item = make_fund("pending")
    login_as(Role.ZONE_APPROVER)
    assert "请核对后确认核定" in client.post(f"/zone/funds/{item.id}/confirm",
                                             data={"version": item.version}).get_data(as_text=True)
    with app.app_context():
        fund = db.session.get(FundItem, item.id)
        contact = db.session.scalar(sa.select(User).where(User.organisation_id == fund.organisation_id))
        funds.set_payee(fund, funds.Payee("另一家公司", "某银行", "6222020600000000"), actor=contact)
        db.session.commit()
    stale = client.post(f"/zone/funds/{item.id}/confirm", data={"version": item.version, "confirmed": "1"})
    assert stale.status_code == 409 and "本次操作未执行" in stale.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(FundItem, item.id).state is FundState.PENDING


def test_the_zone_approves_a_batch_after_reading_every_account_number(client, app, login_as, batch):
    version = _move(app, batch, "submit")
    with app.app_context():
        numbers = [i.account_number for i in db.session.get(DisbursementBatch, batch).items]
    login_as(Role.ZONE_APPROVER)
    shown = client.post(f"/zone/batches/{batch}/approve", data={"version": version})
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "请逐笔核对金额、收款人和完整账号后确认审批" in html
    assert all(number in html for number in numbers) and "3,234.56" in html and "叁仟贰佰叁拾肆元伍角陆分" in html
    assert "确认审批同意（合计 3,234.56 元）" in html
    with app.app_context():
        assert db.session.get(DisbursementBatch, batch).state is BatchState.SUBMITTED
    stale = client.post(f"/zone/batches/{batch}/approve", data={"version": version - 1}, follow_redirects=True)
    assert "本次操作未执行" in stale.get_data(as_text=True) and "请逐笔核对" not in stale.get_data(as_text=True)
    done = client.post(f"/zone/batches/{batch}/approve", data={"version": version, "confirmed": "1"},
                       follow_redirects=True)
    assert "已审批同意拨付批次" in done.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(DisbursementBatch, batch).state is BatchState.APPROVED
