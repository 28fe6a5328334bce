"""Startup funds through their domain verbs: standards, ranges, one fund per organisation, batches, payments."""
import hashlib
import subprocess
import time
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook


from domain import DomainError, StaleError
from domain import applications as verbs
from domain import funds
from domain.files import keep_file
from domain.funds import AlreadyPaid, Payee
from domain import sheets, signing
from domain.pdf import PdfRenderError
from domain.sheets import batch_pdf, batch_xlsx, capital_amount
from models import (
    Application, BatchState, DisbursementBatch, FundItem, FundPayment, FundStandard, FundState, JobRun, Organisation,
    PartyOrgKind, PaymentKind, Role, RunStatus, StoredFile, User, db,
)
from tests.conftest import on_postgresql, race, racers, zone_today

K = PartyOrgKind


def _user(make_user, role) -> User:
    return db.session.get(User, make_user(role).id)


# ---------------------------------------------------------------- standards

def test_default_standards_are_seeded_once(ctx):
    assert funds.ensure_fund_standards() == 5
    assert funds.ensure_fund_standards() == 0
    today = zone_today()
    assert {k: funds.standard_amount(k, today) for k in K} == {
        K.JOINT_BRANCH: 1000, K.BRANCH: 2000, K.BRANCH_COMMITTEE: 3000, K.GENERAL_BRANCH: 3000,
        K.PARTY_COMMITTEE: 3000}


def test_a_new_standard_closes_the_old_one_and_keeps_history(ctx, make_user):
    admin = _user(make_user, Role.ADMIN)
    funds.ensure_fund_standards()
    funds.set_fund_standard(K.BRANCH, Decimal("2500"), date(2026, 7, 1), actor=admin)
    assert funds.standard_amount(K.BRANCH, date(2026, 6, 30)) == Decimal("2000")
    assert funds.standard_amount(K.BRANCH, date(2026, 7, 1)) == Decimal("2500")
    assert funds.standard_amount(K.JOINT_BRANCH, date(2026, 7, 1)) == Decimal("1000")  # other kinds untouched
    # A standard slotted in between ends where the later one begins.
    between = funds.set_fund_standard(K.BRANCH, Decimal("2200"), date(2025, 1, 1), actor=admin)
    assert between.effective_to == date(2026, 6, 30)
    assert funds.standard_amount(K.BRANCH, date(2024, 12, 31)) == Decimal("2000")
    assert funds.standard_amount(K.BRANCH, date(2025, 6, 1)) == Decimal("2200")
    rows = [s for s in funds.standards_history() if s.party_org_kind is K.BRANCH]
    assert [(s.effective_from, s.effective_to, s.amount) for s in rows] == [
        (date(2026, 7, 1), None, Decimal("2500")), (date(2025, 1, 1), date(2026, 6, 30), Decimal("2200")),
        (funds.DEFAULT_FROM, date(2024, 12, 31), Decimal("2000"))]
    with pytest.raises(DomainError, match="已有标准") as refusal:
        funds.set_fund_standard(K.BRANCH, Decimal("2100"), date(2025, 1, 1), actor=admin)
    assert refusal.value.field == "effective_from"


@pytest.mark.parametrize("amount", ["999.99", "3000.01", "0", "-1000", "abc", "2000.001", ""])
def test_amounts_outside_the_range_are_refused(ctx, make_user, amount):
    admin = _user(make_user, Role.ADMIN)
    with pytest.raises(DomainError) as refusal:
        funds.set_fund_standard(K.BRANCH, amount, date(2026, 1, 1), actor=admin)
    assert refusal.value.field == "amount" and any(w in refusal.value.message for w in ("1000", "金额"))


@pytest.mark.parametrize("amount", ["1000", "3000", "1,500.50"])
def test_amounts_inside_the_range_are_accepted(ctx, make_user, amount):
    standard = funds.set_fund_standard(K.BRANCH, amount, date(2026, 1, 1), actor=_user(make_user, Role.ADMIN))
    assert standard.amount == Decimal(amount.replace(",", ""))


