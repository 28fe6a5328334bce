"""HTML to PDF: the one place the app calls WeasyPrint (the 批复, the dossier, the disbursement sheet)."""
import base64
import binascii
import gc
import logging
import math
import multiprocessing
import os
import resource
import shutil
import signal
import tempfile
import threading
import traceback
from typing import Protocol
from urllib.parse import unquote_to_bytes

from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

log = logging.getLogger(__name__)


class Faces(Protocol):
    """What a render needs of the fonts it is handed (domain/fonts.py, DocumentFonts): the faces, their @font-face
    rules, and the bytes those rules name."""

    face_list: tuple

    @property
    def faces(self) -> str: ...

    def files(self) -> dict[str, bytes]: ...


_FORK = multiprocessing.get_context("fork")
# A render in a forked child gives up after this long, under gunicorn's 30-s worker timeout, so that the user gets
# an error page rather than a killed worker. The 200-row sheet takes 2 s on this 2-core machine.
CHILD_TIMEOUT = 25.0
# Held by every render in this process and by every fork: a child is never forked while another thread is inside
# WeasyPrint's C libraries (fontconfig, Pango), whose locks it would inherit held, and deadlock on. WeasyPrint holds
# the GIL for most of a render, so threads of one worker gain nothing by rendering at the same time anyway.
_render_lock = threading.Lock()


# What a document may embed: the seal (PNG), a photo (JPEG) and the QR code (SVG), each as a data: URI.
ASSET_TYPES = frozenset({"image/png", "image/jpeg", "image/svg+xml"})
# The URL of a font face the render was handed (domain/fonts.py): this scheme, then the SHA-256 of its bytes.
FONT_SCHEME = "zone-font:"


class AssetFetcher(URLFetcher):
    """The URL fetcher of every render: it serves the data: URIs of the images the app embeds, and the fonts the
    render was handed as bytes (zone-font:<sha256>, domain/fonts.py), and refuses every other URL, whatever its
    scheme (http, https, file, ftp, a data: URI of another type, a zone-font: URL of bytes it was not handed), so
    that no text in a document, however it got there, can make the server fetch or read anything. A refusal is
    logged and WeasyPrint leaves the resource out."""

    def __init__(self, fonts: dict[str, bytes] | None = None):
        super().__init__(allowed_protocols=(), allow_redirects=False)
        self._fonts = fonts or {}

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        if url.startswith(FONT_SCHEME) and url[len(FONT_SCHEME):] in self._fonts:
            return URLFetcherResponse(url, self._fonts[url[len(FONT_SCHEME):]], {"Content-Type": "font/sfnt"})
        try:
            media_type, data = read_data_uri(url)
        except ValueError:
            log.warning("PDF render refused to fetch %.200r", url)
            raise
        return URLFetcherResponse(url, data, {"Content-Type": media_type})


def read_data_uri(url: str) -> tuple[str, bytes]:
    """The media type and bytes of a data: URI of an ASSET_TYPES type; ValueError for anything else."""
    if url[:5].lower() != "data:" or "," not in url:
        raise ValueError("not a data: URI")
    header, _, payload = url[5:].partition(",")
    media_type, *params = (part.strip().lower() for part in header.split(";"))
    if media_type not in ASSET_TYPES:
        raise ValueError(f"data: URI of type {media_type!r}")
    data = unquote_to_bytes(payload)
    if "base64" in params:
        try:
            data = base64.b64decode(data, validate=True)
        except binascii.Error:
            raise ValueError("data: URI with broken base64") from None
    return media_type, data


def css_string(value: str) -> Markup:
    """Any text as a CSS string literal, quotes included: every character but letters, digits and spaces is written
    as a hexadecimal escape, so that no quote, brace, backslash, newline or "</style>" can end the string or the
    style sheet. For the few settings a style sheet must name (the fonts); the text of users never goes there."""
    escaped = "".join(ch if ch.isalnum() or ch == " " else f"\\{ord(ch):x} " for ch in str(value))
    return Markup(f'"{escaped}"')


