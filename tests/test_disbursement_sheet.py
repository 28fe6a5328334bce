"""The disbursement sheet (拨付明细表) as an office files it: pages that add up, words that match the figures, the
zone's title, the signatures; measured on the PDF (tests/pdf_measure.py) and read back from the XLSX."""
import re
from datetime import datetime, timezone
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from domain import sheets, workbooks
from domain.documents import party_org_name
from domain.settings import update_settings
from domain.pdf import PdfRenderError
from domain.sheets import PDF_COLUMNS, XLSX_COLUMNS, batch_pdf, batch_xlsx, disbursement_sheet, paginate, plan_pages
from models import (
    Application, BatchState, DisbursementBatch, FundItem, Organisation, PartyOrgKind, Role, User, db,
)
from tests.pdf_measure import measure

LONG_NAME = "通辽经济技术开发区新型工业园区内蒙古自治区某某某某新材料科技股份有限公司第一分公司"
ACCOUNT_25 = "6222021001123456789012345"


def _batch(n: int, *, state: BatchState = BatchState.SUBMITTED, amounts=None, name: str = "甲乙科技有限公司",
           account: str = "622202100112345678", note: str = "", year: int = 2026,
           approved_at: datetime | None = None) -> DisbursementBatch:
    """A batch of n items as the sheet reads them, built in memory and never saved: the sheet's layout does not
    depend on how the items got there, and 200 founded organisations would take the test minutes."""
    items = []
    for k in range(n):
        organisation = Organisation(name=f"{name}{k + 1}" if name else "", credit_code=f"91150500MA0N{k:05d}X")
        application = Application(organisation=organisation, requested_kind=PartyOrgKind.BRANCH_COMMITTEE)
        amount = Decimal(amounts[k]) if amounts else Decimal("1000") + Decimal(k * 7) + Decimal(k % 100) / 100
        items.append(FundItem(organisation=organisation, application=application, amount=amount,
                              party_org_kind=application.requested_kind, account_name=organisation.name,
                              bank_name="中国工商银行股份有限公司通辽经济技术开发区支行", account_number=account,
                              amount_reason=note))
    batch = DisbursementBatch(year=year, serial=3, state=state, items=items)
    if state in (BatchState.APPROVED, BatchState.PAID):
        batch.approved_at = approved_at or datetime(2026, 3, 4, 20, 0, tzinfo=timezone.utc)  # 5 March in the zone
        batch.approved_by = User(name="王审批")
    return batch


def _column(line, label: str) -> str:
    """The text of line that stands in the PDF's column of that label."""
    left = sheets.LAYOUT.margin_side
    for column in PDF_COLUMNS:
        if column.label == label:
            return "".join(c.text for c in line.chars if left <= c.x0 and c.x1 <= left + column.mm)
        left += column.mm
    raise KeyError(label)


def _amount(line) -> Decimal:
    return Decimal(_column(line, "金额").replace(",", ""))


# ---------------------------------------------------------------- rows, pages, sums, words (no rendering)

def test_the_sheet_names_the_zone_the_year_the_compiler_and_each_party_organisation(ctx):
    batch = _batch(2, amounts=["3000", "1500.50"])
    sheet = disbursement_sheet(batch)
    assert sheet.title == "通辽经济技术开发区2026年度新建党组织启动经费拨付明细表"
    assert sheet.compiler == "中共通辽经济技术开发区工作委员会组织部"
    assert [r.party_org for r in sheet.rows] == [party_org_name(i.application) for i in batch.items]
    assert sheet.rows[0].party_org == "中共甲乙科技有限公司1支部委员会"
    assert sheet.total == Decimal("4500.50") and sheet.words == "人民币肆仟伍佰元伍角"
    assert sheet.watermark == "待审批" and sheet.approval == "（待审批）"


