"""The disbursement sheet (拨付明细表) of a batch, as XLSX for the accounts and as PDF to sign and file."""
import logging
import math
import unicodedata
from dataclasses import asdict, dataclass
from datetime import timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any

import cn2an
import sqlalchemy as sa
from flask import current_app
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Side
from sqlalchemy.orm import Session

from jobs.queue import crontab, periodic, task
from models import CENT, Application, BatchState, DisbursementBatch, StoredFile, db, utcnow

from .documents import chinese_date, party_org_name
from .files import keep_file
from .pdf import PdfRenderError, html_to_pdf
from .settings import get_settings
from .workbooks import cjk_font, keep_as_text, setup_print, write_title
from .zone_time import local_date

log = logging.getLogger(__name__)

YUAN_FORMAT = '"¥"#,##0.00'
TITLE = "新建党组织启动经费拨付明细表"
SIGNERS = ("经办人", "审核人", "负责人", "分管领导")


@dataclass(frozen=True)
class Column:
    label: str
    mm: float  # of the PDF's 269-mm line (A4 landscape between 14-mm margins)
    kind: str  # text: wraps anywhere; account: 8 pt, never wraps; num: right, never wraps; index: centred


# The PDF prints the credit code under the organisation's name, in one cell: ten columns do not fit the page
# at a size that reads. The account column holds 30 digits (the most set_payee takes) at 8 pt, 0.555 em each:
# 47.0 mm inside its padding.
PDF_COLUMNS = (
    Column("序号", 9, "index"),
    Column("单位名称", 36, "text"),  # and 统一社会信用代码 on a line of its own
    Column("党组织名称", 38, "text"),
    Column("开户名", 34, "text"),
    Column("开户行", 34, "text"),
    Column("账号", 50, "account"),
    Column("金额", 20, "num"),
    Column("金额大写", 24, "text"),
    Column("备注", 24, "text"),
)
# The XLSX keeps one value to a cell, for the accounts to sort and import; widths in Excel's units
# (workbooks.DIGIT_PX pixels each): the code's 18 characters and the account's 30 digits each on one line.
XLSX_COLUMNS = (("序号", 5), ("单位名称", 15), ("党组织名称", 17), ("统一社会信用代码", 19), ("开户名", 14),
                ("开户行", 14), ("账号", 31), ("金额", 13), ("金额大写", 11), ("备注", 10))
AMOUNT_COLUMN = 8  # 1-based, in the XLSX
ACCOUNT_COLUMN = 7
WRAPPED = {2, 3, 5, 6, 9, 10}  # the XLSX's columns of text that may take more than a line


def capital_amount(amount: Decimal) -> str:
    """The amount in capital characters (金额大写) as written on finance documents: 叁仟元整."""
    return cn2an.an2cn(format(Decimal(amount).quantize(CENT), "f"), "rmb")


def amount_in_words(amount: Decimal) -> str:
    """A total as the sheet writes it in words: 人民币叁仟元整."""
    return "人民币" + capital_amount(amount)


@dataclass
class SheetRow:
    index: int
    name: str
    party_org: str
    credit_code: str
    account_name: str
    bank_name: str
    account_number: str
    amount: Decimal
    capital: str
    note: str

    def printed_note(self, layout: "Layout") -> str:
        """The note as the PDF prints it: layout.note_lines lines at most, cut with "…"."""
        return clip_lines(self.note, PDF_COLUMNS[-1].mm, layout.note_lines, layout)

    def cells(self) -> tuple:
        """The row's values in the order of XLSX_COLUMNS."""
        return (self.index, self.name, self.party_org, self.credit_code, self.account_name, self.bank_name,
                self.account_number, self.amount, self.capital, self.note)


@dataclass
class SheetPage:
    """One printed page of the PDF sheet: its rows, and the sum of the pages before it (承前页)."""
    rows: list[SheetRow]
    carried: Decimal

    @property
    def subtotal(self) -> Decimal:
        """本页小计."""
        return sum((r.amount for r in self.rows), Decimal("0.00"))


@dataclass
class Sheet:
    """Everything both files print, computed once from the batch."""
    title: str
    compiler: str  # 编制单位
    number: str
    approval: str  # "张三 2026年3月5日", or "（待审批）"
    watermark: str | None  # 草稿 or 待审批 until the zone approves; None after
    rows: list[SheetRow]
    total: Decimal
    words: str  # the total: 人民币…元整