@pytest.mark.parametrize("table", ["fund_standards", "fund_items"])
def test_the_database_refuses_an_amount_outside_the_range(ctx, make_fund, table):
    item = make_fund("pending")
    funds.ensure_fund_standards()
    target = sa.update(FundStandard).values(amount=Decimal("3500")) if table == "fund_standards" else \
        sa.update(FundItem).where(FundItem.id == item.id).values(amount=Decimal("800"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(target)
        db.session.flush()


def test_only_the_admin_sets_standards(ctx, make_user):
    with pytest.raises(DomainError, match="只有系统管理员"):
        funds.set_fund_standard(K.BRANCH, Decimal("2000"), date(2026, 1, 1), actor=_user(make_user, Role.FINANCE))


# ---------------------------------------------------------------- the fund item

def test_establishing_creates_the_fund_at_the_standard_of_that_day(ctx, make_application, make_user):
    made = make_application("election_reported")  # made in its own session, before this one writes
    admin, zone = _user(make_user, Role.ADMIN), _user(make_user, Role.ZONE_APPROVER)
    funds.ensure_fund_standards()
    # The zone's date, as the fund takes it (tests.conftest.zone_today).
    today = zone_today()
    funds.set_fund_standard(K.BRANCH, Decimal("2400"), today, actor=admin)
    funds.set_fund_standard(K.BRANCH, Decimal("1800"), today + timedelta(days=30), actor=admin)
    application = db.session.get(Application, made.id)
    assert application.requested_kind is K.BRANCH
    verbs.establish_organisation(application, actor=zone, version=application.version)
    item = funds.fund_of(application.organisation_id)
    assert (item.state, item.standard_amount, item.amount, item.established_on) == (
        FundState.PENDING, Decimal("2400"), Decimal("2400"), today)


def test_one_fund_per_organisation_ever(ctx, make_fund, make_user):
    item = make_fund("pending")
    application = db.session.get(Application, item.application_id)
    assert funds.create_fund_item(application, actor=_user(make_user, Role.ZONE_APPROVER)) is None
    # The database holds the rule too, whatever the code does.
    other = db.session.get(Application, item.application_id)
    db.session.add(FundItem(organisation_id=item.organisation_id, application_id=other.id, established_on=zone_today(),
                            party_org_kind=K.BRANCH, standard_amount=2000, amount=2000))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()


def test_zone_confirms_the_standard_or_another_amount_with_a_reason(ctx, make_fund, make_user):
    zone = _user(make_user, Role.ZONE_APPROVER)
    item = db.session.merge(make_fund("pending"))
    with pytest.raises(DomainError) as refusal:
        funds.confirm_fund(item, actor=zone, version=item.version, amount="2600")
    assert refusal.value.field == "reason"
    with pytest.raises(DomainError, match="1000 元至 3000 元"):
        funds.confirm_fund(item, actor=zone, version=item.version, amount="3200", reason="多给一些")
    with pytest.raises(DomainError, match="只有开发区党工委"):
        funds.confirm_fund(item, actor=_user(make_user, Role.FINANCE), version=item.version)
    with pytest.raises(StaleError):
        funds.confirm_fund(item, actor=zone, version=item.version - 1)
    funds.confirm_fund(item, actor=zone, version=item.version, amount="2600", reason="活动场地面积较大")
    assert (item.state, item.amount, item.standard_amount) == (FundState.APPROVED, Decimal("2600"), Decimal("2000"))
    with pytest.raises(DomainError, match="无需再核定"):
        funds.confirm_fund(item, actor=zone, version=item.version)


@pytest.mark.parametrize("amount, capital", [
    ("1000", "壹仟元整"), ("2500", "贰仟伍佰元整"), ("3000", "叁仟元整"), ("1234.56", "壹仟贰佰叁拾肆元伍角陆分"),
    ("123456.78", "壹拾贰万叁仟肆佰伍拾陆元柒角捌分"), ("2000.00", "贰仟元整"),
])
def test_capital_character_amounts(amount, capital):
    assert capital_amount(Decimal(amount)) == capital


@pytest.mark.parametrize("number, expected", [
    ("6222 0206 1234 5678", "6222020612345678"), ("12345678", "12345678"), (" 1" * 30, "1" * 30)])
def test_account_numbers_lose_their_spaces(number, expected):
    assert funds.normalise_payee(Payee("某公司", "某银行", number)).account_number == expected


@pytest.mark.parametrize("payee, field", [
    (Payee("某公司", "某银行", "1234567"), "account_number"),
    (Payee("某公司", "某银行", "1" * 31), "account_number"),
    (Payee("某公司", "某银行", "6222-0206-1234"), "account_number"),
    (Payee("某公司", "某银行", "62220206I2345678"), "account_number"),
    (Payee("某公司", "某银行", "６２２２０２０６１２３４５６７８"), "account_number"),  # full-width: \d took them
    (Payee("某公司", "某银行", "6222٠٢٠٦12345678"), "account_number"),  # Arabic-Indic
    (Payee(" ", "某银行", "12345678"), "account_name"),
    (Payee("某公司", "", "12345678"), "bank_name"),
])
def test_bad_payee_formats_are_refused_in_chinese(payee, field):
    with pytest.raises(DomainError) as refusal:
        funds.normalise_payee(payee)
    assert refusal.value.field == field and refusal.value.message.startswith(("请填写", "账号应为8至30位数字"))


def test_only_the_organisations_contact_enters_the_payee(ctx, make_fund, make_user):
    item = db.session.merge(make_fund("approved"))
    with pytest.raises(DomainError, match="只有本单位联系人"):
        funds.set_payee(item, Payee("某公司", "某银行", "12345678"), actor=_user(make_user, Role.APPLICANT))


# ---------------------------------------------------------------- batches

def test_batch_numbers_are_per_year_and_gapless(ctx, make_fund, make_user):
    finance = _user(make_user, Role.FINANCE)
    items = [db.session.merge(make_fund("checked")) for _ in range(3)]
    first = funds.create_batch([items[0]], actor=finance, today=date(2026, 3, 1))
    second = funds.create_batch([items[1]], actor=finance, today=date(2026, 5, 1))
    next_year = funds.create_batch([items[2]], actor=finance, today=date(2027, 1, 2))
    assert [first.number, second.number, next_year.number] == ["2026-BF-001", "2026-BF-002", "2027-BF-001"]


def test_a_refused_batch_leaves_no_number_behind(ctx, make_fund, make_user):
    """The batch's row is flushed inside a savepoint (the unique serial decides a race). An item it then refuses
    undoes the whole batch, its number too, on SQLite as on PostgreSQL (models/base.py: a transaction is begun
    before its first savepoint)."""
    finance = _user(make_user, Role.FINANCE)
    pending = db.session.merge(make_fund("pending"))
    with pytest.raises(DomainError, match="不能加入批次"):
        funds.create_batch([pending], actor=finance, today=date(2026, 3, 1))
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(DisbursementBatch.id))) == 0
    item = db.session.merge(make_fund("checked"))
    assert funds.create_batch([item], actor=finance, today=date(2026, 3, 1)).number == "2026-BF-001"


def test_parallel_batches_get_distinct_gapless_numbers(app, make_fund):
    made = [make_fund("checked") for _ in range(6)]
    finance_id = make_fund.finance_id[0]

    def attempt(item_id, go):
        item, actor = db.session.get(FundItem, item_id), db.session.get(User, finance_id)
        go()
        funds.create_batch([item], actor=actor)
        db.session.commit()
        return "ok"

    results = race(app, attempt, [m.id for m in made])
    with app.app_context():
        serials = sorted(db.session.scalars(sa.select(DisbursementBatch.serial)))
    assert len(results) == 6 and serials == list(range(1, results.count("ok") + 1)) and serials, results
    # SQLite may refuse a loser on its busy timeout; PostgreSQL waits on the unique index and the loser takes
    # the next number.
    assert all(isinstance(r, sa.exc.OperationalError) for r in results if r != "ok"), results
    if on_postgresql(app):
        assert results.count("ok") == 6


