"""HTML to PDF: the one place the app calls WeasyPrint (the 批复, the dossier, the disbursement sheet)."""
import gc
import multiprocessing
import os
from collections.abc import Iterator
from contextlib import contextmanager

from weasyprint import HTML

_FORK = multiprocessing.get_context("fork")


class PdfRenderError(RuntimeError):
    """The child process rendering a PDF exited without sending it (killed, or out of memory)."""


def html_to_pdf(html: str, *, in_child: bool = False) -> bytes:
    """The PDF of an HTML document. in_child: rendered in a child process forked for it, which sends the PDF
    back through a pipe and exits, for a document whose render would otherwise leave the worker much bigger.

    The 200-row disbursement sheet is one: WeasyPrint peaks at 286 MB on it, and rendered in the worker most of
    that heap stayed with the worker afterwards (a worker of 118 MB grew to 168 MB after one sheet and 257 MB after
    two; after the bench's mixed load, 219 MB: bench/RESULTS.md, seventh round). A child gives it all back when it
    exits. The fork costs about 100 ms (the child loads the fonts anew), which a 2-s sheet can afford and a 150-ms
    批复 cannot; the 批复 and the dossier, which leave little behind (30 dossiers: 117 to 136 MB), stay in-process.
    """
    if not in_child:
        with collector_paused():
            return HTML(string=html).write_pdf()
    receive, send = _FORK.Pipe(duplex=False)
    child = _FORK.Process(target=_render_in_child, args=(html, send), name="pdf-render")
    child.start()
    send.close()  # only the child holds the sending end now: if it dies, recv() ends with EOFError
    try:
        failed, payload = receive.recv()
    except EOFError:
        raise PdfRenderError("生成 PDF 的进程意外退出，请稍后重试。") from None
    finally:
        receive.close()
        child.join()
    if failed:
        raise payload
    return payload


def _render_in_child(html: str, send) -> None:
    """The child runs WeasyPrint and nothing else; its exit frees all it allocated, so the collector stays off."""
    gc.disable()
    try:
        send.send((False, HTML(string=html).write_pdf()))
    except Exception as error:  # noqa: BLE001 - sent to the parent, which raises it in the request
        try:
            send.send((True, error))
        except Exception:  # noqa: BLE001 - an error that cannot be pickled: its text will do
            send.send((True, RuntimeError(f"{type(error).__name__}: {error}")))
    finally:
        send.close()
        os._exit(0)  # nothing of the parent's (atexit handlers, buffered output) runs twice


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the duration, back on afterwards if it was on.

    WeasyPrint allocates a few million objects for a long document (styles, boxes, lines, glyph runs) and keeps
    nearly all of them until the PDF is written. Each automatic collection walks them again and frees nothing:
    a fifth of a 200-row disbursement sheet's time (bench/RESULTS.md, seventh round), for the same peak memory
    (286 MB either way, measured). What the render leaves behind is collected by the next pass after it. The
    switch is per process: gunicorn's sync workers serve one request at a time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