def _render(html: str, relayout=None, fonts: Faces | None = None, relayouts: int = 1) -> bytes:
    fetcher = AssetFetcher(fonts.files() if fonts is not None else None)
    # Per render, and only for faces: it writes them to a temporary folder of its own.
    font_config = FontConfiguration() if fonts is not None and fonts.face_list else None
    try:
        options = {}
        if font_config is not None:
            with _FaceFailures() as failures:
                faces = CSS(string=fonts.faces, font_config=font_config, url_fetcher=fetcher)
            if failures:
                # WeasyPrint would set the text in the next family of the list, and an issued document never changes.
                raise PdfRenderError(f"字体无法加载：{'；'.join(failures)}")
            options = {"stylesheets": [faces], "font_config": font_config}
        document = HTML(string=html, url_fetcher=fetcher).render(**options)
        for _ in range(relayouts if relayout is not None else 0):
            if (again := relayout(document.pages)) is None:
                break
            document = HTML(string=again, url_fetcher=fetcher).render(**options)
        return document.write_pdf()
    finally:
        if font_config is not None:
            # Its finaliser removes that folder (7 MB for FandolFang). Called now: a forked child ends with
            # os._exit, which runs no finaliser, and would leave the folder behind at every dossier.
            font_config.__del__()


class _FaceFailures(logging.Handler):
    """Collects WeasyPrint's "Font-face … cannot be loaded" while the faces load (WeasyPrint only logs them)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.failures: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if str(record.msg).startswith("Font-face"):
            self.failures.append(record.getMessage())

    def __enter__(self) -> list[str]:
        logging.getLogger("weasyprint").addHandler(self)
        return self.failures

    def __exit__(self, *exc) -> None:
        logging.getLogger("weasyprint").removeHandler(self)


class PdfRenderError(RuntimeError):
    """A PDF rendered in a child process did not come back: the child failed, died or ran out of time."""


def html_to_pdf(html: str, *, in_child: bool = False, relayout=None, relayouts: int = 1,
                fonts: Faces | None = None) -> bytes:
    """The PDF of an HTML document. in_child: rendered in a child process forked for it, which sends the PDF
    back through a pipe and exits, for a document whose render would otherwise leave the worker bigger.
    relayout: for a document that must see where its pages fell before it is written (the 批复's 版记), called
    with the laid-out pages (WeasyPrint's, each with the .anchors of its elements' ids); it returns the HTML to
    lay out instead, or None to write these pages. It is called on each layout it asked for too, `relayouts` times
    at most: a document that must check its last layout passes one more than the layouts it may ask for, and
    raises on that last call rather than return HTML. A render in a child calls it there (forked: a closure does).
    fonts: the faces of domain.fonts.document_fonts, which the HTML names through fonts.body and fonts.title (the
    批复 and the dossier; the disbursement sheet keeps its system font, and no 7-MB face to load).

    The disbursement sheet and the dossier are rendered so. WeasyPrint peaks at 286 MB on a 200-row sheet, and in
    the worker most of that heap stayed afterwards (a worker of 118 MB grew to 168 MB after one sheet, 257 MB after
    two). A dossier leaves less (30 of them: 117 to 136 MB), but with both rendered in the worker the bench's mixed
    load left a worker at 219-220 MB; with both in children, at 133-134 MB (bench/RESULTS.md, seventh round). A
    child gives all of its heap back when it exits. The fork costs about 100 ms (the child loads the fonts anew),
    which a 2-s sheet and a 200-ms dossier can afford; the 批复, rendered once when it is issued and then stored,
    stays in-process, where it takes 150 ms.
    """
    if not in_child:
        with _render_lock:
            return _render_without_collector(html, relayout, fonts, relayouts)
    return run_in_child(_render, html, relayout, fonts, relayouts)


class ChildTimeout(PdfRenderError):
    """The child ran out of time and was stopped."""


def run_in_child(work, *args, timeout: float | None = None, memory_bytes: int | None = None):
    """work(*args) in a child process forked for it, its result sent back through a pipe: the one fork of the app,
    for the renders (html_to_pdf) and the check of an uploaded font (domain/fonts.py). The child gives all of its
    heap back when it exits, and a crash in C code (FreeType, HarfBuzz) ends it, not the worker. timeout: seconds
    (CHILD_TIMEOUT by default) before the parent stops it (ChildTimeout). memory_bytes: how much address space the
    child may add to what it inherits (RLIMIT_AS), past which its allocations fail with MemoryError.

    The temporary folder the child writes to (WeasyPrint copies each face into one) is made here and removed here
    after the child is gone, however it ended: a child killed at its timeout, or by a crash, runs no clean-up."""
    timeout = CHILD_TIMEOUT if timeout is None else timeout
    folder = tempfile.mkdtemp(prefix="zone-child-")
    try:
        # The pipe is made and its sending end closed here under the lock too: a child forked meanwhile for another
        # thread's render would otherwise inherit this sending end and hold it open, and a death of this child
        # would be noticed only when that other child exits.
        with _render_lock:
            receive, send = _FORK.Pipe(duplex=False)
            child = _FORK.Process(target=_work_in_child, args=(work, args, send, folder, timeout, memory_bytes),
                                  name="pdf-render", daemon=True)
            child.start()
            send.close()  # only the child holds the sending end now: if it dies, recv() ends with EOFError
        try:
            if not receive.poll(timeout):
                child.kill()
                raise ChildTimeout(f"生成 PDF 超过 {timeout:.0f} 秒仍未完成，已停止，请稍后重试。")
            failed, payload = receive.recv()
        except EOFError:
            raise PdfRenderError("生成 PDF 的进程意外退出，请稍后重试。") from None
        finally:
            receive.close()
            child.join()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if failed:  # the child's error, as text: an exception object may not survive the trip through the pipe
        raise PdfRenderError(f"生成 PDF 失败：{payload}")
    return payload


def _work_in_child(work, args, send, folder: str, timeout: float, memory_bytes: int | None) -> None:
    """The child runs work and nothing else. It answers signals as a plain process would, not with the handlers of
    the gunicorn worker it was forked from (which would only mark the worker for a graceful exit), and keeps its
    collector off: its exit frees everything it allocated at once. Its own alarm ends it a moment after the parent
    would have given up on it, so that a child whose worker died first (killed by gunicorn, or by a person) does not
    work on for nobody. Its temporary files go to the parent's folder."""
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP,
                   signal.SIGALRM):
        signal.signal(number, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    signal.alarm(math.ceil(timeout) + 1)  # SIGALRM's default action ends the process, even inside C code
    gc.disable()
    tempfile.tempdir = folder
    os.environ["TMPDIR"] = folder  # for C libraries that make files of their own
    if memory_bytes is not None:
        limit = _address_space() + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        result = work(*args)
        send.send((False, result))
    except Exception as error:  # noqa: BLE001 - reported to the parent, which raises it in the request
        traceback.print_exc()  # the whole traceback in the server's log; the request gets its last line
        send.send((True, f"{type(error).__name__}: {error}"))
    finally:
        send.close()


def _address_space() -> int:
    """The bytes of address space this process holds now (VmSize), which RLIMIT_AS counts from."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def render_here(html: str, fonts: Faces | None = None) -> bytes:
    """The PDF of an HTML document, rendered in the calling process without taking the render lock: for work that
    already runs in a child of run_in_child (which inherits the lock held, as the fork happens under it)."""
    return _render(html, fonts=fonts)


def _render_without_collector(html: str, relayout=None, fonts=None, relayouts: int = 1) -> bytes:
    """Python's cyclic garbage collector off for the render, back on afterwards if it was on.

    WeasyPrint allocates hundreds of thousands of objects for a long document (styles, boxes, lines, glyph runs)
    and keeps nearly all of them until the PDF is written. Each automatic collection walks them again and frees
    nothing: on the 200-row sheet, a fifth of its time (1.9-2.1 s against 1.5 s of CPU, bench/RESULTS.md, seventh
    round) for the same peak memory. What the render leaves behind is collected by the next pass after it. Called
    under _render_lock, so two renders never race on the switch."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _render(html, relayout, fonts, relayouts)
    finally:
        if was_enabled:
            gc.enable()