def test_the_year_is_that_of_the_approval_and_the_settings_name_the_zone(ctx, make_user):
    admin = db.session.get(User, make_user(Role.ADMIN).id)
    update_settings({"zone_name": "某某经济开发区", "sheet_compiler": "某某财务科"}, actor=admin)
    # Opened in 2026, approved on 2 January 2027 in the zone (18:00 UTC on 1 January).
    batch = _batch(1, state=BatchState.APPROVED, approved_at=datetime(2027, 1, 1, 18, 0, tzinfo=timezone.utc))
    sheet = disbursement_sheet(batch)
    assert sheet.title == "某某经济开发区2027年度新建党组织启动经费拨付明细表" and sheet.compiler == "某某财务科"
    assert sheet.approval == "王审批 2027年1月2日" and sheet.watermark is None
    assert disbursement_sheet(_batch(1, state=BatchState.DRAFT)).watermark == "草稿"


@pytest.mark.parametrize("amount, words", [("3000", "人民币叁仟元整"), ("1000.05", "人民币壹仟元零伍分"),
                                           ("600000", "人民币陆拾万元整")])
def test_totals_in_words(amount, words):
    assert sheets.amount_in_words(Decimal(amount)) == words


def test_pages_are_planned_by_height_with_room_for_the_total_and_signatures():
    assert plan_pages([10] * 5, first=30, later=40, last_extra=0) == [range(0, 3), range(3, 5)]
    # The last page cannot hold its two rows and the 25 mm of total and signatures: its last row goes over.
    assert plan_pages([10] * 5, first=30, later=40, last_extra=25) == [range(0, 3), range(3, 4), range(4, 5)]
    assert plan_pages([50, 10], first=30, later=40, last_extra=0) == [range(0, 1), range(1, 2)]  # too tall: alone
    assert plan_pages([], first=30, later=40, last_extra=25) == [range(0, 0)]


def test_every_page_carries_the_sum_of_the_pages_before_it(ctx):
    sheet = disbursement_sheet(_batch(200))
    pages = paginate(sheet)
    assert len(pages) > 5 and [r for p in pages for r in p.rows] == sheet.rows
    carried = Decimal("0")
    for page in pages:
        assert page.carried == carried and page.subtotal == sum(r.amount for r in page.rows)
        carried += page.subtotal
    assert carried == sheet.total == sum(i.amount for i in _batch(200).items)


def test_long_names_take_more_lines_and_fewer_rows_a_page(ctx):
    short, long = paginate(disbursement_sheet(_batch(60))), paginate(disbursement_sheet(_batch(60, name=LONG_NAME)))
    assert len(long) > len(short)


# ---------------------------------------------------------------- the PDF, measured

@pytest.fixture
def two_page_pdf(app, ctx):
    with app.test_request_context():
        return batch_pdf(_batch(30, name=LONG_NAME, account=ACCOUNT_25, note="经党工委会议研究，按实际需要调整金额"))


def test_the_pdf_has_the_title_compiler_and_signatures_where_they_belong(two_page_pdf):
    pages = measure(two_page_pdf)
    first, last = pages[0], pages[-1]
    assert len(pages) >= 2
    title = first.find("拨付明细表")
    assert title.text == "通辽经济技术开发区2026年度新建党组织启动经费拨付明细表"
    assert abs((title.x0 + title.x1) / 2 - first.width / 2) < 2  # centred
    assert first.has("编制单位：中共通辽经济技术开发区工作委员会组织部") and first.has("单位：元")
    assert not pages[1].has("编制单位") or len(pages) == 1
    for label in ("经办人：", "审核人：", "负责人：", "分管领导：", "单位（盖章）"):
        assert last.has(label) and not any(p.has(label) for p in pages[:-1]), label
    assert last.find("经办人").top > last.find("合计").bottom
    assert last.has("人民币")


def test_no_account_number_is_broken_over_two_lines(two_page_pdf):
    for page in measure(two_page_pdf):
        header = page.find("开户行")
        accounts = [_column(line, "账号") for line in page.lines
                    if line.top > header.bottom and re.search(r"\d", _column(line, "账号"))]
        assert accounts and all(text == ACCOUNT_25 for text in accounts), accounts