def sheet_rows(batch: DisbursementBatch) -> list[SheetRow]:
    """The batch's items as the sheet's rows, numbered from 1."""
    items = batch.items
    # Each row names its Party organisation from its application: all of them in one query, not one per row.
    ids = [i.application_id for i in items if i.application_id is not None]
    applications = {a.id: a for a in db.session.scalars(sa.select(Application).where(Application.id.in_(ids)))}
    return [SheetRow(n, i.organisation.name, party_org_name(applications.get(i.application_id) or i.application),
                     i.organisation.credit_code, i.account_name, i.bank_name, i.account_number, i.amount,
                     capital_amount(i.amount), i.amount_reason)
            for n, i in enumerate(items, start=1)]


def disbursement_sheet(batch: DisbursementBatch) -> Sheet:
    """The sheet of a batch (拨付明细表): title with the zone's name and year, 编制单位, rows, total in words."""
    settings = get_settings()
    approved = batch.state in (BatchState.APPROVED, BatchState.PAID)
    approved_on = local_date(batch.approved_at) if batch.approved_at else None
    # The year of the funds is the year the zone approved their payment; a batch not yet approved has the year
    # it was opened in, that of its number.
    year = approved_on.year if approved_on else batch.year
    rows = sheet_rows(batch)
    total = sum((r.amount for r in rows), Decimal("0.00"))
    signed = approved and batch.approved_by and approved_on
    approval = f"{batch.approved_by.name} {chinese_date(approved_on)}" if signed else "（待审批）"
    return Sheet(title=f"{settings['zone_name']}{year}年度{TITLE}", compiler=settings["sheet_compiler"],
                 number=batch.number, approval=approval, watermark=None if approved else batch.state.label,
                 rows=rows, total=total, words=amount_in_words(total))


# ---------------------------------------------------------------- XLSX

def batch_xlsx(batch: DisbursementBatch) -> bytes:
    """The batch as an XLSX workbook that prints as the PDF does: title, 编制单位, header, one row per item, a SUM
    total with the same total in words, signature rows; on A4 landscape at 100 %."""
    sheet = disbursement_sheet(batch)
    wb = Workbook()
    ws = wb.active
    ws.title = batch.number
    width = len(XLSX_COLUMNS)
    write_title(ws, sheet.title, columns=width)
    ws.append([f"编制单位：{sheet.compiler}", None, None, None, f"批次编号：{sheet.number}", None,
               f"审批：{sheet.approval}", None, None, "单位：元"])
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=4)
    ws.merge_cells(start_row=2, start_column=5, end_row=2, end_column=6)
    ws.merge_cells(start_row=2, start_column=7, end_row=2, end_column=9)
    for cell in ws[2]:
        keep_as_text(cell)
    ws.cell(2, width).alignment = Alignment(horizontal="right")
    header = 3
    ws.append([label for label, _ in XLSX_COLUMNS])
    for cell in ws[header]:
        cell.font = cjk_font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    wrap = Alignment(vertical="center", wrap_text=True)
    for r in sheet.rows:
        ws.append(list(r.cells()))
        for cell in ws[ws.max_row]:
            keep_as_text(cell)
            if cell.column in WRAPPED:
                cell.alignment = wrap
    first, last = header + 1, header + len(sheet.rows)
    amount = ws.cell(header, AMOUNT_COLUMN).column_letter
    # The words are written from the Decimal sum of the rows the formula adds up, so the two cannot disagree.
    ws.append([f"合计（{len(sheet.rows)} 笔）", *[None] * (AMOUNT_COLUMN - 2),
               f"=SUM({amount}{first}:{amount}{last})" if sheet.rows else 0, sheet.words])
    total_row = ws.max_row
    ws.merge_cells(start_row=total_row, start_column=1, end_row=total_row, end_column=AMOUNT_COLUMN - 1)
    ws.merge_cells(start_row=total_row, start_column=AMOUNT_COLUMN + 1, end_row=total_row, end_column=width)
    for cell in ws[total_row]:
        cell.font = cjk_font(bold=True)
    ws.cell(total_row, 1).alignment = Alignment(horizontal="center")
    thin = Side(style="thin")
    for row in ws.iter_rows(min_row=header, max_row=total_row, max_col=width):
        for cell in row:
            cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for row in range(first, total_row + 1):
        ws.cell(row, AMOUNT_COLUMN).number_format = YUAN_FORMAT
        ws.cell(row, ACCOUNT_COLUMN).number_format = "@"  # account numbers are text: no 1.23E+18
    ws.append([])
    # Signature rows: a label in every other pair of columns, the space to sign beside it.
    ws.append(["经办人：", None, "审核人：", None, "负责人：", None, "分管领导："])
    ws.append([])
    ws.append([None, None, None, None, "单位（盖章）：", None, None, "日期：　　年　　月　　日"])
    sign = ws.max_row - 2
    for row in (sign, sign + 2):
        ws.row_dimensions[row].height = 24
    setup_print(ws, landscape=True, header_row=header, widths=[units for _, units in XLSX_COLUMNS])
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- PDF