def test_batch_states_from_draft_to_paid_and_back_by_reversal(ctx, make_fund, make_user):
    finance, zone = _user(make_user, Role.FINANCE), _user(make_user, Role.ZONE_APPROVER)
    a, b, c = (db.session.merge(make_fund(s)) for s in ("checked", "checked", "approved"))
    batch = funds.create_batch([a], actor=finance)
    assert batch.state is BatchState.DRAFT
    funds.add_to_batch(batch, [b, c], actor=finance, version=batch.version)
    with pytest.raises(DomainError, match="尚未核验"):
        funds.submit_batch(batch, actor=finance, version=batch.version)
    funds.remove_from_batch(batch, c, actor=finance, version=batch.version)
    assert c.batch_id is None and batch.total == a.amount + b.amount
    with pytest.raises(DomainError, match="只有开发区党工委"):
        funds.approve_batch(batch, actor=finance, version=batch.version)
    with pytest.raises(DomainError, match="须经党工委审批"):
        funds.record_batch_payment(batch, voucher_number="记-1", paid_on=zone_today(), actor=finance,
                                   version=batch.version)
    funds.submit_batch(batch, actor=finance, version=batch.version)
    assert batch.state is BatchState.SUBMITTED
    with pytest.raises(DomainError, match="只有草稿批次"):
        funds.add_to_batch(batch, [c], actor=finance, version=batch.version)
    with pytest.raises(DomainError, match="只有草稿批次"):
        funds.remove_from_batch(batch, a, actor=finance, version=batch.version)
    funds.return_batch(batch, actor=zone, version=batch.version)
    assert batch.state is BatchState.DRAFT
    funds.submit_batch(batch, actor=finance, version=batch.version)
    funds.approve_batch(batch, actor=zone, version=batch.version)
    assert batch.state is BatchState.APPROVED and batch.approved_by == zone

    with pytest.raises(DomainError, match="拨付日期不能早于批次的审批日期"):
        funds.record_payment(a, voucher_number="记-0011", paid_on=zone_today() - timedelta(days=1), actor=finance,
                             version=a.version)
    with pytest.raises(DomainError, match="拨付日期不能早于批次的审批日期"):
        funds.record_batch_payment(batch, voucher_number="记-0011", paid_on=date(2020, 1, 1), actor=finance,
                                   version=batch.version)
    funds.record_payment(a, voucher_number="记-0012", paid_on=zone_today(), actor=finance, version=a.version)
    assert (a.state, batch.state) == (FundState.PAID, BatchState.APPROVED)
    with pytest.raises(AlreadyPaid, match="本次未重复登记"):
        funds.record_payment(a, voucher_number="记-0013", paid_on=zone_today(), actor=finance, version=a.version)
    paid = funds.record_batch_payment(batch, voucher_number="记-0014", paid_on=zone_today(), actor=finance,
                                      version=batch.version)
    assert [p.fund_item_id for p in paid] == [b.id] and batch.state is BatchState.PAID
    with pytest.raises(AlreadyPaid, match="已全部登记拨付"):
        funds.record_batch_payment(batch, voucher_number="记-0014", paid_on=zone_today(), actor=finance,
                                   version=batch.version)

    payment = db.session.scalar(sa.select(FundPayment).where(FundPayment.fund_item_id == a.id))
    with pytest.raises(DomainError, match="须填写理由"):
        funds.reverse_payment(payment, reason=" ", actor=finance, version=a.version)
    funds.reverse_payment(payment, reason="账号有误，银行退回", actor=finance, version=a.version)
    assert (a.state, batch.state) == (FundState.APPROVED, BatchState.APPROVED)
    with pytest.raises(AlreadyPaid, match="已冲销"):
        funds.reverse_payment(payment, reason="再冲一次", actor=finance, version=a.version)
    db.session.flush()
    kinds = db.session.scalars(sa.select(FundPayment.kind).where(FundPayment.fund_item_id == a.id)
                               .order_by(FundPayment.id)).all()
    assert kinds == [PaymentKind.PAYMENT, PaymentKind.REVERSAL]


def test_an_item_joins_at_most_one_batch(ctx, make_fund, make_user):
    item, pending = db.session.merge(make_fund("checked")), db.session.merge(make_fund("pending"))
    finance = _user(make_user, Role.FINANCE)
    first = funds.create_batch([item], actor=finance)
    with pytest.raises(DomainError, match=f"已在批次{first.number}中"):
        funds.create_batch([item], actor=finance)
    with pytest.raises(DomainError, match="不能加入批次"):
        funds.create_batch([pending], actor=finance)


def test_payments_are_append_only(ctx, make_fund, make_user):
    finance, zone = _user(make_user, Role.FINANCE), _user(make_user, Role.ZONE_APPROVER)
    item = db.session.merge(make_fund("checked"))
    batch = funds.create_batch([item], actor=finance)
    funds.submit_batch(batch, actor=finance, version=batch.version)
    funds.approve_batch(batch, actor=zone, version=batch.version)
    payment = funds.record_payment(item, voucher_number="记-1", paid_on=zone_today(), actor=finance,
                                   version=item.version)
    db.session.commit()
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.delete(payment)
        db.session.flush()
    db.session.rollback()
    # Around the ORM, the database trigger refuses it too.
    for statement in (sa.text("DELETE FROM fund_payments"), sa.text("UPDATE fund_payments SET voucher_number = 'x'")):
        with pytest.raises(sa.exc.DatabaseError):
            db.session.execute(statement)
        db.session.rollback()


def test_parallel_payments_record_exactly_one(app, make_fund, make_user):
    """Double clicks, two tabs, two finance users: 50 attempts at once (on PostgreSQL), each in its own
    connection. One payment; the others are told it was paid or that the page was stale."""
    made = make_fund("checked")
    finance_ids = [make_fund.finance_id[0], make_user(Role.FINANCE).id]
    with app.app_context():
        item = db.session.get(FundItem, made.id)
        finance = db.session.get(User, finance_ids[0])
        batch = funds.create_batch([item], actor=finance)
        funds.submit_batch(batch, actor=finance, version=batch.version)
        funds.approve_batch(batch, actor=db.session.get(User, make_fund.zone_id[0]), version=batch.version)
        db.session.commit()
        version, batch_id = item.version, batch.id
    n = racers(app)

    def attempt(k, go):
        item, actor = db.session.get(FundItem, made.id), db.session.get(User, finance_ids[k % 2])
        go()
        funds.record_payment(item, voucher_number=f"记-{k:03d}", paid_on=zone_today(), actor=actor, version=version)
        db.session.commit()
        return "ok"

    results = race(app, attempt, range(n))
    assert results.count("ok") == 1 and len(results) == n, results
    # SQLite: a loser may also meet the lock past its busy timeout.
    assert all(isinstance(r, (StaleError, AlreadyPaid, sa.exc.OperationalError)) for r in results if r != "ok"), results
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(FundPayment.id))) == 1
        assert db.session.get(FundItem, made.id).state is FundState.PAID
        assert db.session.get(DisbursementBatch, batch_id).state is BatchState.PAID


