"""The one reader of uploaded spreadsheets (the registry, the instructors, any later import): XLSX or CSV in, rows of
strings out, every bound enforced while the file is read, never after.

An XLSX file is a zip of XML. A few hundred KB of it can declare a sheet of a million rows by sixteen thousand
columns, inflate one member to gigabytes, or hold one cell of a hundred megabytes; a general reader (openpyxl) fills
in the declared size, inflates what it is given and builds each row whole before it looks at it. This one reads only
what an import needs (the workbook, to find the first sheet; the shared strings; that sheet), inflates each member in
chunks while counting, parses it with expat's callbacks (no tree is built: a cell's text is counted as it arrives),
counts every row including empty and skipped ones, and checks the clock between chunks. DTDs are refused (an XLSX has
none; they are how entity bombs come). Numbers come back as written (12, not 12.0); dates are not interpreted (no
import has a date column).
"""
import codecs
import csv
import io
import re
import time
import zipfile
from array import array
from dataclasses import dataclass
from posixpath import dirname, join, normpath
from typing import Callable, Iterator
from xml.parsers import expat

from . import DomainError
from .text import first_refused

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CHUNK = 64 * 1024
_MB = 1024 * 1024
# The longest stretch of XML between two "<" that expat is given: a tag with its attributes, or a cell's text with
# its entities. expat holds a whole tag in memory before it calls back, so a one-megabyte attribute would cost a
# megabyte or more in C and again in Python; nothing in a real sheet comes near this.
_MAX_MARKUP_GAP = 64 * 1024
# How deep elements may nest: a sheet's cell is five levels down (worksheet, sheetData, row, c, is/t); expat keeps
# every open element, so thirteen million nested tags in a 38 KB upload would otherwise cost half a gigabyte.
_MAX_DEPTH = 16
# The compression methods a member may use: Python inflates bzip2 and LZMA members whole, before anything counts.
_COMPRESSIONS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_EOCD = b"PK\x05\x06"  # the end of a zip's central directory
_NAMES_KEPT = 64  # tag names whose local name a parser remembers


@dataclass(frozen=True)
class Limits:
    """What one upload may be. The defaults fit the registry's 20,000 rows of 12 short columns with room to spare
    (a real 11,000-row file from Excel: 0.6 MB zipped, a 4.5 MB sheet); an import passes tighter ones."""

    rows: int = 20000          # rows read, the header and empty rows included
    columns: int = 40
    cell_chars: int = 1000
    file_bytes: int = 10 * _MB  # the upload as sent (zipped, for an XLSX)
    member_bytes: int = 40 * _MB  # any one member of the zip, inflated
    total_bytes: int = 60 * _MB  # the members read, inflated, together
    members: int = 200
    seconds: float = 1.8       # wall-clock time spent reading the file (not checking its rows)


class SpreadsheetRefused(DomainError):
    """The file is not a spreadsheet this app can read, or it passes a limit; the message names which."""

    def __init__(self, message: str):
        super().__init__(message, "file")


def read_spreadsheet(data: bytes, limits: Limits = Limits(),
                     progress: Callable[[float], None] | None = None) -> Iterator[list[str]]:
    """Every row of the first sheet (XLSX) or of the file (CSV) as stripped strings, the header first; empty rows
    come back as empty lists (they count toward limits.rows). Raises SpreadsheetRefused while reading. progress, if
    given, is told now and then what share of the file has been read (0 to 1): a long import's progress bar."""
    if len(data) > limits.file_bytes:
        raise SpreadsheetRefused(f"文件超过 {limits.file_bytes // _MB} MB，请拆分后分批导入")
    if data.startswith(OLE_MAGIC):
        raise SpreadsheetRefused("不支持旧版 .xls 文件，请在 Excel 中“另存为” .xlsx 或 CSV 后再上传")
    budget = _Budget(limits, progress)
    rows = _xlsx_rows(data, budget) if data.startswith(XLSX_MAGIC) else _csv_rows(data, budget)
    while True:
        budget.resume()  # the clock runs while this reads, not while the caller checks what it was given
        try:
            row = next(rows)
        except StopIteration:
            return
        finally:
            budget.pause()
        budget.count_row()
        yield row


def content_type(data: bytes) -> str:
    return XLSX_TYPE if data.startswith(XLSX_MAGIC) else "text/csv"


