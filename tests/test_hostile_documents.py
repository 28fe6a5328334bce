"""Markup and formula-looking names in the generated files: the 批复 PDF, the disbursement sheets, the
registry's XLSX exports. Markup must come out as the same characters (not as layout, not dropped), and a
cell a spreadsheet would run as a formula must be kept as text (a string cell, shown as typed)."""
import subprocess
from io import BytesIO

import sqlalchemy as sa
from openpyxl import load_workbook

from domain import applications as verbs
from domain import funds
from domain.dashboard import TodoFilter, todo_xlsx
from domain.sheets import batch_pdf, batch_xlsx
from models import Application, Document, FundItem, Instructor, Role, User, db

MARKUP = "<img src=x onerror=alert(1)><b>加粗</b>&amp;"
FORMULAS = ['=HYPERLINK("http://x","点")', "+1+1", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0"]


def _pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return "".join(text.split())


def test_markup_in_a_name_is_printed_as_text_in_the_approval(app, make_application, make_instructor, make_user,
                                                             tmp_path):
    made = make_application("unit_approved")
    zone, instructor = make_user(Role.ZONE_APPROVER), make_instructor()
    with app.test_request_context():
        application = db.session.get(Application, made.id)
        application.organisation.name = MARKUP + "科技有限公司"
        verbs.approve_application(application, actor=db.session.get(User, zone.id), version=application.version,
                                  instructor=db.session.get(Instructor, instructor.id))
        db.session.commit()
        pdf = db.session.scalar(sa.select(Document)).file.data
    assert "".join(MARKUP.split()) + "科技有限公司" in _pdf_text(pdf, tmp_path)


def test_markup_and_formulas_in_the_disbursement_sheets(app, ctx, make_fund, tmp_path):
    names = [MARKUP + "甲公司", *(f + "有限公司" for f in FORMULAS)]
    items = [db.session.merge(make_fund("checked", name=name)) for name in names]
    items[0].amount_reason = "=1+1"
    finance = db.session.get(User, make_fund.finance_id[0])
    batch = funds.create_batch([db.session.get(FundItem, i.id) for i in items], actor=finance)
    db.session.commit()
    with app.test_request_context():
        ws = load_workbook(BytesIO(batch_xlsx(batch))).active
        pdf = batch_pdf(batch)
    rows = list(ws.iter_rows(min_row=3, max_row=2 + len(names), values_only=True))
    cells = {row[1] for row in rows} | {row[9] for row in rows}
    assert MARKUP + "甲公司" in cells
    assert {f + "有限公司" for f in FORMULAS} <= cells and "=1+1" in cells  # as typed: no apostrophe
    # openpyxl stores a string that begins with "=" as a formula: none may be one, except the SUM row.
    formulas = [c.value for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert len(formulas) == 1 and formulas[0].startswith("=SUM(")
    assert "".join(MARKUP.split()) + "甲公司" in _pdf_text(pdf, tmp_path)


def test_registry_exports_keep_formula_looking_cells_as_text(ctx, make_org):
    for formula in FORMULAS:
        make_org(name=formula + "公司", formal_members=4, address="@地址", contact_name="-联系人")
    ws = load_workbook(BytesIO(todo_xlsx(TodoFilter(list="build"), None))).active
    cells = [c for row in ws.iter_rows(min_row=2) for c in row]
    assert {f + "公司" for f in FORMULAS} <= {c.value for c in cells}
    assert "@地址" in {c.value for c in cells} and "-联系人" in {c.value for c in cells}
    assert not [c.value for c in cells if c.data_type == "f"]