# ---------------------------------------------------------------- sheets and the overview

def _approved_batch(make_fund, make_user, amounts, names=None) -> DisbursementBatch:
    items = [db.session.merge(make_fund("checked", amount=a, name=(names or {}).get(i)))
             for i, a in enumerate(amounts)]
    finance = db.session.get(User, make_fund.finance_id[0])
    batch = funds.create_batch(items, actor=finance)
    funds.submit_batch(batch, actor=finance, version=batch.version)
    funds.approve_batch(batch, actor=db.session.get(User, make_fund.zone_id[0]), version=batch.version)
    db.session.commit()
    return batch


def test_the_xlsx_sheet_reads_back_with_totals_that_add_up(app, ctx, make_fund, make_user):
    amounts = ["1234.56", "2500", "3000", "1000.01"]
    batch = _approved_batch(make_fund, make_user, amounts, names={1: "=HYPERLINK(\"http://x\")有限公司"})
    with app.test_request_context():
        wb = load_workbook(BytesIO(batch_xlsx(batch)))
    ws = wb.active
    assert ws["A1"].value == f"通辽经济技术开发区{zone_today().year}年度新建党组织启动经费拨付明细表"
    assert batch.number in ws["E2"].value
    assert [c.value for c in ws[3]] == ["序号", "单位名称", "党组织名称", "统一社会信用代码", "开户名", "开户行", "账号",
                                        "金额", "金额大写", "备注"]
    body = list(ws.iter_rows(min_row=4, max_row=3 + len(amounts), values_only=True))
    assert [Decimal(str(r[7])) for r in body] == [Decimal(a) for a in amounts]
    assert all(isinstance(r[7], (int, float)) for r in body)  # numbers, not text, so the SUM works
    assert body[0][8] == "壹仟贰佰叁拾肆元伍角陆分"
    assert body[1][1].startswith("=HYPERLINK") and ws["B5"].data_type == "s"  # a formula-looking name stays text
    assert body[1][2].startswith("中共=HYPERLINK") and body[1][2].endswith("支部")  # 5 formal members: a 支部
    total_row = 4 + len(amounts)
    assert ws.cell(total_row, 1).value == "合计（4 笔）" and ws.cell(total_row, 8).value == f"=SUM(H4:H{total_row - 1})"
    assert sum(Decimal(str(r[7])) for r in body) == batch.total == Decimal("7734.57")
    assert ws.cell(total_row, 9).value == "人民币柒仟柒佰叁拾肆元伍角柒分"
    assert "¥" in ws.cell(4, 8).number_format
    assert ws.freeze_panes == "A4" and ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert ws.column_dimensions["B"].width >= 15


def test_the_pdf_sheet_embeds_cjk_fonts_repeats_its_header_and_totals(app, ctx, make_fund, make_user, tmp_path):
    batch = _approved_batch(make_fund, make_user, ["3000"] * 18 + ["2500"] * 18)
    with app.test_request_context():
        started = time.perf_counter()
        pdf = batch_pdf(batch)
        elapsed = time.perf_counter() - started
    path = tmp_path / "sheet.pdf"
    path.write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    faces = fonts.splitlines()[2:]
    # One family, two faces (regular and bold): every face is a subset cut from a CJK font on each render.
    assert len(faces) == 2 and all("Noto-Sans-CJK-SC" in line for line in faces), fonts
    assert all(line.split()[-5] == "yes" for line in faces)  # every font embedded
    pages = [subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), "-layout", str(path), "-"], capture_output=True,
                            text=True, check=True).stdout for n in (1, 2)]
    assert pages[1].strip(), "36 rows should take more than one page"
    for text in pages:
        assert "统一社会信用代码" in text and "金额大写" in text  # the header on every page
    last = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
    assert "99,000.00" in last and "玖万玖仟元整" in last
    for label in ("经办人", "审核人", "负责人"):
        assert label in last
    assert "第 1 页" in pages[0] and "第 2 页" in pages[1]
    assert elapsed < 10, f"PDF took {elapsed:.1f} s"


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "sheet.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_approving_a_batch_files_its_pdf_sheet_as_approved(app, ctx, make_fund, make_user, tmp_path, monkeypatch):
    items = [db.session.merge(make_fund("checked", amount=a)) for a in ("3000", "1500")]
    finance, zone = db.session.get(User, make_fund.finance_id[0]), db.session.get(User, make_fund.zone_id[0])
    batch = funds.create_batch(items, actor=finance)
    funds.submit_batch(batch, actor=finance, version=batch.version)
    assert sheets.filed_sheet(batch) is None and "（待审批）" in _text(batch_pdf(batch), tmp_path)
    with monkeypatch.context() as slow:  # no consumer has taken the task yet
        slow.setattr(sheets, "file_batch_sheet", lambda batch_id: None)
        funds.approve_batch(batch, actor=zone, version=batch.version)
        db.session.commit()
    assert batch.state is BatchState.APPROVED and batch.sheet_pending
    assert sheets.sheet_refusal(batch) == sheets.SHEET_BEING_PREPARED
    # The registry renames an organisation before the render: the filed sheet still says what was approved.
    old_name = items[0].organisation.name
    items[0].organisation.name = "改名后的有限公司"
    db.session.commit()
    assert sheets.file_approved_sheet(batch.id) is True
    assert sheets.file_approved_sheet(batch.id) is False  # filed once: a second run (or consumer) changes nothing
    db.session.expire_all()
    filed = batch.sheet_file
    assert not batch.sheet_pending and sheets.sheet_refusal(batch) is None
    assert filed.content_type == "application/pdf" and filed.data.startswith(b"%PDF-") and filed.size == len(filed.data)
    assert filed.filename == f"拨付明细表-{batch.number}.pdf" and filed.created_by_id == zone.id
    check = signing.verify(filed.data)  # signed as filed, and its fingerprint is the signed file's
    assert check.good and check.trusted and filed.sha256 == hashlib.sha256(filed.data).hexdigest()
    text = _text(filed.data, tmp_path)
    assert f"审批：{zone.name}" in text and "4,500.00" in text and "肆仟伍佰元整" in text and old_name in text
    assert "改名后的有限公司" in _text(batch_pdf(batch), tmp_path)  # a new render would say the new name
    # Paid, the batch keeps its sheet; the database refuses a sheet on a batch that is not approved.
    funds.record_batch_payment(batch, voucher_number="记-1", paid_on=zone_today(), actor=finance,
                               version=batch.version)
    db.session.commit()
    assert batch.state is BatchState.PAID and sheets.filed_sheet(batch) == filed.data
    draft = funds.create_batch([db.session.merge(make_fund("checked"))], actor=finance)
    other = keep_file("另一份.pdf", "application/pdf", b"%PDF-1.7", actor=finance)
    db.session.flush()
    with pytest.raises(sa.exc.IntegrityError, match="sheet_filed_once_approved"):
        db.session.execute(sa.update(DisbursementBatch).where(DisbursementBatch.id == draft.id)
                           .values(sheet_file_id=other.id))
    db.session.rollback()