class _Budget:
    """The limits of one read, and what has been spent of them."""

    def __init__(self, limits: Limits, progress: Callable[[float], None] | None = None):
        self.limits, self.rows, self.inflated = limits, 0, 0
        self.spent, self.resumed = 0.0, time.monotonic()
        self.progress, self.expected = progress, 0  # expected: the bytes the whole read will take

    def report(self, done: int) -> None:
        if self.progress is not None and self.expected:
            self.progress(min(1.0, done / self.expected))

    def resume(self) -> None:
        self.resumed = time.monotonic()

    def pause(self) -> None:
        self.spent += time.monotonic() - self.resumed

    def count_row(self) -> None:
        self.rows += 1
        if self.rows > self.limits.rows:
            raise SpreadsheetRefused(f"文件超过 {self.limits.rows} 行（空行也计算在内），请删除多余的行或拆分后分批导入")

    def check_clock(self) -> None:
        if self.spent + time.monotonic() - self.resumed > self.limits.seconds:
            raise SpreadsheetRefused(f"读取文件超过 {self.limits.seconds:g} 秒仍未完成，文件过大或结构异常，"
                                     "请使用下载的模板重新填写")

    def check_column(self, column: int) -> None:
        if column > self.limits.columns:
            raise SpreadsheetRefused(f"文件超过 {self.limits.columns} 列，请删除多余的列（请使用下载的模板）")

    def check_cell(self, length: int) -> None:
        if length > self.limits.cell_chars:
            raise SpreadsheetRefused(f"有单元格超过 {self.limits.cell_chars} 个字，请检查文件内容")


# ---------------------------------------------------------------- CSV

def _csv_rows(data: bytes, budget: _Budget) -> Iterator[list[str]]:
    """Rows of a CSV, decoded as read and one line at a time: a line longer than a full row could be is refused
    before the csv module builds it."""
    limits = budget.limits
    longest = limits.columns * (limits.cell_chars + 3)  # every cell full, quoted, and a comma after it
    raw = io.BytesIO(data)
    stream = io.TextIOWrapper(raw, encoding=_csv_encoding(data, budget), newline="")
    budget.expected = len(data)

    def lines() -> Iterator[str]:
        number = 0
        while line := stream.readline(longest + 1):
            number += 1
            if len(line) > longest:
                raise SpreadsheetRefused(f"第 {number} 行超过 {longest} 个字符，不是一行摸底数据，请检查文件内容")
            yield line

    reader = csv.reader(lines())
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:  # an unclosed quote, or a field past the csv module's own limit
            raise SpreadsheetRefused(f"第 {reader.line_num} 行的格式有误（引号不成对，或单元格过长），"
                                     "请用 Excel 打开后另存为 CSV 或 .xlsx") from None
        budget.check_column(len(row))
        for value in row:
            budget.check_cell(len(value))
        budget.check_clock()
        if reader.line_num % 1000 == 0:
            budget.report(raw.tell())
        yield [value.strip() for value in row]


def _csv_encoding(data: bytes, budget: _Budget) -> str:
    """UTF-8 (with or without its BOM), else GB18030, as Excel for Chinese Windows saves a CSV; checked a chunk at a
    time, so that no copy of the whole file is made to find out."""
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            for at in range(0, len(data), _CHUNK):
                if "\x00" in decoder.decode(data[at:at + _CHUNK]):
                    raise SpreadsheetRefused("该文件不是 Excel(.xlsx) 或 CSV 文件，请使用下载的模板填写")
                budget.check_clock()
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise SpreadsheetRefused("无法识别文件编码，请上传 .xlsx 文件或 UTF-8 编码的 CSV 文件")


# ---------------------------------------------------------------- XLSX

def _declared_members(data: bytes) -> int:
    """How many members the zip's last end-of-directory record declares, read before zipfile parses the directory
    (which it does whole, into objects of its own); 0xFFFF means a zip64 directory, which no workbook needs."""
    at = data.rfind(_EOCD, max(0, len(data) - 65_557))  # the record, then a comment of at most 65,535 bytes
    if at < 0 or at + 22 > len(data):
        raise SpreadsheetRefused("无法读取该 Excel 文件，请确认它是 .xlsx 格式且未加密")
    return int.from_bytes(data[at + 10:at + 12], "little")