def test_each_page_sums_its_rows_and_carries_the_previous_pages(app, ctx):
    batch = _batch(200)
    with app.test_request_context():
        pages = measure(batch_pdf(batch))
    planned = paginate(disbursement_sheet(batch))
    assert len(pages) == len(planned)  # no page overflowed into another
    carried = Decimal("0")
    for n, page in enumerate(pages):
        rows = [l for l in page.lines if _column(l, "序号").isdigit()]
        amounts = [_amount(l) for l in rows]
        assert [int(_column(l, "序号")) for l in rows] == [r.index for r in planned[n].rows]
        if n:
            assert _amount(page.find("承前页")) == carried
        else:
            assert not page.has("承前页")
        assert _amount(page.find("本页小计")) == sum(amounts)
        carried += sum(amounts)
    assert _amount(pages[-1].find("合计")) == carried == sum(i.amount for i in batch.items)
    assert pages[-1].has(sheets.amount_in_words(carried))


def test_a_one_page_sheet_has_its_total_and_no_subtotal(app, ctx):
    with app.test_request_context():
        (page,) = measure(batch_pdf(_batch(3, amounts=["3000", "2000", "1000"])))
    assert _amount(page.find("合计")) == Decimal("6000") and page.has("大写：人民币陆仟元整")
    assert not page.has("本页小计") and not page.has("承前页")


def _watermark(page) -> str:
    return "".join(c.text for c in sorted((c for line in page.lines for c in line.chars if c.size > 60),
                                          key=lambda c: c.x0))


@pytest.mark.parametrize("state, mark", [(BatchState.DRAFT, "草稿"), (BatchState.SUBMITTED, "待审批"),
                                         (BatchState.APPROVED, ""), (BatchState.PAID, "")])
def test_a_watermark_until_the_zone_approves(app, ctx, state, mark):
    with app.test_request_context():
        pages = measure(batch_pdf(_batch(30, state=state)))
    assert len(pages) >= 2 and all(_watermark(p) == mark for p in pages)


def test_dates_are_written_without_leading_zeros(app, ctx):
    with app.test_request_context():
        (page,) = measure(batch_pdf(_batch(1, state=BatchState.APPROVED)))
    assert page.has("审批：王审批2026年3月5日") and not page.has("03月")



# ---------------------------------------------------------------- text the estimate cannot know