def test_the_approval_commits_and_the_sheet_is_filed_right_after(app, ctx, make_fund):
    # The tests run tasks at once (JOBS_IMMEDIATE): the commit enqueues the render, which files the sheet.
    items = [db.session.merge(make_fund("checked"))]
    finance, zone = db.session.get(User, make_fund.finance_id[0]), db.session.get(User, make_fund.zone_id[0])
    batch = funds.create_batch(items, actor=finance)
    funds.submit_batch(batch, actor=finance, version=batch.version)
    funds.approve_batch(batch, actor=zone, version=batch.version)
    assert batch.sheet_file_id is None  # nothing rendered before the commit
    db.session.commit()
    assert batch.sheet_file.data.startswith(b"%PDF-") and not batch.sheet_pending
    run = db.session.scalars(sa.select(JobRun).where(JobRun.name == "domain.sheets.file_batch_sheet")).one()
    assert (run.args, run.status) == ([batch.id], RunStatus.DONE)


@pytest.mark.parametrize("module, step, refusal", [
    (sheets, "html_to_pdf", PdfRenderError("生成 PDF 的进程意外退出，请稍后重试。")),
    (signing, "sign", signing.SigningError("时间戳服务无应答，文件未能签名，请稍后重试。")),
])
def test_a_sheet_that_fails_to_render_is_said_on_the_batch_until_run_again(app, ctx, make_fund, monkeypatch, module,
                                                                           step, refusal):
    items = [db.session.merge(make_fund("checked"))]
    finance, zone = db.session.get(User, make_fund.finance_id[0]), db.session.get(User, make_fund.zone_id[0])
    batch = funds.create_batch(items, actor=finance)
    funds.submit_batch(batch, actor=finance, version=batch.version)
    db.session.commit()

    def dies(*_args, **_kwargs):
        raise refusal
    monkeypatch.setattr(module, step, dies)
    funds.approve_batch(batch, actor=zone, version=batch.version)
    db.session.commit()  # the approval stands; its render failed after it
    batch = db.session.get(DisbursementBatch, batch.id)
    assert batch.state is BatchState.APPROVED and batch.sheet_file_id is None and batch.sheet_pending
    assert sheets.sheet_refusal(batch) == (f"拨付明细表（PDF）未能生成：{refusal}"
                                           "（XLSX 可照常下载；请系统管理员在“后台任务”中重新执行）")
    run = db.session.scalars(sa.select(JobRun).where(JobRun.name == "domain.sheets.file_batch_sheet")).one()
    assert run.status is RunStatus.FAILED and str(refusal) in run.error
    sheets.file_missing_sheets.call_local()  # the sweep leaves a refused one to the admin
    assert db.session.get(DisbursementBatch, batch.id).sheet_error
    monkeypatch.undo()
    assert sheets.file_approved_sheet(batch.id) is True  # what the admin's 重新执行 runs
    db.session.expire_all()
    assert batch.sheet_error == "" and batch.sheet_file.data.startswith(b"%PDF-")


def test_a_sheet_whose_task_was_lost_is_filed_by_the_sweep(app, ctx, make_fund, monkeypatch):
    from datetime import timedelta

    items = [db.session.merge(make_fund("checked"))]
    finance, zone = db.session.get(User, make_fund.finance_id[0]), db.session.get(User, make_fund.zone_id[0])
    batch = funds.create_batch(items, actor=finance)
    funds.submit_batch(batch, actor=finance, version=batch.version)
    with monkeypatch.context() as lost:
        lost.setattr(sheets, "file_batch_sheet", lambda batch_id: None)
        funds.approve_batch(batch, actor=zone, version=batch.version)
        db.session.commit()
    sheets.file_missing_sheets.call_local()
    assert db.session.get(DisbursementBatch, batch.id).sheet_pending  # a moment old: its task may still be running
    batch.approved_at -= timedelta(minutes=3)
    db.session.commit()
    sheets.file_missing_sheets.call_local()
    db.session.expire_all()
    assert batch.sheet_file.data.startswith(b"%PDF-")


def test_parallel_approvals_file_one_sheet(app, make_fund):
    """Two tabs, a double click: approvals of one batch at once. One approves, the others stop at the version;
    the one sheet is rendered after the commit, and filed once."""
    made = [make_fund("checked"), make_fund("checked")]
    with app.app_context():
        finance = db.session.get(User, make_fund.finance_id[0])
        batch = funds.create_batch([db.session.get(FundItem, m.id) for m in made], actor=finance)
        funds.submit_batch(batch, actor=finance, version=batch.version)
        db.session.commit()
        version, batch_id = batch.version, batch.id
        files_before = db.session.scalar(sa.select(sa.func.count(StoredFile.id)))
    rendered = []
    real = sheets.sheet_pdf

    def counted(sheet):
        rendered.append(sheet.number)
        return real(sheet)

    def attempt(_k, go):
        batch, zone = db.session.get(DisbursementBatch, batch_id), db.session.get(User, make_fund.zone_id[0])
        go()
        funds.approve_batch(batch, actor=zone, version=version)
        db.session.commit()
        return "ok"

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sheets, "sheet_pdf", counted)
        results = race(app, attempt, range(min(racers(app), 8)))
    assert results.count("ok") == 1, results
    assert all(isinstance(r, (StaleError, sa.exc.OperationalError)) for r in results if r != "ok"), results
    with app.app_context():
        batch = db.session.get(DisbursementBatch, batch_id)
        assert rendered == [batch.number]
        assert batch.state is BatchState.APPROVED and batch.sheet_file.data.startswith(b"%PDF-")
        assert db.session.scalar(sa.select(sa.func.count(StoredFile.id))) == files_before + 1


