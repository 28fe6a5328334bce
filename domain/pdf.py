"""HTML to PDF: the one place the app calls WeasyPrint (the 批复, the dossier, the disbursement sheet)."""
import gc
from collections.abc import Iterator
from contextlib import contextmanager

from weasyprint import HTML


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the duration, back on afterwards if it was on.

    WeasyPrint allocates a few million objects for a long document (styles, boxes, lines, glyph runs) and keeps
    nearly all of them until the PDF is written. Each automatic collection walks them again and frees nothing:
    a fifth to a quarter of a 200-row disbursement sheet's time (bench/RESULTS.md, seventh round), for the same
    peak memory (286 MB either way, measured). What the render leaves behind is collected by the next pass after
    it. The switch is per process: gunicorn's sync workers serve one request at a time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def html_to_pdf(html: str) -> bytes:
    with collector_paused():
        return HTML(string=html).write_pdf()