def _xlsx_rows(data: bytes, budget: _Budget) -> Iterator[list[str]]:
    limits = budget.limits
    if _declared_members(data) > limits.members:
        raise SpreadsheetRefused(f"该 Excel 文件包含的部件超过 {limits.members} 个，结构异常，请另存为新的 .xlsx 后再上传")
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        members = book.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise SpreadsheetRefused("无法读取该 Excel 文件，请确认它是 .xlsx 格式且未加密") from None
    if len(members) > limits.members:  # a directory longer than its end record says
        raise SpreadsheetRefused(f"该 Excel 文件包含的部件超过 {limits.members} 个，结构异常，请另存为新的 .xlsx 后再上传")
    if any(m.compress_type not in _COMPRESSIONS for m in members):
        raise SpreadsheetRefused("该 Excel 文件使用了不支持的压缩方式，请在 Excel 中另存为 .xlsx 后再上传")
    for member in members:  # what the directory declares; _inflate counts what actually comes out
        if member.file_size > limits.member_bytes:
            raise SpreadsheetRefused(f"该 Excel 文件解压后有部分超过 {limits.member_bytes // _MB} MB，请拆分后分批导入")
    if sum(m.file_size for m in members) > limits.total_bytes:
        raise SpreadsheetRefused(f"该 Excel 文件解压后超过 {limits.total_bytes // _MB} MB，请拆分后分批导入")
    names = {m.filename for m in members}
    sheet, strings_path = _first_sheet(book, names, budget)
    budget.expected = budget.inflated + sum(m.file_size for m in members if m.filename in (sheet, strings_path))
    strings = _shared_strings(book, strings_path, budget) if strings_path in names else []
    try:
        yield from _sheet_rows(book, sheet, strings, budget)
    finally:
        book.close()


def _inflate(book: zipfile.ZipFile, name: str, budget: _Budget) -> Iterator[bytes]:
    """A member's bytes in chunks, counted against the member and total limits as they are inflated."""
    limits, size = budget.limits, 0
    try:
        with book.open(name) as member:
            while chunk := member.read(_CHUNK):
                size += len(chunk)
                budget.inflated += len(chunk)
                if size > limits.member_bytes:
                    raise SpreadsheetRefused(f"该 Excel 文件解压后有部分超过 {limits.member_bytes // _MB} MB，"
                                             "请拆分后分批导入")
                if budget.inflated > limits.total_bytes:
                    raise SpreadsheetRefused(f"该 Excel 文件解压后超过 {limits.total_bytes // _MB} MB，请拆分后分批导入")
                budget.check_clock()
                budget.report(budget.inflated)
                yield chunk
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, KeyError, OSError):
        # a broken or encrypted member, an unknown compression, a size that does not match the directory
        raise SpreadsheetRefused("无法读取该 Excel 文件，请确认它是 .xlsx 格式且未加密") from None


class _Parser:
    """expat with callbacks named by local tag name (namespaces dropped), no DTD, fed in counted chunks."""

    def __init__(self, start: Callable, end: Callable, text: Callable | None = None):
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.parser.buffer_text = True
        self.depth = 0
        # Each tag's local name, for the few tags a sheet has (a sheet of 110,000 rows opens 3 million elements);
        # bounded, for a file that names a new tag each time.
        names: dict[str, str] = {}

        def local(tag: str) -> str:
            name = names.get(tag)
            if name is None:
                name = tag.rpartition(" ")[2]
                if len(names) < _NAMES_KEPT:
                    names[tag] = name
            return name

        def opened(tag, attrs):
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise SpreadsheetRefused(f"该 Excel 文件的结构嵌套超过 {_MAX_DEPTH} 层，结构异常，请另存为新的 .xlsx 后再上传")
            start(local(tag), attrs)

        def closed(tag):
            self.depth -= 1
            end(local(tag))

        self.parser.StartElementHandler, self.parser.EndElementHandler = opened, closed
        if text is not None:
            self.parser.CharacterDataHandler = text
        self.parser.StartDoctypeDeclHandler = self._refuse_dtd
        self.gap = 0  # bytes since the last "<" of the chunks fed so far

    def _check_gap(self, chunk: bytes) -> None:
        # A chunk is at most _CHUNK (the same 64 KB) long, so a gap within one chunk never passes the limit: only the
        # run carried over from the chunks before it, and the start of this one, can.
        first = chunk.find(b"<")
        run = self.gap + (len(chunk) if first < 0 else first)
        if run > _MAX_MARKUP_GAP:
            raise SpreadsheetRefused(f"该 Excel 文件中有超过 {_MAX_MARKUP_GAP // 1024} KB 的单个标记或文字，结构异常，"
                                     "请另存为新的 .xlsx 后再上传")
        self.gap = run if first < 0 else len(chunk) - chunk.rfind(b"<") - 1

    @staticmethod
    def _refuse_dtd(*_args):
        raise SpreadsheetRefused("该 Excel 文件含有 DTD 声明，不是标准的 .xlsx 文件，请另存为新的 .xlsx 后再上传")

    def feed(self, chunk: bytes, last: bool = False) -> None:
        self._check_gap(chunk)
        try:
            self.parser.Parse(chunk, last)
        except expat.ExpatError:
            raise SpreadsheetRefused("该 Excel 文件内容已损坏（XML 格式错误），请另存为新的 .xlsx 后再上传") from None