def test_overview_by_unit_and_year(ctx, make_fund, make_user):
    finance, zone = _user(make_user, Role.FINANCE), _user(make_user, Role.ZONE_APPROVER)
    a = db.session.merge(make_fund("checked", amount="1234.56"))
    b = db.session.merge(make_fund("checked", amount="2000"))
    db.session.merge(make_fund("pending", unit_code="street_east"))
    batch = funds.create_batch([a, b], actor=finance)
    funds.submit_batch(batch, actor=finance, version=batch.version)
    funds.approve_batch(batch, actor=zone, version=batch.version)
    funds.record_payment(a, voucher_number="记-9", paid_on=zone_today(), actor=finance, version=a.version)
    db.session.flush()
    rows = {r.unit: r for r in funds.fund_overview()}
    park = rows["新型工业园区党委"]
    assert (park.year, park.items, park.approved, park.in_batches, park.paid) == (
        zone_today().year, 2, Decimal("3234.56"), Decimal("2000.00"), Decimal("1234.56"))
    east = rows["东城街道区域党工委"]
    assert (east.items, east.approved, east.paid) == (1, Decimal("0.00"), Decimal("0.00"))


def test_the_lists_rows_say_what_the_items_say(ctx, make_fund, make_user):
    """The lists read rows (funds.item_rows), the verbs read items: the payee hybrids computed by the database
    must agree with the same properties of the object, and each list holds exactly its items."""
    finance = _user(make_user, Role.FINANCE)
    pending = db.session.merge(make_fund("pending", unit_code="street_east", name="东城待核定公司"))
    unchecked, partial = db.session.merge(make_fund("approved")), db.session.merge(make_fund("approved"))
    checked, in_batch = db.session.merge(make_fund("checked")), db.session.merge(make_fund("checked"))
    second, in_draft = db.session.merge(make_fund("checked")), db.session.merge(make_fund("checked"))
    funds.set_payee(unchecked, Payee("某公司", "某银行", "6222020612345678"),
                    actor=db.session.scalar(sa.select(User).where(User.organisation_id == unchecked.organisation_id)))
    partial.account_name, partial.bank_name = "某公司", "某银行"  # no account number: not a payee yet
    batch = funds.create_batch([in_batch], actor=finance)
    funds.submit_batch(batch, actor=finance, version=batch.version)
    later = funds.create_batch([second], actor=finance)
    funds.submit_batch(later, actor=finance, version=later.version)
    funds.create_batch([in_draft], actor=finance)  # a draft: not the zone's to approve
    db.session.flush()

    fundable = {r.id: r for r in funds.fundable_items(funds.ItemFilter()).items}
    assert set(fundable) == {unchecked.id, partial.id, checked.id}
    for item in (unchecked, partial, checked):
        row = fundable[item.id]
        assert (row.has_payee, row.payee_checked) == (item.has_payee, item.payee_checked)
        assert (row.org_name, row.unit_name) == (item.organisation.name, item.organisation.unit.name)
    assert [(r.has_payee, r.payee_checked) for r in (fundable[unchecked.id], fundable[partial.id],
                                                     fundable[checked.id])] == [(True, False), (False, False),
                                                                                (True, True)]
    east = db.session.scalar(sa.select(Organisation.unit_id).where(Organisation.id == pending.organisation_id))
    park = db.session.scalar(sa.select(Organisation.unit_id).where(Organisation.id == checked.organisation_id))
    assert funds.fundable_items(funds.ItemFilter(unit_id=east)).items == []
    assert {r.id for r in funds.fundable_items(funds.ItemFilter(unit_id=park)).items} == set(fundable)

    assert [(r.id, r.org_name, r.unit_name, r.state) for r in funds.pending_funds().items] == [
        (pending.id, "东城待核定公司", "东城街道区域党工委", FundState.PENDING)]
    assert funds.fund_row(in_batch.id)[:4] == (in_batch.id, in_batch.version, FundState.APPROVED, batch.id)
    assert funds.fund_row(0) is None

    # Newest first, each with its own items; the draft is not listed.
    assert [(row.batch.id, row.count, row.total, row.created_by, [i.id for i in items])
            for row, items in funds.batches_to_approve()] == [
        (later.id, 1, second.amount, finance.name, [second.id]),
        (batch.id, 1, in_batch.amount, finance.name, [in_batch.id])]


def test_the_funds_to_confirm_come_a_page_at_a_time(ctx, make_fund):
    """However many wait, the zone's page shows one page of them, oldest first; a page past the last (its last
    item was just confirmed) shows the last."""
    made = [make_fund("pending").id for _ in range(3)]
    first, second = funds.pending_funds(1, per_page=2), funds.pending_funds(2, per_page=2)
    assert [r.id for r in first.items] + [r.id for r in second.items] == made
    assert (first.total, first.pages, len(first.items), len(second.items)) == (3, 2, 2, 1)
    past = funds.pending_funds(9, per_page=2)
    assert (past.page, [r.id for r in past.items]) == (2, made[2:])