@dataclass(frozen=True)
class Layout:
    """The PDF's measures, in mm and pt: the style sheet is written from these, and the pages are planned by them.
    WeasyPrint has no per-page sums, so the rows are cut into pages here, each with its own table, 承前页 at the
    top of every page after the first and 本页小计 at the bottom; for that, no page may overflow into another.
    The plan estimates each row's height from its characters; batch_pdf then checks where the pages really
    ended, and plans once more from the heights the layout measured where the estimate fell short."""
    margin_top: float = 18
    margin_side: float = 14
    margin_bottom: float = 20
    font_pt: float = 9
    code_pt: float = 8
    line: float = 4.0  # every line box of the table, whatever its text
    pad: float = 1.2  # a cell's padding, each side
    rule: float = 0.21  # 0.6 pt
    head: float = 18  # the title and the 编制单位 line, first page only
    sign: float = 30  # the signature block, last page only
    slack: float = 4  # what the estimate may be short by
    # The most lines a cell prints (the style sheet discards the rest), so that a row of any text fits on any
    # page, even alone with the total and the signatures; a name has its credit code under it in one of them.
    cell_lines: int = 22
    note_lines: int = 8  # a longer 备注 is cut with "…": the XLSX and the app have all of it

    @property
    def body(self) -> float:
        return 210 - self.margin_top - self.margin_bottom


LAYOUT = Layout()
PT_MM = 25.4 / 72
PX_MM = 25.4 / 96  # WeasyPrint's CSS pixel, the unit of its anchors


def _em(ch: str) -> float:
    """A character's advance in em, rounded up, in Noto Sans CJK SC: CJK and full-width forms 1, digits 0.555,
    other ASCII at most 0.9 (W is 0.878)."""
    if "0" <= ch <= "9":
        return 0.555
    if ch < "\x7f":
        return 0.9
    return 1.0 if unicodedata.east_asian_width(ch) in "WFA" else 0.9


def text_lines(text: str, width_mm: float, pt: float, layout: Layout = LAYOUT) -> int:
    """How many lines text takes in a cell width_mm wide, broken anywhere (word-break: break-all), with one em
    to spare on each line for the characters that may not end or begin one (（ and ）, ，and 。)."""
    room = width_mm - 2 * layout.pad - pt * PT_MM
    lines, used = 1, 0.0
    for ch in str(text):
        advance = _em(ch) * pt * PT_MM
        if used and used + advance > room:
            lines, used = lines + 1, 0.0
        used += advance
    return lines


def clip_lines(text: str, width_mm: float, lines: int, layout: Layout = LAYOUT) -> str:
    """text as a cell width_mm wide prints it in at most `lines` lines by the estimate: all of it, or as much as
    leaves room for "…" after it. (WeasyPrint's own ellipsis needs a word to end, which a run of 汉字 has not.)"""
    if text_lines(text, width_mm, layout.font_pt, layout) <= lines:
        return text
    fits, too_long = 0, len(text)  # text[:fits] + "…" takes `lines` lines or fewer, text[:too_long] + "…" more
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        if text_lines(text[:middle] + "…", width_mm, layout.font_pt, layout) <= lines:
            fits = middle
        else:
            too_long = middle
    return text[:fits] + "…"


