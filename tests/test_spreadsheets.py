"""The one reader of uploaded spreadsheets (domain/spreadsheets.py): what a real file holds comes back as typed,
and a crafted file is refused while it is read, within the time budget, with a Chinese message naming the limit
and little memory spent. The crafted files are made here, byte by byte, not taken from samples."""
import io
import struct
import time
import tracemalloc
import zipfile
import zlib

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from domain.spreadsheets import Limits, SpreadsheetRefused, read_spreadsheet
from models import Instructor, Organisation, RegistryImport, Role, db
from tests.conftest import valid_credit_code
from tests.test_registry_import import HEADER, csv_bytes, row, upload

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
WORKBOOK = (f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
            '<sheet name="摸底表" sheetId="1" r:id="rId1"/></sheets></workbook>')
RELS = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
LIMITS = Limits(rows=100, columns=20, cell_chars=200)
MB = 1024 * 1024


def sheet(rows_xml: str, head: str = "") -> bytes:
    return f'<?xml version="1.0"?><worksheet xmlns="{MAIN}">{head}<sheetData>{rows_xml}</sheetData></worksheet>'.encode()


def xlsx(sheet_xml: bytes, strings: bytes | None = None, **extra: bytes) -> bytes:
    """A workbook zipped by hand: the workbook, its relationships, the sheet, and any other member."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("xl/workbook.xml", WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", RELS)
        book.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        if strings is not None:
            book.writestr("xl/sharedStrings.xml", strings)
        for name, data in extra.items():
            book.writestr(name.replace("__", "/"), data)
    return out.getvalue()


def refused(data: bytes, limits: Limits = LIMITS) -> str:
    """Read the file and return the refusal's message; the read must end within 2 s and 50 MB of Python heap."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(SpreadsheetRefused) as refusal:
            for _ in read_spreadsheet(data, limits):
                pass
    finally:
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < 2.0, f"refused after {elapsed:.2f} s"
    assert peak < 50 * MB, f"{peak / MB:.0f} MB while reading"
    assert refusal.value.field == "file"
    return refusal.value.message


# ---------------------------------------------------------------- what a real file holds

def test_a_workbook_from_excel_reads_as_typed():
    book = Workbook()
    ws = book.active
    ws.append(["统一社会信用代码", "职工人数", "比例", "已建", "空", "联系人"])
    ws.append(["91150500MA0N000001", 12, 1.5, True, None, "  张三  "])
    ws.append([])
    ws.append(["长川制靴", 12.0, 1e20, False, None, "李四"])
    out = io.BytesIO()
    book.save(out)
    rows = list(read_spreadsheet(out.getvalue()))
    assert rows[0] == ["统一社会信用代码", "职工人数", "比例", "已建", "空", "联系人"]
    assert rows[1] == ["91150500MA0N000001", "12", "1.5", "1", "", "张三"]
    assert rows[2] == []  # an empty row comes back, and counts
    assert rows[3][:4] == ["长川制靴", "12", "1e+20", "0"]


def test_shared_strings_rich_text_and_inline_strings():
    strings = (f'<sst xmlns="{MAIN}"><si><t>长川制靴</t></si>'
               '<si><r><t>有限</t></r><r><t>公司</t></r><rPh><t>ユウゲン</t></rPh></si></sst>').encode()
    data = xlsx(sheet('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c>'
                      '<c r="D1" t="inlineStr"><is><t>内联</t></is></c></row>'
                      '<row r="3"><c r="B3"><v>7</v></c><c r="C3" t="str"><f>A1&amp;"甲"</f><v>长川制靴甲</v></c>'
                      '<c r="D3" t="e"><v>#N/A</v></c></row>'), strings)
    # A formula comes back as the value Excel saved with it, as Excel shows it; the formula itself never.
    assert list(read_spreadsheet(data)) == [["长川制靴", "", "有限公司", "内联"], [], ["", "7", "长川制靴甲", "#N/A"]]


