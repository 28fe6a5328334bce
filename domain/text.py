"""What typed text may contain: the one rule for control and invisible characters, in every way text comes in
(forms, imported spreadsheets, the few values posted without a form).

A single-line value (a name, a code, a phone number) holds no control character at all: a tab or a newline pasted
from a spreadsheet would otherwise end up in a document, a sheet or a list as a broken line. A multi-line value
(a reason, a comment) keeps newlines and tabs. Neither may hold invisible format characters (zero-width spaces,
the bidirectional overrides that make text read differently from what it is), surrogates, or the Unicode line
and paragraph separators. Private-use characters stay: some input methods type rare characters of names so.
"""
import unicodedata

from . import DomainError

_MULTILINE_ALLOWED = frozenset("\n\r\t")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def first_refused(value: str, *, multiline: bool = False) -> str | None:
    """The first character the rule refuses in value, or None."""
    for ch in value:
        if unicodedata.category(ch) in _REFUSED_CATEGORIES and not (multiline and ch in _MULTILINE_ALLOWED):
            return ch
    return None


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
