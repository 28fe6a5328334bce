"""Measure a PDF in millimetres, as an expert with a ruler would: where each line of text stands, how wide each
character's pitch is, where the rules and images are. Built on pdfplumber (pdfminer's glyph positions).

Every figure is in mm from the page's top-left corner. A "line" is the run of characters sharing a baseline,
in reading order, so `line.text` is what a reader sees on that line of the page.

A character's top and bottom are those of the ideographic em box, the square a 字 fills in a 公文's grid: from
0.88 em above the baseline to 0.12 em below it, whatever the font (fonts' own ascent and descent differ, by a
millimetre at 3号, and would make the same layout measure differently in 仿宋_GB2312, FandolFang or Noto).
"""
from dataclasses import dataclass, field
from io import BytesIO

import pdfplumber

MM = 25.4 / 72  # one PDF point in mm


@dataclass
class Char:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float  # points, to 0.1
    font: str
    colour: tuple


@dataclass
class Line:
    chars: list[Char] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(c.text for c in self.chars)

    @property
    def x0(self) -> float:
        return min(c.x0 for c in self.chars)

    @property
    def x1(self) -> float:
        return max(c.x1 for c in self.chars)

    @property
    def top(self) -> float:
        return min(c.top for c in self.chars)

    @property
    def bottom(self) -> float:
        return max(c.bottom for c in self.chars)

    @property
    def size(self) -> float:
        return max(c.size for c in self.chars)

    def pitch(self) -> float:
        """The mean distance from one character's left edge to the next's: 156/28 mm on a 公文 body line."""
        lefts = [c.x0 for c in self.chars]
        return (lefts[-1] - lefts[0]) / (len(lefts) - 1)


@dataclass
class Rule:
    """A horizontal rule: a stroked line or a thin filled rectangle."""
    x0: float
    x1: float
    top: float
    width: float  # the stroke's thickness, mm
    colour: tuple


@dataclass
class Box:
    x0: float
    x1: float
    top: float
    bottom: float


@dataclass
class Page:
    number: int
    width: float
    height: float
    lines: list[Line]
    rules: list[Rule]
    images: list[Box]  # raster images
    marks: list[Box]   # every drawn shape (rectangles, lines, curves: a QR code in SVG, rules, borders)

    def find(self, fragment: str) -> Line:
        """The first line that contains fragment; AssertionError naming the page's lines if none does."""
        for line in self.lines:
            if fragment in line.text:
                return line
        raise AssertionError(f"no line with {fragment!r} on page {self.number}: {[l.text for l in self.lines]}")

    def has(self, fragment: str) -> bool:
        return any(fragment in line.text for line in self.lines)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def _colour(value) -> tuple:
    return tuple(round(v, 2) for v in value) if isinstance(value, (tuple, list)) else (value,)


def measure(pdf: bytes) -> list[Page]:
    """The PDF's pages, measured."""
    pages = []
    with pdfplumber.open(BytesIO(pdf)) as document:
        for n, page in enumerate(document.pages, start=1):
            chars = sorted((Char(c["text"], c["x0"] * MM, c["x1"] * MM,
                                 (page.height - c["matrix"][5] - 0.88 * c["size"]) * MM,
                                 (page.height - c["matrix"][5] + 0.12 * c["size"]) * MM, round(c["size"], 1),
                                 c["fontname"], _colour(c.get("non_stroking_color")))
                            for c in page.chars if c["text"].strip()), key=lambda c: (round(c.bottom, 0), c.x0))
            lines: list[Line] = []
            for char in chars:
                # One baseline: the bottoms of glyphs of one size on one line agree within a fraction of a mm.
                if lines and abs(lines[-1].chars[-1].bottom - char.bottom) < 1.0:
                    lines[-1].chars.append(char)
                else:
                    lines.append(Line([char]))
            for line in lines:
                line.chars.sort(key=lambda c: c.x0)
            rules = [Rule(l["x0"] * MM, l["x1"] * MM, l["top"] * MM, l.get("linewidth", 0) * MM,
                          _colour(l.get("stroking_color")))
                     for l in page.lines if abs(l["top"] - l["bottom"]) < 0.5 and l["x1"] - l["x0"] > 20]
            rules += [Rule(r["x0"] * MM, r["x1"] * MM, (r["top"] + r["bottom"]) / 2 * MM, (r["bottom"] - r["top"]) * MM,
                           _colour(r.get("non_stroking_color")))
                      for r in page.rects if r["bottom"] - r["top"] < 2 and r["x1"] - r["x0"] > 20]
            images = [Box(i["x0"] * MM, i["x1"] * MM, i["top"] * MM, i["bottom"] * MM) for i in page.images]
            marks = [Box(o["x0"] * MM, o["x1"] * MM, o["top"] * MM, o["bottom"] * MM)
                     for o in (*page.rects, *page.lines, *page.curves)]
            pages.append(Page(n, page.width * MM, page.height * MM, lines, sorted(rules, key=lambda r: r.top),
                              images, marks))
    return pages