def test_the_fundable_items_come_a_page_at_a_time(ctx, make_fund):
    """Finance's list of items to gather into batches is paged like the zone's: oldest first, filtered, counted by
    the same filter, and a page past the last shows the last."""
    made = [make_fund("approved").id for _ in range(3)]
    east = db.session.merge(make_fund("approved", unit_code="street_east"))
    everyone = funds.ItemFilter()
    first, second = funds.fundable_items(everyone, 1, per_page=2), funds.fundable_items(everyone, 2, per_page=2)
    assert [r.id for r in first.items] + [r.id for r in second.items] == [*made, east.id]
    assert (first.total, first.pages) == (4, 2)
    past = funds.fundable_items(everyone, 9, per_page=2)
    assert (past.page, [r.id for r in past.items]) == (2, [made[2], east.id])
    only_east = funds.fundable_items(funds.ItemFilter(unit_id=east.organisation.unit_id), 1, per_page=2)
    assert (only_east.total, [r.id for r in only_east.items]) == (1, [east.id])


def test_demo_seeds_funds_and_one_batch_idempotently(ctx):
    from seeding.demo import seed_demo

    seed_demo()
    db.session.commit()
    established = db.session.scalar(sa.select(sa.func.count(Application.id)).where(Application.state == "established"))
    assert db.session.scalar(sa.select(sa.func.count(FundItem.id))) == established >= 2
    assert db.session.scalar(sa.select(sa.func.count(DisbursementBatch.id))) == 1
    assert seed_demo() == 0
    assert db.session.scalar(sa.select(sa.func.count(DisbursementBatch.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Organisation.id))) > 0


def test_a_payee_edited_while_its_batch_is_submitted_is_refused(app, make_fund):
    """The applicant's request read the batch as a draft; finance submitted it before the edit was written.
    The edit must not land in a submitted batch with its account unchecked."""
    made = make_fund("checked")
    with app.app_context():
        finance = db.session.get(User, make_fund.finance_id[0])
        batch = funds.create_batch([db.session.get(FundItem, made.id)], actor=finance)
        db.session.commit()
        batch_id = batch.id
    with app.app_context():  # the applicant's request
        item = db.session.get(FundItem, made.id)
        contact = db.session.scalar(sa.select(User).filter_by(organisation_id=item.organisation_id))
        assert item.batch.state is BatchState.DRAFT
        with app.app_context():  # finance, at the same moment, in its own connection
            batch = db.session.get(DisbursementBatch, batch_id)
            funds.submit_batch(batch, actor=db.session.get(User, make_fund.finance_id[0]), version=batch.version)
            db.session.commit()
        with pytest.raises(StaleError):
            funds.set_payee(item, Payee("另一个户名", "中国银行通辽分行", "6222 0206 1111 2222"), actor=contact)
    with app.app_context():
        item = db.session.get(FundItem, made.id)
        assert item.payee_checked and item.account_name != "另一个户名"


# ---------------------------------------------------------------- the stage shown (经费进度)

def test_the_stage_shown_follows_the_batch_and_rows_agree_with_items(ctx, make_fund, make_user, monkeypatch):
    """One rule (models.fund.fund_stage): an approved item in a batch shows the batch's progress, not 已核定; the
    lists' rows compute the same stage in SQL as the card does on the item."""
    from models import FundStage

    monkeypatch.setattr("domain.sheets.file_batch_sheet", lambda batch_id: None)  # no render
    finance, zone = _user(make_user, Role.FINANCE), _user(make_user, Role.ZONE_APPROVER)
    pending = db.session.merge(make_fund("pending"))
    loose = db.session.merge(make_fund("approved"))
    drafted, submitted = db.session.merge(make_fund("checked")), db.session.merge(make_fund("checked"))
    approved, paid = db.session.merge(make_fund("checked")), db.session.merge(make_fund("checked"))
    funds.create_batch([drafted], actor=finance)
    waiting = funds.create_batch([submitted], actor=finance)
    funds.submit_batch(waiting, actor=finance, version=waiting.version)
    batch = funds.create_batch([approved, paid], actor=finance)
    funds.submit_batch(batch, actor=finance, version=batch.version)
    funds.approve_batch(batch, actor=zone, version=batch.version)
    funds.record_payment(paid, voucher_number="记-1", paid_on=zone_today(), actor=finance, version=paid.version)
    db.session.flush()
    expected = {pending: FundStage.PENDING, loose: FundStage.APPROVED, drafted: FundStage.IN_BATCH,
                submitted: FundStage.BATCH_SUBMITTED, approved: FundStage.BATCH_APPROVED, paid: FundStage.PAID}
    for item, stage in expected.items():
        assert item.stage is stage and funds.fund_row(item.id).stage is stage, item.id
    assert [FundStage.IN_BATCH.label, FundStage.BATCH_SUBMITTED.label, FundStage.BATCH_APPROVED.label] == [
        "在批次中", "批次待审批", "已审批待拨付"]


# ---------------------------------------------------------------- the payee check record, and sending a payee back

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def _with_payee(make_fund, number="6222 0206 1234 5678"):
    """An approved item whose contact entered its payee; returns (item, contact, finance) in this session."""
    item = db.session.merge(make_fund("approved"))
    contact = db.session.scalar(sa.select(User).where(User.organisation_id == item.organisation_id))
    funds.set_payee(item, Payee(item.organisation.name, "中国工商银行通辽开发区支行", number), actor=contact)
    return item, contact, db.session.get(User, make_fund.finance_id[0])


def test_a_check_against_the_bank_document_records_method_who_when(ctx, make_fund):
    from models import AuditEvent, PayeeCheckMethod

    item, contact, finance = _with_payee(make_fund)
    with pytest.raises(DomainError, match="单位未上传开户许可证或银行回单") as refused:
        funds.check_payee(item, actor=finance, version=item.version, method="document",
                          confirmed=list(funds.PAYEE_FIELDS))
    assert refused.value.field == "bank_document"
    funds.set_payee(item, Payee(item.organisation.name, "中国工商银行通辽开发区支行", "6222020612345678"),
                    actor=contact, document=("开户许可证.png", PNG))
    with pytest.raises(DomainError, match="账号未勾选") as refused:
        funds.check_payee(item, actor=finance, version=item.version, method="document",
                          confirmed=["account_name", "bank_name"])
    assert refused.value.field == "confirmed" and not item.payee_checked
    funds.check_payee(item, actor=finance, version=item.version, method="document",
                      confirmed=list(funds.PAYEE_FIELDS))
    assert item.payee_checked and item.payee_check_method is PayeeCheckMethod.DOCUMENT
    assert item.payee_checked_by_id == finance.id and item.payee_document.filename == "开户许可证.png"
    db.session.commit()  # the audit events are written at the commit
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "fund.payee_check"))
    assert event.data["method"] == "document" and event.data["document"] == item.payee_document_id
    assert sorted(event.data["compared"]) == sorted(funds.PAYEE_FIELDS)