def _one_long_note(n: int) -> DisbursementBatch:
    batch = _batch(n)
    batch.items[n // 2].amount_reason = "经党工委会议研究" * 37 + "核定"  # 300 characters, the column's most
    return batch


# Each case beat the estimated plan before the layout was checked: a glyph the fallback font draws 1.8 em wide
# where the estimate counts 0.9 (U+2031, U+1676), and notes of 300 characters.
HOSTILE = {
    "per-ten-thousand signs": lambda: _batch(12, name="‱" * 30),
    "Canadian syllabics": lambda: _batch(12, name="ᙶ" * 30),
    "three 300-character notes": lambda: _batch(3, note="经党工委会议研究，" * 33 + "核定金"),
    "one 300-character note": lambda: _one_long_note(30),
}


def _assert_each_page_adds_up(pdf: bytes, batch: DisbursementBatch) -> list:
    """Every page with rows ends with its 本页小计 (the last also with 合计), every page after the first starts
    with 承前页 carrying the rows of the pages before it, and each row is printed once, in order."""
    pages = measure(pdf)
    many = len(pages) > 1
    carried, printed = Decimal("0"), []
    for n, page in enumerate(pages):
        rows = [l for l in page.lines if _column(l, "序号").isdigit()]
        assert rows, f"page {n + 1} has no row"
        amounts = [_amount(l) for l in rows]
        printed += [int(_column(l, "序号")) for l in rows]
        if n:
            carry = page.find("承前页")
            assert carry.bottom < rows[0].top and _amount(carry) == carried, (n + 1, page.text)
        else:
            assert not page.has("承前页")
        if many:
            subtotal = page.find("本页小计")
            assert subtotal.top > rows[-1].bottom and _amount(subtotal) == sum(amounts), (n + 1, page.text)
            assert f"（{len(rows)}笔）" in subtotal.text  # measure() reads no spaces
        else:
            assert not page.has("本页小计")
        carried += sum(amounts)
        assert page.has("合计") == (n == len(pages) - 1)
    assert printed == list(range(1, len(batch.items) + 1))
    total = pages[-1].find("合计")
    assert total.top > max(l.bottom for l in pages[-1].lines if _column(l, "序号").isdigit())
    assert _amount(total) == carried == sum(i.amount for i in batch.items)
    return pages


@pytest.fixture
def layouts(monkeypatch):
    """How many times WeasyPrint laid a document out, in this process or a render's child (forked: the counter
    is in memory both share)."""
    import multiprocessing

    from domain import pdf
    count = multiprocessing.get_context("fork").Value("i", 0)
    real = pdf.HTML

    class Counted(real):
        def render(self, *args, **kwargs):
            with count.get_lock():
                count.value += 1
            return real.render(self, *args, **kwargs)

    monkeypatch.setattr(pdf, "HTML", Counted)
    return count


@pytest.mark.parametrize("case", HOSTILE)
def test_each_planned_page_is_one_printed_page_whatever_the_text(app, ctx, layouts, case):
    batch = HOSTILE[case]()
    with app.test_request_context():
        pdf = batch_pdf(batch)
    _assert_each_page_adds_up(pdf, batch)
    assert layouts.value <= 2  # the estimate's plan, and at most one from the measured heights


def test_a_sheet_the_estimate_plans_right_is_laid_out_once(app, ctx, layouts):
    batch = _batch(40, name=LONG_NAME, note="经党工委会议研究，按实际需要调整金额")
    with app.test_request_context():
        pages = _assert_each_page_adds_up(batch_pdf(batch), batch)
    assert layouts.value == 1 and len(pages) == len(paginate(disbursement_sheet(batch)))


def test_a_long_note_is_cut_with_an_ellipsis_in_the_pdf_only(app, ctx):
    batch = _one_long_note(3)
    note = batch.items[1].amount_reason
    with app.test_request_context():
        (page,) = measure(batch_pdf(batch))
        ws = load_workbook(BytesIO(batch_xlsx(batch))).active
    assert ws.cell(5, 10).value == note  # all of it in the XLSX
    row = page.find("1,007.01")
    printed = "".join(_column(l, "备注") for l in page.lines if row.top - 25 < l.top < row.bottom + 25)
    assert printed.endswith("…") and note.startswith(printed[:-1])
    assert len(printed) - 1 == len(disbursement_sheet(batch).rows[1].printed_note(sheets.LAYOUT)) - 1 < len(note)


def test_no_cell_prints_more_lines_than_a_page_holds(ctx):
    """The estimate is capped where the style sheet cuts: a row of the longest texts fits a page even alone with
    the total and the signatures; the 备注 is cut with "…" to its few lines."""
    layout = sheets.LAYOUT
    batch = _batch(1, name="通" * 100, note="核" * 300)
    item = batch.items[0]
    item.account_name = item.bank_name = "通" * 100
    sheet = disbursement_sheet(batch)
    (row,) = sheet.rows
    assert sheets.row_height(row) <= sheets.page_rooms(sheet).tightest
    assert layout.cell_lines * layout.line + 2 * layout.pad + layout.rule <= sheets.page_rooms(sheet).tightest
    note = row.printed_note(layout)
    assert note.endswith("…") and sheets.text_lines(note, PDF_COLUMNS[-1].mm, layout.font_pt) == layout.note_lines
    assert row.printed_note(layout)[:-1] + "核" != note and len(note) < 300
    short = _batch(1, note="按实际需要调整").items[0].amount_reason
    assert disbursement_sheet(_batch(1, note=short)).rows[0].printed_note(layout) == short


def test_a_row_taller_than_a_page_is_refused_not_printed(app, ctx):
    # The style sheet's cut is what keeps a row within a page: without it, a 300-character note is taller.
    tall = sheets.Layout(note_lines=300)
    with app.test_request_context(), pytest.raises(PdfRenderError, match="第 2 笔（甲乙科技有限公司2）一行高于一页"):
        batch_pdf(_one_long_note(3), layout=tall)


# ---------------------------------------------------------------- the XLSX, read back

@pytest.fixture
def workbook(app, ctx):
    batch = _batch(40, name=LONG_NAME, account=ACCOUNT_25)
    with app.test_request_context():
        return batch, load_workbook(BytesIO(batch_xlsx(batch))).active


def test_the_xlsx_prints_on_a4_landscape_at_full_size(workbook):
    _, ws = workbook
    assert int(ws.page_setup.paperSize) == 9 and ws.page_setup.orientation == "landscape"
    assert not ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.scale in (None, 100)
    widths = [ws.column_dimensions[chr(ord("A") + n)].width for n in range(len(XLSX_COLUMNS))]
    assert widths == [units for _, units in XLSX_COLUMNS]
    # Printed at 100 %: every column's pixels at 96 to the inch, within the paper less the side margins.
    printed = sum(int(w * workbooks.DIGIT_PX) for w in widths) * 25.4 / 96
    room = 297 - (ws.page_margins.left + ws.page_margins.right) * 25.4
    assert printed <= room, (printed, room)
    assert ws.oddFooter.center.text == "第 &P 页，共 &N 页"
    assert ws.print_title_rows == "$3:$3" and ws.freeze_panes == "A4"


def test_the_xlsx_sets_every_cell_in_one_cjk_font(workbook):
    _, ws = workbook
    fonts = {c.font.name for row in ws.iter_rows() for c in row if c.value is not None}
    assert fonts == {workbooks.CJK_FONT}


def test_the_xlsx_has_title_compiler_unit_columns_and_signatures(workbook):
    batch, ws = workbook
    assert ws["A1"].value == "通辽经济技术开发区2026年度新建党组织启动经费拨付明细表"
    assert ws["A2"].value == "编制单位：中共通辽经济技术开发区工作委员会组织部" and ws["J2"].value == "单位：元"
    assert [c.value for c in ws[3]] == ["序号", "单位名称", "党组织名称", "统一社会信用代码", "开户名", "开户行", "账号",
                                        "金额", "金额大写", "备注"]
    body = list(ws.iter_rows(min_row=4, max_row=3 + len(batch.items), values_only=True))
    assert [r[2] for r in body] == [party_org_name(i.application) for i in batch.items]
    assert all(r[6] == ACCOUNT_25 for r in body)  # text, all 25 digits
    values = [c.value for row in ws.iter_rows(min_row=4 + len(batch.items)) for c in row if c.value]
    for label in ("经办人：", "审核人：", "负责人：", "分管领导：", "单位（盖章）："):
        assert label in values


def test_the_xlsx_words_say_what_its_sum_adds_up(workbook):
    batch, ws = workbook
    first, last = 4, 3 + len(batch.items)
    total_row = last + 1
    assert ws.cell(total_row, 8).value == f"=SUM(H{first}:H{last})"
    added = sum(Decimal(str(ws.cell(r, 8).value)) for r in range(first, last + 1))
    assert ws.cell(total_row, 9).value == sheets.amount_in_words(added) == sheets.amount_in_words(batch.total)


# ---------------------------------------------------------------- workbooks.setup_print, for any export

def test_setup_print_sets_one_cjk_font_and_keeps_bold_and_the_title_size():
    wb = Workbook()
    ws = wb.active
    ws.append([None])
    ws.append(["名称", "数量"])
    ws.append(["甲公司", 3])
    workbooks.write_title(ws, "某某表", columns=2)
    ws["A2"].font = Font(bold=True)  # a header set bold in the default font
    workbooks.setup_print(ws, landscape=False, header_row=2, widths=[20, 10])
    ws = load_workbook(BytesIO(_saved(wb))).active
    assert {(c.coordinate, c.font.name, c.font.sz, bool(c.font.b)) for c in (ws["A1"], ws["A2"], ws["B3"])} == {
        ("A1", "宋体", workbooks.TITLE_SIZE, True), ("A2", "宋体", workbooks.BODY_SIZE, True),
        ("B3", "宋体", workbooks.BODY_SIZE, False)}
    assert ws.page_setup.orientation == "portrait" and ws.print_title_rows == "$2:$2" and ws.freeze_panes == "A3"


def test_setup_print_refuses_columns_wider_than_the_paper():
    ws = Workbook().active
    room = workbooks.printable_width_mm(landscape=False)  # 197.3 mm: 745 pixels, 106 units of 7
    with pytest.raises(ValueError, match="mm wide"):
        workbooks.setup_print(ws, landscape=False, header_row=1, widths=[60, 50])
    workbooks.setup_print(ws, landscape=False, header_row=1, widths=[60, 46])
    assert workbooks.columns_width_mm([60, 46]) <= room


def _saved(wb) -> bytes:
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
