"""What typed text may contain: the one rule for control and invisible characters, in every way text comes in
(forms, imported spreadsheets, file names, the few values posted without a form, query arguments).

A single-line value (a name, a code, a phone number, a file name) holds no control character and nothing invisible:
a tab or a newline pasted from a spreadsheet would end up in a document, a sheet or a list as a broken line, and a
zero-width or filler character makes a name look like another, or blank. That is Unicode's control, format,
surrogate and separator categories, its default-ignorable code points (fillers, variation selectors, joiners) and
its noncharacters.

A multi-line value (a reason, a comment) keeps newlines and tabs, and the joiners and variation selectors that
emoji typed on a phone are made of (❤️, 👨‍👩‍👧). It still refuses every other control character, surrogates,
the Unicode line separators, noncharacters, and the bidirectional controls that make text read differently from
what it is. Private-use characters stay in both: some input methods type rare characters of names so.
"""
import re
import unicodedata

from . import DomainError

_MULTILINE_ALLOWED = frozenset("\n\r\t")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt) that are not already category Cf.
_IGNORABLE = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x2065, 0x2065),
              (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
              (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF))
_BIDI = frozenset(map(chr, [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
# The ignorable code points str.isprintable() lets through (it refuses the categories Cc, Cf, Cs, Co, Cn, Z* but
# space): a value that is printable and has none of these holds nothing the rule refuses, checked at C speed.
_PRINTABLE_IGNORABLE = re.compile("[" + "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in _IGNORABLE) + "]")


def _noncharacter(code: int) -> bool:
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


def is_refused(ch: str, *, multiline: bool = False) -> bool:
    """Whether the rule refuses this character in a single-line (or, multiline, a multi-line) value."""
    category, code = unicodedata.category(ch), ord(ch)
    if multiline:
        return ((category == "Cc" and ch not in _MULTILINE_ALLOWED) or category in ("Cs", "Zl", "Zp")
                or ch in _BIDI or _noncharacter(code))
    return (category in _REFUSED_CATEGORIES or _noncharacter(code)
            or any(low <= code <= high for low, high in _IGNORABLE))


def first_refused(value: str, *, multiline: bool = False) -> str | None:
    """The first character the rule refuses in value, or None."""
    if value.isprintable() and not _PRINTABLE_IGNORABLE.search(value):  # most values, at C speed
        return None
    if value.isascii():  # only C0 and DEL can be refused there
        return next((ch for ch in value if (ch < " " or ch == "\x7f") and not (multiline and ch in
                                                                             _MULTILINE_ALLOWED)), None)
    return next((ch for ch in value if is_refused(ch, multiline=multiline)), None)


def without_refused(value: str) -> str:
    """value with every character the single-line rule refuses taken out: for text nobody reads back to its author
    (a query argument, an uploaded file's name)."""
    return value if first_refused(value) is None else "".join(ch for ch in value if not is_refused(ch))


def refusal(label: str, ch: str, *, multiline: bool) -> str:
    """The Chinese message for a refused character: where it was, which one (as U+XXXX), what to do."""
    what = "换行或制表符" if ch in _MULTILINE_ALLOWED else f"不可见的控制字符（U+{ord(ch):04X}）"
    hint = "请删除后重新填写" if multiline else "此项只能填一行，请删除后重新填写"
    return f"“{label}”中含有{what}，{hint}"


def check_text(value: str, label: str, field: str | None = None, *, multiline: bool = False) -> str:
    """Return value if it holds no refused character (see the module's rule); otherwise refuse it, naming label."""
    ch = first_refused(value or "", multiline=multiline)
    if ch is not None:
        raise DomainError(refusal(label, ch, multiline=multiline), field)
    return value


NAME_SEPARATORS = ("、", "，", ",")  # between the names of a list (name_list)


def name_list(value: str) -> list[str]:
    """The names of a list typed as 张三、李四，王五 (顿号, or a comma of either width), blanks dropped."""
    return [name.strip() for name in value.replace("，", "、").replace(",", "、").split("、") if name.strip()]


def check_one_name(value: str, label: str, field: str | None = None) -> str:
    """Refuse a field for one person (a 书记, whom a 补选 seats) typed as a list: 张三、李四 would be one seat, and
    a 批复 naming "张三、李四同志为书记". Control and invisible characters as check_text."""
    check_text(value, label, field)
    if any(sep in value for sep in NAME_SEPARATORS):
        raise DomainError(f"“{label}”只能填写一人的姓名，不能含有顿号或逗号", field)
    return value