def row_height(row: SheetRow, layout: Layout = LAYOUT) -> float:
    """The estimated height of a row of the PDF's table: its tallest cell's lines (the name's cell has the code
    under it), none more than the style sheet prints."""
    name, party, account_name, bank, _, _, capital, note = (c.mm for c in PDF_COLUMNS[1:])

    def lines(text: str, width_mm: float, most: int = layout.cell_lines) -> int:
        return min(text_lines(text, width_mm, layout.font_pt, layout), most)

    tallest = max(lines(row.name, name, layout.cell_lines - 1) + 1, lines(row.party_org, party),
                  lines(row.account_name, account_name), lines(row.bank_name, bank), lines(row.capital, capital),
                  lines(row.printed_note(layout), note, layout.note_lines))
    return tallest * layout.line + 2 * layout.pad + layout.rule


def plan_pages(heights: list[float], *, first: float, later: float, last_extra: float) -> list[range]:
    """Cut rows of these heights into pages: the first page holds `first` mm of rows, the others `later`, and the
    last must also hold `last_extra` (the total and the signatures). A row taller than a page gets one alone."""
    pages, start, used, room = [], 0, 0.0, first
    for n, height in enumerate(heights):
        if n > start and used + height > room:
            pages.append(range(start, n))
            start, used, room = n, 0.0, later
        used += height
    if heights and used + last_extra > room and len(heights) - start > 1:
        # The total and signatures would not fit under the last rows: the last row goes over with them, so that
        # the signed page is never without a row.
        pages.append(range(start, len(heights) - 1))
        start = len(heights) - 1
    pages.append(range(start, len(heights)))
    return pages


@dataclass(frozen=True)
class Rooms:
    """The mm of rows a page of the sheet holds."""
    first: float
    later: float
    last_extra: float  # what the last page holds besides its rows: the total and the signatures

    @property
    def tightest(self) -> float:
        """The tallest row that fits on every page: alone on the first and last, as in a sheet of one row."""
        return self.first - self.last_extra


def page_rooms(sheet: Sheet, layout: Layout = LAYOUT) -> Rooms:
    """What each page of this sheet has room for, once its header, 承前页 and 本页小计 are in."""
    one_line = 1 * layout.line + 2 * layout.pad + layout.rule
    header = 2 * layout.line + 2 * layout.pad + layout.rule  # 单位名称 over 统一社会信用代码
    words = text_lines("大写：" + sheet.words, sum(c.mm for c in PDF_COLUMNS[2:6]), layout.font_pt, layout)
    total = words * layout.line + 2 * layout.pad + layout.rule
    # Every page: its header, 承前页 (not on the first), 本页小计; the first also the title, the last the total.
    room = layout.body - layout.slack - header - one_line
    return Rooms(first=room - layout.head, later=room - one_line, last_extra=total + layout.sign)


def paginate(sheet: Sheet, layout: Layout = LAYOUT, heights: list[float] | None = None) -> list[SheetPage]:
    """The sheet's rows on pages that do not overflow, each page with the sum of the pages before it; planned
    from the rows' estimated heights, or from those given (mm, as a layout measured them)."""
    rooms = page_rooms(sheet, layout)
    if heights is None:
        heights = [row_height(r, layout) for r in sheet.rows]
    ranges = plan_pages(heights, first=rooms.first, later=rooms.later, last_extra=rooms.last_extra)
    pages, carried = [], Decimal("0.00")
    for span in ranges:
        page = SheetPage(sheet.rows[span.start:span.stop], carried)
        pages.append(page)
        carried += page.subtotal
    return pages


def printed_as_planned(pages: list[SheetPage], printed) -> bool:
    """Whether each planned page is exactly one page of the layout (WeasyPrint's pages): as many of them, each
    with the start and the end of its own <section> (ids page-N and page-N-end) and so every row between."""
    return len(printed) == len(pages) and all({f"page-{n}", f"page-{n}-end"} <= page.anchors.keys()
                                              for n, page in enumerate(printed, start=1))


