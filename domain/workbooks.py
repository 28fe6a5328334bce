"""Printable XLSX worksheets (openpyxl): what every export needs to print on A4 as it stands, at 100 %.

    ws.append(...)  # the rows, title and header first
    write_title(ws, "通辽经济技术开发区……明细表", columns=8)       # row 1, merged and centred
    setup_print(ws, landscape=True, header_row=3, widths=[6, 30, ...])

`setup_print` sets A4, the orientation, the margins, "第 1 页，共 3 页" in the footer, one CJK font on every cell,
the header frozen and repeated on each printed page, and the column widths; it refuses widths wider than the
paper, so a sheet never prints shrunk to fit. Call it last: it sets the font of the cells that exist then.
"""
from collections.abc import Sequence

from openpyxl.styles import Alignment, Font
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


def keep_as_text(cell) -> None:
    """openpyxl stores any string that begins with "=" as a formula. What users typed (names, notes) is text
    whatever it begins with: as a string cell Excel shows it as written and never runs it. (In XLSX only "="
    makes a formula; + - @ need no escaping there, so no apostrophe shows in "+86..." or "-".)"""
    if cell.data_type == "f":
        cell.data_type = "s"


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


def setup_print(ws: Worksheet, *, landscape: bool, header_row: int, widths: Sequence[float]) -> None:
    """Make the sheet print on A4 at 100 %: orientation, margins, page-number footer, CJK_FONT on every cell
    (sizes and bold set in CJK_FONT are kept, any other font becomes BODY_SIZE), rows above and including
    header_row frozen, header_row repeated on every page, and the columns' widths. ValueError if the widths are
    wider than the paper: shrinking to fit would print every sheet at another size."""
    printed, room = columns_width_mm(widths), printable_width_mm(landscape=landscape)
    if printed > room:
        raise ValueError(f"columns {printed:.1f} mm wide, the page has {room:.1f} mm")
    for n, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(n)].width = width
    fonts: dict = {}  # one Font per look, not one per cell: an export of 11,000 rows has 100,000 cells
    for row in ws.iter_rows():
        for cell in row:
            font = cell.font
            own = font.name == CJK_FONT
            look = (font.size if own else BODY_SIZE, font.bold, font.italic, font.underline,
                    font.color if own else None)
            if look not in fonts:
                size, bold, italic, underline, color = look
                fonts[look] = Font(name=CJK_FONT, size=size, bold=bold, italic=italic, underline=underline, color=color)
            cell.font = fonts[look]
    setup = ws.page_setup
    setup.paperSize = ws.PAPERSIZE_A4
    setup.orientation = "landscape" if landscape else "portrait"
    setup.scale = 100
    ws.sheet_properties.pageSetUpPr.fitToPage = False
    ws.page_margins.left = ws.page_margins.right = SIDE_MARGIN_IN
    ws.page_margins.top, ws.page_margins.bottom = TOP_MARGIN_IN, BOTTOM_MARGIN_IN
    ws.page_margins.header = ws.page_margins.footer = 0.3
    ws.print_options.horizontalCentered = True
    footer = ws.oddFooter.center
    footer.text, footer.font, footer.size = FOOTER, CJK_FONT, 9
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1).coordinate
    ws.print_title_rows = f"{header_row}:{header_row}"
