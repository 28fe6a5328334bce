"""Markup and formula-looking names in the generated files: the 批复 PDF, the disbursement sheets, the
registry's XLSX exports. Markup must come out as the same characters (not as layout, not dropped), and a
cell a spreadsheet would run as a formula must be kept as text (a string cell, shown as typed)."""
import base64
import logging
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from urllib.parse import quote

import pytest
import sqlalchemy as sa
import tinycss2
from openpyxl import load_workbook

from domain import applications as verbs
from domain import funds
from domain.dashboard import TodoFilter
from domain.todo_exports import todo_xlsx
from domain.documents import render_dossier
from domain.pdf import css_string, html_to_pdf
from domain.sheets import batch_pdf, batch_xlsx
from models import Application, Document, FundItem, Instructor, Role, Setting, User, db

MARKUP = "<img src=x onerror=alert(1)><b>加粗</b>&amp;"
FORMULAS = ['=HYPERLINK("http://x","点")', "+1+1", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0"]


def _pdf_text(pdf: bytes, tmp_path, page: int | None = None) -> str:
    """The PDF's text (one page's, given one), without white space."""
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    pages = ["-f", str(page), "-l", str(page)] if page else []
    text = subprocess.run(["pdftotext", "-raw", *pages, str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
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
    rows = list(ws.iter_rows(min_row=4, max_row=3 + len(names), values_only=True))
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


# ---------------------------------------------------------------- text that tries to reach the renderer as CSS or URLs

class _Recorder(BaseHTTPRequestHandler):
    """A web server on this machine that counts every request: no render may ever reach it."""
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - the standard library's name
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def outside():
    """The address of a recording server, and the list of what reached it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.hits
    server.shutdown()
    server.server_close()


def hostile(base: str) -> str:
    """Text that would end a CSS string, block or style sheet and fetch from base, were it ever placed in CSS
    (at most 100 characters: an organisation's name may have no more)."""
    return f'甲"\'}}{{\\ @import "{base}";\n}}}}}}*{{background:url({base})}}</style>\x01\x1b\t乙'


# The same for the 40 characters of a person's name: it ends the string, the rules and the style sheet.
SHORT = '丙"}\\\n}}}*{color:red}</style><b>\x01\x1b\t丁'


def _printable(text: str) -> str:
    """What pdftotext can show of a text: its characters without white space and control characters."""
    return "".join(ch for ch in text if ch.isprintable() and not ch.isspace())


def _pages(pdf: bytes, tmp_path) -> int:
    path = tmp_path / "pages.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def _fonts(pdf: bytes, tmp_path) -> set[str]:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    listed = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    return {line.split()[0].split("+")[-1] for line in listed.splitlines()[2:]}


def _render_all(app, made, zone_id: int, instructor_id: int, name: str, fund_item_id: int | None = None):
    """The 批复 (issued on approval), the dossier and, given a fund item, its batch's sheet, for an application
    whose organisation, first member, contact, approval comment and issuing organ are named `name`."""
    with app.test_request_context():
        application = db.session.get(Application, made.id)
        application.organisation.name = name
        application.organisation.contact_name = application.members[0].name = SHORT
        db.session.merge(Setting(key="issuing_organ", value=name))
        verbs.approve_application(application, actor=db.session.get(User, zone_id), version=application.version,
                                  instructor=db.session.get(Instructor, instructor_id), comment=name)
        db.session.commit()
        approval = db.session.scalar(sa.select(Document).filter_by(application_id=made.id)).file.data
        return approval, render_dossier(db.session.get(Application, made.id))


def test_hostile_text_in_every_pdf_is_printed_literally_and_fetches_nothing(app, make_application, make_instructor,
                                                                         make_user, make_fund, outside, tmp_path):
    base, hits = outside
    name = hostile(base)
    zone, instructor = make_user(Role.ZONE_APPROVER), make_instructor()
    approval, dossier = _render_all(app, make_application("unit_approved"), zone.id, instructor.id, name)
    # The same text with every character that means something to CSS or HTML, and every control, made a letter.
    plain = re.sub(r"[^\w ]", "x", name)  # noqa: the contact and member keep SHORT: the 批复 does not show them
    plain_approval, plain_dossier = _render_all(app, make_application("unit_approved"), zone.id, instructor.id, plain)
    item = make_fund("checked")
    with app.test_request_context():
        fund = db.session.get(FundItem, item.id)
        fund.account_name = fund.bank_name = fund.amount_reason = name
        batch = funds.create_batch([fund], actor=db.session.get(User, make_fund.finance_id[0]))
        batch.note = name  # as if typed before the rule: create_batch refuses it now
        db.session.commit()
        sheet = batch_pdf(batch)
    assert hits == []  # nothing was fetched, from the parent or from a render's child
    for pdf in (approval, dossier, sheet):
        assert _printable(name) in _printable(_pdf_text(pdf, tmp_path))
    assert _printable(SHORT) in _printable(_pdf_text(dossier, tmp_path))
    # The layout holds: the 批复 ends with its 版记 on an even page, as for the plain text (which wraps at other
    # places: its letters stand for spaces and newlines, so the 版记 may need two more pages for one or the other),
    # each PDF sets its text in the same fonts (a style sheet the text had got into could change them), and the
    # dossier has its running header on each page.
    for pdf in (approval, plain_approval):  # (pdfminer reads no glyph of a page with control characters: poppler)
        count = _pages(pdf, tmp_path)
        pages = [_pdf_text(pdf, tmp_path, page) for page in range(1, count + 1)]
        assert count % 2 == 0 and "印发" in pages[-1] and not any("印发" in text for text in pages[:-1])
    assert abs(_pages(approval, tmp_path) - _pages(plain_approval, tmp_path)) <= 2
    assert _fonts(approval, tmp_path) == _fonts(plain_approval, tmp_path)
    assert _fonts(dossier, tmp_path) == _fonts(plain_dossier, tmp_path)
    path = tmp_path / "dossier.pdf"
    path.write_bytes(dossier)
    for page in range(1, _pages(dossier, tmp_path) + 1):
        top = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-y", "0", "-H", "80", "-W", "600",
                              str(path), "-"], capture_output=True, text=True, check=True).stdout
        assert "申请档案" in top and "甲" in top, top


@pytest.mark.parametrize("url", [
    "{base}/plain", "https://example.invalid/x.png", "file:///etc/passwd", "ftp://127.0.0.1/x",
    "data:text/css,body{background:red}", "data:text/html;base64,PGI+eDwvYj4=", "//127.0.0.1/x", "gopher://x/",
])
def test_the_renderer_refuses_every_url_but_an_embedded_image(outside, caplog, url):
    base, hits = outside
    url = url.replace("{base}", base)
    html = (f'<html><head><link rel="stylesheet" href="{url}"><style>@import "{url}"; '
            f'@font-face {{ font-family: X; src: url("{url}") }} body {{ background: url("{url}") }}</style></head>'
            f'<body><img src="{url}"><svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
            f'<image xlink:href="{url}" width="10" height="10"/></svg><p style="font-family: X">正文</p></body></html>')
    with caplog.at_level(logging.WARNING, logger="domain.pdf"):
        pdf = html_to_pdf(html)
    assert pdf.startswith(b"%PDF-") and hits == []
    refused = [r for r in caplog.records if r.name == "domain.pdf" and "refused" in r.getMessage()]
    assert refused, "every reference above should reach the fetcher and be refused"


def test_the_renderer_serves_the_images_a_document_embeds(caplog, tmp_path):
    png = base64.b64encode(_red_png()).decode()
    svg = "data:image/svg+xml;charset=utf-8," + quote('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4">'
                                                      '<rect width="4" height="4"/></svg>')
    html = f'<img src="data:image/png;base64,{png}" style="width:20mm"><img src="{svg}" style="width:20mm">'
    with caplog.at_level(logging.WARNING, logger="domain.pdf"):
        pdf = html_to_pdf(html)
    assert not [r for r in caplog.records if r.name == "domain.pdf"]
    path = tmp_path / "images.pdf"
    path.write_bytes(pdf)
    images = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    assert len(images.splitlines()[2:]) == 1  # the PNG; the SVG is drawn as vectors


def _red_png() -> bytes:
    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (8, 8), (230, 0, 18)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("value", ["Noto Serif CJK SC", 'a"}; @import url(x); </style>\n宋体\\'])
def test_css_string_cannot_end_the_string_or_the_style_sheet(value):
    literal = str(css_string(value))
    assert literal.startswith('"') and literal.endswith('"')
    inner = literal[1:-1]
    assert not set(inner) & set("\"'{};:()<>/@\n") and inner.replace("\\", "").isprintable()
    assert tinycss2.parse_component_value_list(literal)[0].value == value  # a CSS parser reads back the value