def _parse_member(book, name: str, budget: _Budget, parser: _Parser) -> None:
    for chunk in _inflate(book, name, budget):
        parser.feed(chunk)
    parser.feed(b"", last=True)


def _first_sheet(book, names: set[str], budget: _Budget) -> tuple[str, str]:
    """The path of the workbook's first sheet and of its shared strings, from the workbook and its relationships."""
    first: list[str] = []
    targets: dict[str, tuple[str, str]] = {}

    def sheet(tag, attrs):
        if tag == "sheet" and not first:
            first.append(next((v for k, v in attrs.items() if k.endswith(" id") or k == "r:id"), ""))

    def relationship(tag, attrs):
        if tag == "Relationship":
            targets[attrs.get("Id", "")] = (attrs.get("Type", ""), attrs.get("Target", ""))

    if "xl/workbook.xml" not in names:
        raise SpreadsheetRefused("该文件不是 Excel 工作簿（缺少 workbook.xml），请使用下载的模板")
    _parse_member(book, "xl/workbook.xml", budget, _Parser(sheet, lambda tag: None))
    if "xl/_rels/workbook.xml.rels" in names:
        _parse_member(book, "xl/_rels/workbook.xml.rels", budget, _Parser(relationship, lambda tag: None))

    def path(target: str) -> str:
        return normpath(target.lstrip("/") if target.startswith("/") else join("xl", target))

    sheet_path = path(targets[first[0]][1]) if first and first[0] in targets else "xl/worksheets/sheet1.xml"
    strings = next((path(t) for kind, t in targets.values() if kind.endswith("/sharedStrings")),
                   "xl/sharedStrings.xml")
    if sheet_path not in names or dirname(sheet_path) != "xl/worksheets":
        raise SpreadsheetRefused("该 Excel 文件中没有找到工作表，请使用下载的模板")
    return sheet_path, strings


class _StringTable:
    """The shared strings as one UTF-8 buffer and where each ends: a file may hold millions of short strings (120,000
    rows of 30 columns), which as Python strings would cost about 60 bytes each before their text."""

    def __init__(self):
        # Where each string ends: the buffer is smaller than the member it came from, far under 4 GB.
        self._text, self._ends = bytearray(), array("I")

    def append(self, value: str) -> None:
        self._text += value.encode()
        self._ends.append(len(self._text))

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, index: int) -> str:
        if index < 0:
            raise IndexError(index)
        return self._text[self._ends[index - 1] if index else 0:self._ends[index]].decode()


def _shared_strings(book, name: str, budget: _Budget) -> _StringTable:
    """The shared strings (<si>), each the text of its <t> runs outside phonetic guides (<rPh>), bounded as read."""
    limits = budget.limits
    strings = _StringTable()
    parts: list[str] = []
    state = {"in_t": False, "phonetic": 0, "length": 0}

    def start(tag, _attrs):
        if tag == "si":
            parts.clear()
            state["length"] = 0
            if len(strings) >= limits.rows * limits.columns:
                raise SpreadsheetRefused(f"该 Excel 文件的文字条目超过 {limits.rows * limits.columns} 条，结构异常")
        elif tag == "rPh":
            state["phonetic"] += 1
        elif tag == "t":
            state["in_t"] = True

    def end(tag):
        if tag == "si":
            strings.append("".join(parts))
        elif tag == "rPh":
            state["phonetic"] -= 1
        elif tag == "t":
            state["in_t"] = False

    def text(data):
        if state["in_t"] and not state["phonetic"]:
            state["length"] += len(data)
            budget.check_cell(state["length"])
            parts.append(data)

    _parse_member(book, name, budget, _Parser(start, end, text))
    return strings