def test_a_sheet_with_a_prefixed_namespace_and_an_absolute_target():
    prefixed = (f'<x:worksheet xmlns:x="{MAIN}"><x:sheetData><x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>甲'
                '</x:t></x:is></x:c></x:row></x:sheetData></x:worksheet>').encode()
    rels = RELS.replace('Target="worksheets/sheet1.xml"', 'Target="/xl/worksheets/sheet1.xml"')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as book:
        book.writestr("xl/workbook.xml", WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", rels)
        book.writestr("xl/worksheets/sheet1.xml", prefixed)
    assert list(read_spreadsheet(out.getvalue())) == [["甲"]]


# ---------------------------------------------------------------- crafted files

def test_a_huge_declared_sheet_is_refused_at_its_first_far_row():
    data = xlsx(sheet('<row r="1048576"><c r="A1048576"><v>1</v></c></row>', '<dimension ref="A1:XFD1048576"/>'))
    assert len(data) < 2000
    assert "文件超过 100 行（空行也计算在内）" in refused(data)


def test_millions_of_short_shared_strings_cost_bytes_not_objects():
    """A file may list as many distinct strings as its rows times its columns: 400,000 short ones (a 1-MB upload) are
    held as their text, about 10 bytes each, not as 400,000 Python strings (about 60 bytes each before their text)."""
    count = 400_000
    strings = (f'<?xml version="1.0"?><sst xmlns="{MAIN}">'
               + "".join(f"<si><t>{n}</t></si>" for n in range(count)) + "</sst>").encode()
    data = xlsx(sheet(f'<row r="1"><c r="A1" t="s"><v>{count - 1}</v></c><c r="B1" t="s"><v>0</v></c></row>'), strings)
    tracemalloc.start()
    try:
        rows = list(read_spreadsheet(data, Limits(rows=count, columns=2, member_bytes=100 * MB,
                                                  total_bytes=100 * MB, seconds=30)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rows == [[str(count - 1), "0"]]
    assert peak < 8 * MB, f"{peak / MB:.1f} MB while reading"


def test_empty_rows_count():
    data = xlsx(sheet("".join(f'<row r="{n}"/>' for n in range(1, 151))))
    assert "文件超过 100 行（空行也计算在内）" in refused(data)
    assert "文件超过 100 行" in refused(csv_bytes([[""] * 12] * 150, header=HEADER))


def test_thousands_of_columns():
    cells = "".join(f"<c><v>{n}</v></c>" for n in range(5000))
    assert "文件超过 20 列" in refused(xlsx(sheet(f'<row r="1">{cells}</row>')))
    assert "文件超过 20 列" in refused(xlsx(sheet('<row r="1"><c r="XFD1"><v>1</v></c></row>')))
    assert "文件超过 20 列" in refused(("a," * 50 + "\n").encode())
    assert "第 1 行超过 4060 个字符" in refused(("a," * 100_000 + "\n").encode())  # refused before csv builds it


def test_one_inflated_cell():
    long_text = "党" * 100_000  # 300 KB, a few hundred bytes zipped
    assert "有单元格超过 200 个字" in refused(xlsx(sheet(
        f'<row r="1"><c r="A1" t="inlineStr"><is><t>{long_text}</t></is></c></row>')))
    assert "有单元格超过 200 个字" in refused(xlsx(sheet('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'),
                                                  f'<sst xmlns="{MAIN}"><si><t>{long_text}</t></si></sst>'.encode()))
    assert "有单元格超过 200 个字" in refused(("名称\n" + "x" * 1000 + "\n").encode())


def test_a_member_that_inflates_past_the_cap():
    bomb = b"<!-- " + b"0" * (100 * MB) + b" -->"  # 100 MB of one byte: about 100 KB zipped
    data = xlsx(sheet(""), **{"xl__sharedStrings.xml": bomb})
    assert len(data) < 200_000
    assert "解压后有部分超过 40 MB" in refused(data, Limits(rows=100, columns=20))


def test_a_member_whose_directory_entry_lies_about_its_size():
    """The directory says 1 KB; the member inflates to 30 MB. The read stops where the directory said and refuses
    the member as broken, long before 30 MB are inflated."""
    data = bytearray(xlsx(sheet('<row r="1"><c r="A1"><v>1</v></c></row>' + "<!--" + "0" * (30 * MB) + "-->")))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as book:
        info = book.getinfo("xl/worksheets/sheet1.xml")
    _patch_sizes(data, info, 1024)
    assert "无法读取该 Excel 文件" in refused(bytes(data))


def _patch_sizes(data: bytearray, info: zipfile.ZipInfo, size: int) -> None:
    """Write `size` as the member's uncompressed size in its local header and in the central directory."""
    struct.pack_into("<I", data, info.header_offset + 22, size)
    name = info.filename.encode()
    at = data.find(b"PK\x01\x02")
    while at != -1:
        if data[at + 46:at + 46 + len(name)] == name:
            struct.pack_into("<I", data, at + 24, size)
            return
        at = data.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"no central directory entry for {info.filename}")


def test_the_total_of_the_members_read_is_capped():
    text = "<!--" + "1" * (15 * MB) + "-->"
    data = xlsx(sheet(text), f'<sst xmlns="{MAIN}">{text}</sst>'.encode())
    assert "解压后超过 20 MB" in refused(data, Limits(rows=100, columns=20, member_bytes=16 * MB, total_bytes=20 * MB))


def test_an_entity_bomb_is_refused_at_its_dtd():
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
            '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
            f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c t="inlineStr"><is><t>&lol3;</t></is></c></row>'
            '</sheetData></worksheet>').encode()
    assert "含有 DTD 声明" in refused(xlsx(bomb))


def test_one_enormous_tag_is_refused_before_expat_holds_it():
    data = xlsx(sheet(f'<row r="1"><c r="A1" foo="{"a" * (5 * MB)}"><v>1</v></c></row>'))
    assert "超过 64 KB 的单个标记或文字" in refused(data)


def test_millions_of_tiny_elements_run_out_of_time_not_memory():
    data = xlsx(sheet("<x/>" * (8 * MB)))  # 8 million elements that are neither rows nor cells
    message = refused(data, Limits(rows=100, columns=20, seconds=0.5))
    assert "读取文件超过 0.5 秒仍未完成" in message


def test_the_clock_counts_reading_only():
    """A real file takes its time to check row by row; only the reading is on the clock."""
    rows = [row(valid_credit_code(n)) for n in range(1, 301)]
    read = []
    for cells in read_spreadsheet(csv_bytes(rows), Limits(rows=400, columns=20, seconds=0.5)):
        time.sleep(0.005)  # 1.5 s of checking in all
        read.append(cells)
    assert len(read) == 301


def test_broken_and_foreign_files():
    assert "无法读取该 Excel 文件" in refused(b"PK\x03\x04" + b"\x00" * 100)
    assert "缺少 workbook.xml" in refused(_zip_of(**{"word/document.xml": b"<w/>"}))
    assert "XML 格式错误" in refused(xlsx(b"<worksheet><sheetData><row>"))
    assert "不支持旧版 .xls 文件" in refused(b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    assert "文件超过 1 MB" in refused(b"a" * (MB + 1), Limits(file_bytes=MB))
    assert "引号不成对" in refused(('a,"b\n' + "c" * 200_000).encode(), Limits(cell_chars=500_000))


def _zip_of(**members: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as book:
        for name, data in members.items():
            book.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_members_python_would_inflate_whole_are_refused(method):
    """zipfile inflates bzip2 and LZMA members in one call, before anything is counted: 1.5 KB of bzip2 made 2 GB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as book:
        book.writestr("xl/workbook.xml", WORKBOOK)
        book.writestr("xl/worksheets/sheet1.xml", b"<!--" + b"0" * (50 * MB) + b"-->")
    assert "不支持的压缩方式" in refused(out.getvalue())


def test_deep_nesting_is_refused_at_its_limit():
    deep = f'<workbook xmlns="{MAIN}">'.encode() + b"<a>" * 2_000_000  # 6 MB of open tags, zipped to a few KB
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("xl/workbook.xml", deep)
    assert "结构嵌套超过 16 层" in refused(out.getvalue())
    assert "结构嵌套超过 16 层" in refused(xlsx(sheet('<row r="1"><c r="A1">' + "<x>" * 100_000 + "</c></row>")))


def test_a_directory_of_too_many_members_is_refused_before_it_is_parsed():
    honest = _zip_of(**{f"xl/media/{n}.xml": b"" for n in range(250)}, **{"xl/workbook.xml": WORKBOOK.encode()})
    assert "部件超过 200 个" in refused(honest)
    # Only the end record, claiming 205,000 members: the count is read from it before zipfile builds anything.
    claimed = b"PK\x03\x04" + b"\x00" * 64 + _EOCD_RECORD(205_000 % 65_536)
    assert "部件超过 200 个" in refused(claimed)


def _EOCD_RECORD(entries: int) -> bytes:  # noqa: N802 - a record's layout, as the zip specification names it
    return b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, entries, entries, 0, 0, 0)


def test_odd_attributes_and_indexes_do_not_crash_or_misread():
    data = xlsx(sheet('<row r="²"><c><v>1</v></c></row><row r="' + "9" * 5000 + '"><c><v>2</v></c></row>'))
    assert list(read_spreadsheet(data)) == [["1"], ["2"]]  # an unreadable row number: the next row
    strings = f'<sst xmlns="{MAIN}"><si><t>first</t></si><si><t>LAST</t></si></sst>'.encode()
    for index in ("-1", " 0 ", "１", "2"):
        bad = xlsx(sheet(f'<row r="1"><c r="A1" t="s"><v>{index}</v></c></row>'), strings)
        assert "文字条目缺失" in refused(bad)
    ruby = xlsx(sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>张三</t><rPh><t>zhang</t></rPh></is></c></row>'))
    assert list(read_spreadsheet(ruby)) == [["张三"]]


def test_a_large_csv_is_read_a_line_at_a_time():
    emoji = ("a" * (10 * MB - 10) + "😀\n").encode()  # one character that would make the whole text four bytes wide
    assert "第 1 行超过" in refused(emoji, Limits(file_bytes=11 * MB))
    commas = ("," * (10 * MB)).encode()
    assert "第 1 行超过" in refused(commas, Limits(file_bytes=11 * MB))


def test_csv_with_old_mac_line_ends_and_a_bom():
    data = "\ufeff名称,人数\r长川制靴,12\r\"多行\r地址\",3\r".encode()
    assert list(read_spreadsheet(data)) == [["名称", "人数"], ["长川制靴", "12"], ["多行\r地址", "3"]]


def test_the_zip_bomb_is_small_and_really_inflates():
    """The crafted member above is what it claims: 100 MB out of a small file (so the refusal is the reader's)."""
    bomb = zlib.compress(b"0" * (100 * MB), 9)
    assert len(bomb) < 200_000


# ---------------------------------------------------------------- through the pages

@pytest.fixture
def admin(login_as):
    return login_as(Role.ADMIN)


def test_a_crafted_registry_file_is_refused_on_the_page_and_nothing_is_stored(client, app, admin):
    data = xlsx(sheet('<row r="1048576"><c r="A1048576"><v>1</v></c></row>', '<dimension ref="A1:XFD1048576"/>'))
    response = upload(client, data, "摸底表.xlsx")
    assert "文件超过 120001 行（空行也计算在内）" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RegistryImport)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 0


def test_a_crafted_instructor_file_is_refused_on_the_page(client, app, admin):
    cells = "".join(f"<c><v>{n}</v></c>" for n in range(100))
    response = client.post("/admin/instructors/import", data={"file": (io.BytesIO(xlsx(sheet(f"<row>{cells}</row>"))),
                                                                       "指导员.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "文件超过 15 列" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Instructor)) == 0


def test_a_registry_row_with_a_control_character_is_named(client, app, admin):
    code = valid_credit_code()
    upload(client, csv_bytes([row(code, name="长川\x1b[31m制靴")]))
    job = _latest(app)
    assert job.errors[0]["line"] == 2 and "第 2 列含有换行、制表符或不可见的控制字符（U+001B）" in job.errors[0]["message"]


def _latest(app) -> RegistryImport:
    with app.app_context():
        job = db.session.scalar(sa.select(RegistryImport).order_by(RegistryImport.id.desc()))
        db.session.expunge(job)
        return job