def measured_heights(sheet: Sheet, printed) -> list[float]:
    """Each row's height in mm as the layout set it: the box of its 序号 cell (id row-N; every cell of a row is as
    tall as the row), whose anchor WeasyPrint gives as (left, top, right, bottom). A row broken over two pages is
    infinitely tall: no page holds it."""
    heights: dict[int, float] = {}
    for page in printed:
        for name, (_, top, _, bottom) in page.anchors.items():
            if name.startswith("row-"):
                index = int(name.removeprefix("row-"))
                heights[index] = math.inf if index in heights else (bottom - top) * PX_MM
    return [heights[r.index] for r in sheet.rows]


def batch_pdf(batch: DisbursementBatch, layout: Layout = LAYOUT) -> bytes:
    """The batch as a signed-and-filed PDF (WeasyPrint): a table per page with 承前页 and 本页小计, the total in
    words and the signatures on the last; 草稿/待审批 across every page until the zone approves."""
    return sheet_pdf(disbursement_sheet(batch), layout)


def sheet_pdf(sheet: Sheet, layout: Layout = LAYOUT) -> bytes:
    """A sheet as its PDF (batch_pdf).

    The pages are planned by estimate and laid out; if a planned page did not come out as one printed page (a
    font drew some character wider than estimated), they are planned again from the heights the layout
    measured, laid out once more and checked again. What still does not hold is refused, never filed with its
    subtotals on the wrong pages."""
    # Jinja alone, not render_template: a second plan is rendered in the forked child, which must not run the
    # app's context processors (a query there would use the parent's database connection).
    template = current_app.jinja_env.get_template("pdf/batch_sheet.html")
    plans = [paginate(sheet, layout)]

    def html(pages: list[SheetPage]) -> str:
        return template.render(sheet=sheet, pages=pages, layout=layout, columns=PDF_COLUMNS, signers=SIGNERS)

    def relayout(printed) -> str | None:
        if printed_as_planned(plans[-1], printed):
            return None
        if len(plans) > 1:
            raise PdfRenderError("拨付明细表按实测行高重新分页后仍有一页排不下，未生成；请联系系统管理员。")
        heights = measured_heights(sheet, printed)
        tightest = page_rooms(sheet, layout).tightest
        for row, height in zip(sheet.rows, heights):
            if height > tightest:
                raise PdfRenderError(f"拨付明细表第 {row.index} 笔（{row.name[:20]}）一行高于一页，无法分页，"
                                     "未生成；请核对该笔的单位名称、开户名、开户行和备注。")
        plans.append(paginate(sheet, layout, heights))
        return html(plans[-1])

    # Two calls of relayout at most: one that may plan again, one that checks the second layout.
    return html_to_pdf(html(plans[0]), in_child=True, relayout=relayout, relayouts=2)


# The sheet of a batch the zone approves (funds.approve_batch) is filed with it, as the 批复 is: what finance prints,
# signs and files is what was approved, byte for byte, whatever the registry later does to an organisation's name;
# and no download waits for the render (1.7 s for 200 rows on the bench's machine, 2.5 s on a slow day). The approval
# keeps what the sheet says (a few milliseconds); the render, which nobody waits for, is a task run after the commit
# (file_batch_sheet), so that neither the zone's click nor the batch's row waits for it. Until it is filed the
# batch's page says the sheet is being prepared and offers no PDF link; a render refused (a row taller than a page)
# is written on the batch (sheet_error) and fails the task, which the admin may run again (后台任务).

SHEET_BEING_PREPARED = "拨付明细表（PDF）正在生成，通常几秒钟即可完成；请稍后刷新本页再下载。"
_TO_FILE = "batch_sheets_to_file"


def sheet_as_data(sheet: Sheet) -> dict[str, Any]:
    """A sheet as JSON, to be rendered later exactly as it is now (sheet_from_data)."""
    data = asdict(sheet)
    data["total"] = str(sheet.total)
    for row in data["rows"]:
        row["amount"] = str(row["amount"])
    return data


def sheet_from_data(data: dict[str, Any]) -> Sheet:
    rows = [SheetRow(**{**row, "amount": Decimal(row["amount"])}) for row in data["rows"]]
    return Sheet(**{**data, "rows": rows, "total": Decimal(data["total"])})