def test_a_check_by_typing_the_account_again_must_match(ctx, make_fund):
    from models import PayeeCheckMethod

    item, _, finance = _with_payee(make_fund)
    for method in ("", "unrecorded", "bogus"):
        with pytest.raises(DomainError, match="请选择核验方式"):
            funds.check_payee(item, actor=finance, version=item.version, method=method)
    ticks = ("account_name", "bank_name")
    with pytest.raises(DomainError, match="两次录入的账号不一致") as refused:
        funds.check_payee(item, actor=finance, version=item.version, method="retyped", confirmed=ticks,
                          retyped_account="6222020612345679")
    assert refused.value.field == "retyped_account" and not item.payee_checked
    with pytest.raises(DomainError, match="开户行未勾选"):
        funds.check_payee(item, actor=finance, version=item.version, method="retyped", confirmed=["account_name"],
                          retyped_account="6222020612345678")
    funds.check_payee(item, actor=finance, version=item.version, method="retyped", confirmed=ticks,
                      retyped_account="6222 0206 1234 5678")
    assert item.payee_check_method is PayeeCheckMethod.RETYPED and item.payee_document is None


def test_finance_uploads_the_document_with_its_check_and_a_bad_file_is_refused_by_the_field(ctx, make_fund):
    item, _, finance = _with_payee(make_fund)
    with pytest.raises(DomainError, match="不是 PDF、JPG 或 PNG") as refused:
        funds.check_payee(item, actor=finance, version=item.version, method="document",
                          confirmed=list(funds.PAYEE_FIELDS), document=("回单.exe", b"MZ\x90\x00"))
    assert refused.value.field == "bank_document"
    funds.check_payee(item, actor=finance, version=item.version, method="document",
                      confirmed=list(funds.PAYEE_FIELDS), document=("银行回单.png", PNG))
    assert item.payee_document.created_by_id == finance.id


def test_a_payee_sent_back_is_told_and_joins_no_batch_until_checked_again(ctx, make_fund):
    item, contact, finance = _with_payee(make_fund)
    funds.check_payee(item, actor=finance, version=item.version, method="retyped",
                      confirmed=("account_name", "bank_name"), retyped_account=item.account_number)
    batch = funds.create_batch([item], actor=finance)
    batch_version = batch.version
    with pytest.raises(DomainError, match="请写明退回理由") as refused:
        funds.return_payee(item, actor=finance, version=item.version, reason="  ")
    assert refused.value.field == "reason"
    left = funds.return_payee(item, actor=finance, version=item.version, reason="开户名与开户许可证不一致")
    # Out of the draft batch, unchecked, and the reason kept for the applicant.
    assert left is batch and item.batch is None and batch.version == batch_version + 1
    assert item.payee_returned and not item.payee_checked and item.payee_return_reason == "开户名与开户许可证不一致"
    assert not item.payee_corrected
    from models import Notification
    told = db.session.scalars(sa.select(Notification).where(Notification.user_id == contact.id)).all()
    assert [n.message for n in told if "退回" in n.message] == ["财务退回了收款账户，请更正后重新保存：开户名与开户许可证不一致"]
    with pytest.raises(DomainError, match="已退回单位更正，须财务重新核验后才能加入批次"):
        funds.add_to_batch(batch, [item], actor=finance, version=batch.version)
    # The applicant corrects it: still sent back (the correction is not the check), now corrected.
    funds.set_payee(item, Payee("更正后的户名", "中国工商银行通辽开发区支行", "6222020612345678"), actor=contact)
    assert item.payee_returned and item.payee_corrected
    with pytest.raises(DomainError, match="须财务重新核验后才能加入批次"):
        funds.add_to_batch(batch, [item], actor=finance, version=batch.version)
    funds.check_payee(item, actor=finance, version=item.version, method="retyped",
                      confirmed=("account_name", "bank_name"), retyped_account="6222020612345678")
    assert not item.payee_returned and item.payee_return_reason == ""
    funds.add_to_batch(batch, [item], actor=finance, version=batch.version)
    assert item.batch_id == batch.id


def test_a_payee_past_the_draft_cannot_be_sent_back_and_only_finance_sends_back(ctx, make_fund, make_user):
    finance = _user(make_user, Role.FINANCE)
    item = db.session.merge(make_fund("checked"))
    with pytest.raises(DomainError, match="只有财务人员"):
        funds.return_payee(item, actor=_user(make_user, Role.ZONE_APPROVER), version=item.version, reason="x")
    batch = funds.create_batch([item], actor=finance)
    funds.submit_batch(batch, actor=finance, version=batch.version)
    with pytest.raises(DomainError, match="不能再退回"):
        funds.return_payee(item, actor=finance, version=item.version, reason="账号错误")


def test_the_database_holds_a_check_to_its_method_and_a_returned_payee_out_of_batches(ctx, make_fund):
    item = db.session.merge(make_fund("checked"))
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        item.payee_check_method = None
        db.session.flush()
    db.session.rollback()
    item = db.session.merge(make_fund("checked"))
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        item.payee_returned_at = item.payee_checked_at
        db.session.flush()


@pytest.mark.parametrize("typed, message", [
    ("1e309", "启动经费须在 1000 元至 3000 元之间"), ("-1e309", "启动经费须在 1000 元至 3000 元之间"),
    ("Infinity", "请填写金额（元），如 2500 或 2500.00"), ("NaN", "请填写金额（元），如 2500 或 2500.00"),
    ("2500.001", "金额最多保留两位小数（到分）"), ("两千", "请填写金额（元），如 2500 或 2500.00"),
])
def test_an_amount_is_read_or_refused_with_a_message(typed, message):
    """Found by the form fuzzer: 1e309 made quantizing to the cent raise (a 500) before the range was checked."""
    from domain.funds import parse_amount

    with pytest.raises(DomainError) as refused:
        parse_amount(typed)
    assert refused.value.message == message
    assert parse_amount("2,500.5") == Decimal("2500.50")
