"""The disbursement sheet (拨付明细表) of a batch, as XLSX for the accounts and as PDF to sign and file."""
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO

import cn2an
import sqlalchemy as sa
from flask import render_template
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from models import CENT, DisbursementBatch, StoredFile, User, db

from . import DomainError
from .files import keep_file
from .pdf import PdfRenderError, html_to_pdf

COLUMNS = [("序号", 6), ("组织名称", 30), ("统一社会信用代码", 22), ("组织类别", 14), ("开户名", 28),
           ("开户行", 28), ("账号", 26), ("金额", 14), ("金额大写", 26), ("备注", 18)]
YUAN_FORMAT = '"¥"#,##0.00'
TITLE = "开发区新建党组织启动经费拨付明细表"


def capital_amount(amount: Decimal) -> str:
    """The amount in capital characters (金额大写) as written on finance documents: 叁仟元整."""
    return cn2an.an2cn(format(Decimal(amount).quantize(CENT), "f"), "rmb")


@dataclass
class SheetRow:
    index: int
    name: str
    credit_code: str
    kind: str
    account_name: str
    bank_name: str
    account_number: str
    amount: Decimal
    capital: str
    note: str


def sheet_rows(batch: DisbursementBatch) -> list[SheetRow]:
    return [SheetRow(n, i.organisation.name, i.organisation.credit_code, i.party_org_kind.label, i.account_name,
                     i.bank_name, i.account_number, i.amount, capital_amount(i.amount), i.amount_reason)
            for n, i in enumerate(batch.items, start=1)]


def keep_as_text(cell) -> None:
    """openpyxl stores any string that begins with "=" as a formula. What users typed (names, notes) is text
    whatever it begins with: as a string cell Excel shows it as written and never runs it. (In XLSX only "="
    makes a formula; + - @ need no escaping there, so no apostrophe shows in "+86..." or "-".)"""
    if cell.data_type == "f":
        cell.data_type = "s"


def batch_xlsx(batch: DisbursementBatch) -> bytes:
    """The batch as an XLSX workbook: title, header, one row per item, and a SUM total."""
    rows = sheet_rows(batch)
    total = sum((r.amount for r in rows), Decimal("0.00"))
    wb = Workbook()
    ws = wb.active
    ws.title = batch.number
    last_col = get_column_letter(len(COLUMNS))
    ws.append([f"{TITLE}（批次 {batch.number}）"])
    ws.merge_cells(f"A1:{last_col}1")
    ws["A1"].font = Font(size=14, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append([name for name, _ in COLUMNS])
    thin = Side(style="thin")
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center")
    for r in rows:
        ws.append([r.index, r.name, r.credit_code, r.kind, r.account_name, r.bank_name, r.account_number,
                   r.amount, r.capital, r.note])
        for cell in ws[ws.max_row]:
            keep_as_text(cell)
    first, last = 3, 2 + len(rows)
    ws.append(["合计", None, None, None, None, None, None,
               f"=SUM(H{first}:H{last})" if rows else 0, capital_amount(total) if rows else "零元整", None])
    total_row = ws.max_row
    ws.merge_cells(f"A{total_row}:G{total_row}")
    for cell in ws[total_row]:
        cell.font = Font(bold=True)
    for row in ws.iter_rows(min_row=2, max_row=total_row):
        for cell in row:
            cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for row in range(first, total_row + 1):
        ws.cell(row=row, column=8).number_format = YUAN_FORMAT
        ws.cell(row=row, column=7).number_format = "@"  # account numbers are text: no 1.23E+18
    for n, (_, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(n)].width = width
    ws.freeze_panes = "A3"
    ws.print_title_rows = "2:2"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def batch_pdf(batch: DisbursementBatch) -> bytes:
    """The batch as a signed-and-filed PDF (WeasyPrint): header on every page, totals, signature lines."""
    rows = sheet_rows(batch)
    total = sum((r.amount for r in rows), Decimal("0.00"))
    html = render_template("pdf/batch_sheet.html", batch=batch, rows=rows, total=total,
                           total_capital=capital_amount(total) if rows else "零元整", title=TITLE)
    return html_to_pdf(html, in_child=True)  # its render would leave the worker bigger (domain/pdf.py)


# The sheet of a batch the zone approves (funds.approve_batch) is rendered once, then and there, and filed with it,
# as the 批复 is: what finance prints, signs and files is what was approved, byte for byte, whatever the registry
# later does to an organisation's name; and no download waits for the render (1.7 s for 200 rows on the bench's
# machine, 2.5 s on a slow day).

def approval_sheet(batch: DisbursementBatch) -> bytes:
    """The PDF sheet of a batch whose approval is set on it but not yet written: nothing is flushed while it
    renders, so the render holds no row (nor SQLite's one write lock) for its seconds."""
    try:
        with db.session.no_autoflush:
            return batch_pdf(batch)
    except PdfRenderError as error:  # the approval rolls back and can simply be tried again
        raise DomainError(f"拨付明细表未能生成，批次仍待审批：{error}") from None


def file_sheet(batch: DisbursementBatch, pdf: bytes, *, actor: User) -> None:
    batch.sheet_file = keep_file(f"拨付明细表-{batch.number}.pdf", "application/pdf", pdf, actor=actor)


def filed_sheet(batch: DisbursementBatch) -> bytes | None:
    """The filed PDF of an approved batch; None for a draft, a submitted batch, or one approved before sheets
    were filed (their sheet is rendered on download). Reads the bytes alone, not the file's row and the batch's."""
    if batch.sheet_file_id is None:
        return None
    return db.session.scalar(sa.select(StoredFile.data).where(StoredFile.id == batch.sheet_file_id))