def keep_approved_sheet(batch: DisbursementBatch) -> None:
    """Keep the sheet of a batch whose approval is set on it but not yet written, and file its PDF once the approval
    is committed. Nothing is flushed while it is read, so the approval's UPDATE stays the last statement."""
    with db.session.no_autoflush:
        batch.sheet_data, batch.sheet_error = sheet_as_data(disbursement_sheet(batch)), ""
    db.session.info.setdefault(_TO_FILE, []).append(batch.id)


def sheet_refusal(batch: DisbursementBatch) -> str | None:
    """Why the batch's PDF sheet cannot be downloaded now: being prepared, or refused; None when it can."""
    if not batch.sheet_pending:
        return None
    if batch.sheet_error:
        return f"拨付明细表（PDF）未能生成：{batch.sheet_error}（XLSX 可照常下载；请系统管理员在“后台任务”中重新执行）"
    return SHEET_BEING_PREPARED


@task("拨付明细表：生成并存档 PDF")
def file_batch_sheet(batch_id: int) -> None:
    file_approved_sheet(batch_id)


def file_approved_sheet(batch_id: int) -> bool:
    """Render an approved batch's sheet as it was kept at the approval, sign it (domain/signing.py, no visible field:
    the sheet is signed by hand in its boxes) and file the PDF (存档拨付明细表). Idempotent:
    a sheet filed already, by this task before or by another consumer now, is left as it is. False when nothing was
    filed; a refused render is written on the batch and raised, so that the task's run says so."""
    batch = db.session.get(DisbursementBatch, batch_id)
    if batch is None or not batch.sheet_pending:
        return False
    sheet, approver, number = sheet_from_data(batch.sheet_data), batch.approved_by, batch.number
    db.session.commit()  # nothing is held while it renders
    from .signing import SigningError, sign  # here, not at the top: see domain/signing.py

    try:
        pdf = sign(sheet_pdf(sheet))
    except (PdfRenderError, SigningError) as error:
        _settle(batch_id, sheet_error=str(error)[:DisbursementBatch.sheet_error.type.length])
        raise
    stored = keep_file(f"拨付明细表-{number}.pdf", "application/pdf", pdf, actor=approver)
    db.session.flush()
    return _settle(batch_id, sheet_file_id=stored.id, sheet_error="")


def _settle(batch_id: int, **values: Any) -> bool:
    # Guarded: of two renders at once, the first files its PDF and the second changes nothing, its file rolled back.
    done = db.session.execute(sa.update(DisbursementBatch).where(
        DisbursementBatch.id == batch_id, DisbursementBatch.sheet_file_id.is_(None)).values(**values)
        .execution_options(synchronize_session=False)).rowcount
    if done:
        db.session.commit()
    else:
        db.session.rollback()
    return bool(done)


@periodic(crontab(minute="*/5"), "拨付明细表：补存档未生成的 PDF")
def file_missing_sheets() -> None:
    """File the sheets whose task was lost (a consumer killed, the queue down at the approval); not the refused ones,
    which wait for the admin."""
    ids = db.session.scalars(sa.select(DisbursementBatch.id).where(
        DisbursementBatch.sheet_data.is_not(None), DisbursementBatch.sheet_file_id.is_(None),
        DisbursementBatch.sheet_error == "", DisbursementBatch.approved_at < utcnow() - timedelta(minutes=2))).all()
    db.session.commit()
    for batch_id in ids:
        file_batch_sheet(batch_id)


# Enqueued after the commit, never before: the task would find the approval not yet written, or one rolled back.
@sa.event.listens_for(Session, "after_commit")
def _file_committed(session: Session) -> None:
    for batch_id in session.info.pop(_TO_FILE, []):
        try:
            file_batch_sheet(batch_id)
        except Exception:  # the approval is committed and must say so; the sheet is filed by file_missing_sheets
            log.exception("the sheet of batch %s not filed now; the sweep will file it", batch_id)


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_TO_FILE, None)


def filed_sheet(batch: DisbursementBatch) -> bytes | None:
    """The filed PDF of an approved batch; None for a draft, a submitted batch, or one approved before sheets
    were filed (their sheet is rendered on download). Reads the bytes alone, not the file's row and the batch's."""
    if batch.sheet_file_id is None:
        return None
    return db.session.scalar(sa.select(StoredFile.data).where(StoredFile.id == batch.sheet_file_id))