_COLUMN = re.compile(r"^([A-Za-z]{1,3})([0-9]+)$")
_COLUMNS_SEEN: dict[str, int] = {}  # column letters -> number: at most the 2 x 18,278 that one to three letters make


def _column_number(reference: str) -> int | None:
    """"AB12" -> 28 (1-based); None for a reference that is missing or not a cell's."""
    reference = reference or ""
    letters = reference.rstrip("0123456789")
    number = _COLUMNS_SEEN.get(letters)
    if number is not None and len(letters) < len(reference):  # the usual case: a column seen before, then its row
        return number
    match = _COLUMN.match(reference)
    if not match:
        return None
    number = 0
    for letter in match.group(1).upper():
        number = number * 26 + ord(letter) - 64
    _COLUMNS_SEEN[match.group(1)] = number
    return number


def _sheet_rows(book, name: str, strings: _StringTable | list[str], budget: _Budget) -> Iterator[list[str]]:
    """The sheet's rows, yielded as each ends; rows the file skips (r="7" after r="2") come back empty."""
    ready: list[list[str]] = []
    row: dict[int, str] = {}
    cell: dict = {}
    state = {"row": 0, "collect": False, "phonetic": 0}
    parts: list[str] = []

    def start(tag, attrs):
        if tag == "row":
            given = attrs.get("r", "")
            number = int(given) if given.isascii() and given.isdigit() and len(given) <= 7 else state["row"] + 1
            if number <= state["row"]:
                raise SpreadsheetRefused("该 Excel 文件的行顺序异常，请另存为新的 .xlsx 后再上传")
            if number > budget.limits.rows:
                raise SpreadsheetRefused(f"文件超过 {budget.limits.rows} 行（空行也计算在内），请删除多余的行或拆分后分批导入")
            for _ in range(state["row"] + 1, number):
                ready.append([])  # a skipped row is an empty row, and counts
            state["row"] = number
            row.clear()
        elif tag == "c":
            column = _column_number(attrs.get("r", "")) or (max(row) + 1 if row else 1)
            budget.check_column(column)
            cell.clear()
            cell.update(column=column, type=attrs.get("t", "n"))
            parts.clear()
        elif tag in ("v", "t") and cell and not state["phonetic"]:
            state["collect"] = True
        elif tag == "rPh":
            state["phonetic"] += 1

    def end(tag):
        if tag in ("v", "t"):
            state["collect"] = False
        elif tag == "rPh":
            state["phonetic"] -= 1
        elif tag == "c" and cell:
            row[cell["column"]] = _cell_value(cell["type"], "".join(parts), strings)
            cell.clear()
        elif tag == "row":
            width = max(row) if row else 0
            ready.append([row.get(i, "") for i in range(1, width + 1)])

    def text(data):
        if state["collect"]:
            parts.append(data)
            budget.check_cell(sum(map(len, parts)))

    parser = _Parser(start, end, text)
    for chunk in _inflate(book, name, budget):
        parser.feed(chunk)
        yield from ready
        ready.clear()
    parser.feed(b"", last=True)
    yield from ready


def _cell_value(kind: str, raw: str, strings: _StringTable | list[str]) -> str:
    if kind == "s":
        try:
            if not (raw.isascii() and raw.isdigit()):
                raise ValueError(raw)
            return strings[int(raw)].strip()
        except (ValueError, IndexError):
            raise SpreadsheetRefused("该 Excel 文件内容已损坏（文字条目缺失），请另存为新的 .xlsx 后再上传") from None
    if kind == "b":
        return "1" if raw.strip() == "1" else "0"
    if kind == "n" and raw:
        try:
            number = float(raw)
        except ValueError:
            return raw.strip()
        if number.is_integer() and abs(number) < 1e15:
            return str(int(number))  # Excel stores 12 as 12 or 12.0 or 1.2E1
        return raw.strip()
    return raw.strip()  # inlineStr, str (a formula's text), e (an error such as #N/A)


def refused_characters(row: list[str]) -> str | None:
    """The first cell of a row with a character the text rule refuses (domain/text.py), as a message, or None."""
    for column, value in enumerate(row, start=1):
        ch = first_refused(value)
        if ch is not None:
            return f"第 {column} 列含有换行、制表符或不可见的控制字符（U+{ord(ch):04X}），请删除后重新导入"
    return None
