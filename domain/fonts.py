"""The typefaces of the formal documents (公文字体): the zone's uploaded licensed fonts, else free substitutes.

An office expects 仿宋_GB2312 for the body and 方正小标宋 for the title and the organ mark. Both are licensed, so the
administrator uploads the zone's own files in 系统设置; they are checked here for the characters the documents use,
kept as StoredFile rows, and given to WeasyPrint as @font-face rules whose bytes the render's URL fetcher serves
(domain/pdf.py). Without an upload the body falls back to FandolFang (a free 仿宋, installed by `make` into
instance/fonts/) and the title to Noto Serif CJK SC Bold; a family named in the settings and installed on the
server comes before both, as it did before uploads existed.
"""
import hashlib
import io
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from fontTools.ttLib import TTCollection, TTFont, TTLibError
from markupsafe import Markup

from config import INSTANCE_DIR
from models import StoredFile, User, db

from . import DomainError
from .audit import record_event
from .files import clean_filename, keep_file, size_text
from .pdf import FONT_SCHEME, ChildTimeout, PdfRenderError, css_string, render_here, run_in_child
from .settings import DEFAULTS, get_settings, put_setting, setting_row
from .text import without_refused
from .zone_time import local_date

log = logging.getLogger(__name__)

ROLES = ("body", "title")
ROLE_LABELS = {"body": "正文", "title": "标题及发文机关标志"}
EXPECTED = {"body": "仿宋_GB2312", "title": "方正小标宋"}
FILE_SETTINGS = {"body": "body_font_file_id", "title": "title_font_file_id"}
FAMILY_SETTINGS = {"body": "body_font", "title": "title_font"}
# 仿宋_GB2312 is about 4 MB and 方正小标宋_GBK 3-10 MB; a font covering all of GB 18030 runs to 15-20 MB. 25 MB takes
# all of them and leaves room under the request limit (MAX_CONTENT_LENGTH, 32 MB) for the form around one file.
MAX_FONT_BYTES = 25 * 1024 * 1024
# The free 仿宋 that `make` extracts from Debian's texlive-lang-chinese (GPL with the font exception).
SUBSTITUTE = {"body": ("FandolFang-Regular.otf", "FandolFang")}
# The documents' fallback when nothing better is there: Noto Serif CJK SC, Bold where the templates ask for 700.
SYSTEM_FAMILY = "Noto Serif CJK SC"
# What a font file starts with: TrueType (two spellings), CFF-flavoured OpenType, a collection of either.
SFNT_MAGIC = (b"\x00\x01\x00\x00", b"true", b"OTTO")
COLLECTION_MAGIC = b"ttcf"
# The documents' fixed punctuation, on top of the characters of the templates' own text.
PUNCTUATION = "0123456789〔〕（）、，。：；“”"
# A font's full name runs to 20-odd characters (方正小标宋_GBK, FandolFang Regular); a longer one is cut here.
MAX_NAME_LENGTH = 60
# The check of an upload runs in a child (pdf.run_in_child) with this much address space on top of what it inherits,
# and this long. A collection whose faces share one small cmap claiming every code point makes fontTools build a
# dict of 1.1 million entries per face (about 75 MB): 12 faces in 752 bytes took 1.1 GB in the worker.
CHECK_MEMORY_BYTES = 1024 * 1024 * 1024
CHECK_TIMEOUT = 20.0
# A .ttc of the zone's fonts holds a few faces (宋体/新宋体, a family's weights); more is no font we would use.
MAX_COLLECTION_FACES = 16
TOO_COMPLEX = "字体文件“{}”过于复杂，无法在限定的时间和内存内读取，请上传单个字体文件（.ttf 或 .otf）"


@dataclass(frozen=True)
class FontFace:
    """One font file a render loads: its @font-face family, the SHA-256 its URL names, and its bytes."""
    family: str
    sha256: str
    data: bytes = field(repr=False, compare=False)
    weight: int | None = None

    @property
    def rule(self) -> str:
        weight = f" font-weight: {self.weight};" if self.weight else ""
        return (f"@font-face {{ font-family: {css_string(self.family)}; "
                f'src: url("{FONT_SCHEME}{self.sha256}");{weight} }}')


@dataclass(frozen=True)
class FontInUse:
    """What the settings page says of one role: the font's name and where it comes from."""
    role: str
    name: str
    source: str  # "uploaded", "substitute" or "system"
    uploaded_on: date | None = None
    file_id: int | None = None

    @property
    def description(self) -> str:
        if self.source == "uploaded":
            day = self.uploaded_on
            return f"{self.name}（已上传，{day.year}年{day.month}月{day.day}日）"
        if self.source == "substitute":
            return f"{self.name}（免费替代字体，非{EXPECTED[self.role]}，建议上传）"
        if self.name != SYSTEM_FAMILY:
            return f"{self.name}（服务器上安装的字体）"
        if self.role == "title":
            return f"{self.name} 粗体（系统字体，代替{EXPECTED[self.role]}，建议上传）"
        return f"{self.name}（系统字体，非{EXPECTED[self.role]}，建议上传）"


@dataclass(frozen=True)
class DocumentFonts:
    """The fonts of one render of the 批复 or the dossier: CSS font-family lists for the templates, and the faces
    html_to_pdf loads for them."""
    body: Markup
    title: Markup
    face_list: tuple[FontFace, ...]
    in_use: tuple[FontInUse, FontInUse]

    @property
    def faces(self) -> str:
        """The @font-face rules, served by the render's URL fetcher from files()."""
        return "\n".join(face.rule for face in self.face_list)

    def files(self) -> dict[str, bytes]:
        return {face.sha256: face.data for face in self.face_list}

    @property
    def names(self) -> dict[str, str]:
        return {font.role: font.description for font in self.in_use}


# ------------------------------------------------------------------ checking a font file

@dataclass(frozen=True)
class CheckedFont:
    """An uploaded font that passed: the sfnt bytes to keep (one face, taken out of a collection if need be)."""
    data: bytes
    name: str  # for people: the Chinese full name where the font has one
    postscript: str  # ASCII, for the PDF's font name
    extension: str
    note: str = ""  # something the administrator should know (a face taken from a collection, an embedding flag)


def required_characters() -> frozenset[str]:
    """What a document font must cover: every GB 2312 level-1 hanzi (一级字, the 3,755 of bytes B0A1-D7F9), the
    digits and the documents' punctuation, and every character of the 批复's and the dossier's fixed text."""
    chars = set(PUNCTUATION)
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(bytes((high, low)).decode("gb2312"))
            except UnicodeDecodeError:  # D7FA-D7FE are unassigned
                pass
    for template in ("pdf/document.html", "pdf/dossier.html"):
        source = current_app.jinja_loader.get_source(current_app.jinja_env, template)[0]
        source = re.sub(r"\{#.*?#\}|/\*.*?\*/", "", source, flags=re.S)  # comments are not printed
        chars.update(ch for ch in source if ord(ch) > 0x7F and not ch.isspace())
    return frozenset(chars)


def check_font(filename: str, data: bytes, required: frozenset[str]) -> CheckedFont:
    """Read an uploaded file as a font by its content, check that it covers `required` and that WeasyPrint sets every
    one of those characters with it; DomainError, in words an administrator understands, for anything else (an image
    renamed .ttf, a truncated or broken font, a zip, a file that would take too much memory or time to read).

    All the reading happens in a child (pdf.run_in_child) with a memory limit and a timeout: a hostile file makes
    fontTools, FreeType or HarfBuzz spend gigabytes or crash there, and the worker only hears the refusal."""
    if not data:
        raise DomainError(f"文件“{filename}”是空的，请重新选择", "font")
    if len(data) > MAX_FONT_BYTES:
        raise DomainError(f"文件“{filename}”有 {size_text(len(data))}，超过字体文件上限 {size_text(MAX_FONT_BYTES)}",
                          "font")
    magic = data[:4]
    if magic not in SFNT_MAGIC and magic != COLLECTION_MAGIC:
        raise DomainError(f"文件“{filename}”不是 TrueType 或 OpenType 字体（按文件内容判断），"
                          "请上传 .ttf、.otf 或 .ttc 字体文件", "font")
    if magic == COLLECTION_MAGIC and len(data) >= 12 and int.from_bytes(data[8:12], "big") > MAX_COLLECTION_FACES:
        raise DomainError(f"字体集合“{filename}”包含 {int.from_bytes(data[8:12], 'big')} 个字体，超过上限 "
                          f"{MAX_COLLECTION_FACES} 个，请上传单个字体文件（.ttf 或 .otf）", "font")
    try:
        refused, result = run_in_child(_check_in_child, filename, data, required, timeout=CHECK_TIMEOUT,
                                       memory_bytes=CHECK_MEMORY_BYTES)
    except ChildTimeout:
        log.info("font upload %r refused: its check ran out of time", filename)
        raise DomainError(TOO_COMPLEX.format(filename), "font") from None
    except PdfRenderError as error:  # the child died (a crash in C code, or out of memory there) or failed
        log.info("font upload %r refused: its check ended so: %s", filename, error)
        if "MemoryError" in str(error):
            raise DomainError(TOO_COMPLEX.format(filename), "font") from None
        raise DomainError(f"字体“{filename}”无法用于生成 PDF（排版程序无法加载该字体），请换一个字体文件", "font") from None
    if refused:
        raise DomainError(result, "font")
    return result


def _check_in_child(filename: str, data: bytes, required: frozenset[str]) -> tuple[bool, CheckedFont | str]:
    """check_font's work, in its child: (False, the checked font), or (True, why it is refused)."""
    try:
        checked = _read_font(filename, data, required)
    except DomainError as error:
        return True, error.message
    except MemoryError:
        return True, TOO_COMPLEX.format(filename)
    try:
        _check_renders(checked, required)
    except MemoryError:
        return True, TOO_COMPLEX.format(filename)
    except Exception as error:  # noqa: BLE001 - whatever WeasyPrint raised, the font cannot be used
        log.info("font upload %r refused by the renderer: %s: %s", filename, type(error).__name__, error)
        return True, f"字体“{filename}”无法用于生成 PDF（排版程序无法加载该字体），请换一个字体文件"
    return False, checked


def _read_font(filename: str, data: bytes, required: frozenset[str]) -> CheckedFont:
    """fontTools' half of the check: the file parses, its tables are intact, it covers `required`."""
    try:
        if data[:4] == COLLECTION_MAGIC:
            return _check_collection(filename, data, required)
        font = TTFont(io.BytesIO(data), lazy=True)
        _check_intact(font, len(data))
        missing = _missing(font, required)
        if missing:
            raise DomainError(_missing_message(filename, missing), "font")
        return _checked(font, data, "")
    except (DomainError, MemoryError):
        raise
    except Exception as error:  # noqa: BLE001 - fontTools raises many kinds on a broken file; all mean "broken"
        log.info("font upload %r refused: %s: %s", filename, type(error).__name__, error)
        raise DomainError(f"文件“{filename}”无法作为字体读取（文件可能已损坏或不完整），请重新导出后再上传",
                          "font") from None


def _check_collection(filename: str, data: bytes, required: frozenset[str]) -> CheckedFont:
    """A .ttc holds several faces, and a @font-face rule can name only a whole file: keep the first face that
    covers the documents, written out as a font of its own."""
    collection = TTCollection(io.BytesIO(data), lazy=True)
    if not collection.fonts:
        raise TTLibError("empty collection")
    fewest = None
    for font in collection.fonts:
        missing = _missing(font, required)
        if not missing:
            out = io.BytesIO()
            font.save(out, reorderTables=False)
            single = TTFont(io.BytesIO(out.getvalue()), lazy=True)
            _check_intact(single, len(out.getvalue()))
            note = (f"“{filename}”是包含 {len(collection.fonts)} 个字体的字体集合，已使用其中的“{_display_name(font)}”。"
                    if len(collection.fonts) > 1 else "")
            return _checked(single, out.getvalue(), note)
        if fewest is None or len(missing) < len(fewest):
            fewest = missing
    raise DomainError(_missing_message(filename, fewest), "font")


def _check_intact(font: TTFont, size: int) -> None:
    """Every table lies inside the file, and the tables a render needs are there and parse."""
    for tag, entry in font.reader.tables.items():
        if entry.offset + entry.length > size:
            raise TTLibError(f"table {tag} runs past the end of the file")
    if "glyf" not in font and "CFF " not in font and "CFF2" not in font:
        raise TTLibError("no outlines")
    for tag in ("head", "hhea", "maxp", "cmap", "name"):
        font[tag]  # noqa: B018 - decompiles the table, raising on a broken one


def _missing(font: TTFont, required: frozenset[str]) -> list[str]:
    cmap = font.getBestCmap() or {}
    return sorted(ch for ch in required if ord(ch) not in cmap)


def _missing_message(filename: str, missing: list[str]) -> str:
    shown = "".join(missing[:10])
    return (f"字体“{filename}”缺少公文用字 {len(missing)} 个（如：{shown}{'…' if len(missing) > 10 else ''}），"
            "请上传包含全部 GB 2312 一级汉字的字体（如仿宋_GB2312、方正小标宋）")


def _checked(font: TTFont, data: bytes, note: str) -> CheckedFont:
    fs_type = getattr(font["OS/2"], "fsType", 0) if "OS/2" in font else 0
    if (fs_type & 0x000F) == 0x0002 or fs_type & 0x0300:
        # Restricted licence embedding, no subsetting or bitmap only: the maker says the font must not be embedded
        # as WeasyPrint embeds it (an outline subset). The zone's licence may still allow it; the administrator
        # knows, and is told. Refusing would leave the zone with no way to use the font it paid for.
        note += "该字体文件声明限制嵌入（OS/2 fsType），请确认本区的授权许可允许将其子集嵌入印发的 PDF 文件。"
    return CheckedFont(data=data, name=_display_name(font), postscript=_postscript_name(font),
                       extension=".otf" if data[:4] == b"OTTO" else ".ttf", note=note)


def _display_name(font: TTFont) -> str:
    """The font's full name, in Chinese where it has one (仿宋_GB2312, 方正小标宋_GBK), as the audit trail, the
    settings page and the stored file's name may show it: the name table is the uploader's text, so the characters
    the single-line rule refuses (bidi controls, NUL, which PostgreSQL refuses to store) go, and so does what runs
    past MAX_NAME_LENGTH."""
    names = font["name"]
    for name_id in (4, 1):
        candidates = [record.toUnicode() for record in names.names
                      if record.nameID == name_id and record.platformID == 3 and record.langID in (0x804, 0x404, 0xC04)]
        for text in candidates + [names.getDebugName(name_id) or ""]:
            text = without_refused(text).strip()[:MAX_NAME_LENGTH].strip()
            if text:
                return text
    return "未命名字体"


def _postscript_name(font: TTFont) -> str:
    name = font["name"].getDebugName(6) or ""
    return re.sub(r"[^A-Za-z0-9_-]", "", name)[:60]


# ------------------------------------------------------------------ the settings verbs

def set_document_font(role: str, filename: str, data: bytes, *, actor: User) -> tuple[StoredFile, str]:
    """Upload the zone's licensed font for a role (上传公文字体): checked, kept, and used by the documents issued
    from now on. Returns the stored file and a note for the administrator (may be empty)."""
    if role not in ROLES:
        raise DomainError("未知的字体用途", "font")
    checked = check_font(filename, data, required_characters())
    stored = keep_file(clean_filename(checked.name, checked.extension), "font/sfnt", checked.data, actor=actor)
    db.session.flush()
    key = FILE_SETTINGS[role]
    put_setting(key, str(stored.id))
    record_event("set_document_font", setting_row(key), actor,
                 f"上传{ROLE_LABELS[role]}字体 {checked.name}（文件 {filename}）")
    return stored, checked.note


def remove_document_font(role: str, *, actor: User) -> None:
    """Stop using the uploaded font of a role (删除公文字体); the documents fall back to the substitute. The file stays
    in the database: documents issued with it keep their embedded copy anyway, and the audit trail names it."""
    if role not in ROLES:
        raise DomainError("未知的字体用途", "font")
    key = FILE_SETTINGS[role]
    if not get_settings()[key]:
        raise DomainError(f"尚未上传{ROLE_LABELS[role]}字体", "font")
    put_setting(key, "")
    record_event("remove_document_font", setting_row(key), actor, f"停用上传的{ROLE_LABELS[role]}字体")


def _check_renders(checked: CheckedFont, required: frozenset[str]) -> None:
    """fontTools read the file; now let fontconfig, FreeType and HarfBuzz, which set the documents, load it and set
    every character the documents may use, so that a glyph that crashes them does so here, not when a 批复 is issued."""
    sha256 = hashlib.sha256(checked.data).hexdigest()
    family = _family_alias("check", checked.postscript, sha256)
    face = FontFace(family=family, sha256=sha256, data=checked.data)
    fonts = DocumentFonts(body=css_string(family), title=css_string(family), face_list=(face,), in_use=())
    text = "".join(sorted(required))
    render_here(f"<p style='font-family: {fonts.body}'>{text}</p>", fonts=fonts)


# ------------------------------------------------------------------ choosing the fonts of a render

def fonts_in_use(settings: dict[str, str] | None = None) -> tuple[FontInUse, FontInUse]:
    """Which font each role uses now, for the settings page; reads no font bytes from the database."""
    settings = settings or get_settings()
    return tuple(_choose(role, settings)[0] for role in ROLES)


def document_fonts(settings: dict[str, str]) -> DocumentFonts:
    """The fonts of a 批复 or dossier rendered now (see the module's docstring for the order of preference). Reads
    the faces' bytes here, in the request, so that a render in a forked child never touches the database."""
    families, faces, in_use = {}, [], []
    for role in ROLES:
        font, loader = _choose(role, settings)
        face = loader() if loader is not None else None
        # Each glyph a face lacks (a rare character in a name) comes from the next family that has it.
        names = ([face.family] if face else []) + [settings[FAMILY_SETTINGS[role]], SYSTEM_FAMILY]
        families[role] = Markup(", ".join(dict.fromkeys(css_string(name) for name in names)) + ", serif")
        faces += [face] if face else []
        in_use.append(font)
    return DocumentFonts(body=families["body"], title=families["title"], face_list=tuple(faces),
                         in_use=tuple(in_use))


def _family_alias(role: str, postscript: str, sha256: str) -> str:
    """The @font-face family of a role's face: its own, so that no installed font of the same name can stand in
    for it, and carrying the PostScript name, which the PDF's font list shows (…+zone-body-FangSong_GB2312)."""
    return f"zone-{role}-{postscript or sha256[:12]}"


def _choose(role: str, settings: dict[str, str]):
    """(what is in use, a loader of its face or None): the upload, else an installed family the administrator
    named, else the free substitute, else the system family."""
    file_id = settings[FILE_SETTINGS[role]]
    if file_id:
        row = db.session.execute(sa.select(StoredFile.id, StoredFile.filename, StoredFile.sha256,
                                           StoredFile.created_at).where(StoredFile.id == int(file_id))).first()
        if row is not None:
            font = FontInUse(role, row.filename.rsplit(".", 1)[0], "uploaded", local_date(row.created_at), row.id)
            return font, lambda: _uploaded_face(role, row.id, row.sha256)
        log.error("the %s font's stored file %s is gone; using the substitute", role, file_id)
    family = settings[FAMILY_SETTINGS[role]]
    if family != DEFAULTS[FAMILY_SETTINGS[role]]:
        return FontInUse(role, family, "system"), None
    substitute = _substitute(role)
    if substitute is not None:
        name, path, sha256 = substitute
        return FontInUse(role, name, "substitute"), lambda: _substitute_face(role, path, sha256)
    return FontInUse(role, family, "system"), None


# ------------------------------------------------------------------ font bytes, cached per process

# A render must not read 7-25 MB from the database each time: the bytes of the faces in use stay in the process,
# found by their SHA-256, least recently used first out past the budget (two roles, an old upload, the substitute).
CACHE_BYTES = 64 * 1024 * 1024
_cache: "OrderedDict[str, tuple[bytes, str]]" = OrderedDict()
_cache_lock = threading.Lock()
# The substitute file's (path, size, mtime) -> its SHA-256, or None where it failed the check: checked once.
_substitutes: dict[tuple, str | None] = {}


def _cached(sha256: str, load) -> tuple[bytes, str]:
    """(bytes, PostScript name) of a font, from the cache or from load()."""
    with _cache_lock:
        if sha256 in _cache:
            _cache.move_to_end(sha256)
            return _cache[sha256]
    data = load()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise PdfRenderError("字体文件与其记录的校验值不符，请在系统设置中重新上传字体。")
    entry = (data, _postscript_name(TTFont(io.BytesIO(data), lazy=True)))
    with _cache_lock:
        _cache[sha256] = entry
        while sum(len(d) for d, _ in _cache.values()) > CACHE_BYTES and len(_cache) > 1:
            _cache.popitem(last=False)
    return entry


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
    _substitutes.clear()


def _uploaded_face(role: str, file_id: int, sha256: str) -> FontFace:
    data, postscript = _cached(sha256, lambda: db.session.get(StoredFile, file_id).data)
    return FontFace(_family_alias(role, postscript, sha256), sha256, data, 700 if role == "title" else None)


def _substitute_face(role: str, path: Path, sha256: str) -> FontFace:
    data, postscript = _cached(sha256, path.read_bytes)
    return FontFace(_family_alias(role, postscript, sha256), sha256, data, 700 if role == "title" else None)


def font_dir() -> Path:
    return Path(current_app.config.get("FONT_DIR") or INSTANCE_DIR / "fonts")


def _substitute(role: str) -> tuple[str, Path, str] | None:
    """(name, path, SHA-256) of the role's free substitute where its file is there and covers the documents."""
    if role not in SUBSTITUTE:
        return None
    filename, name = SUBSTITUTE[role]
    path = font_dir() / filename
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _substitutes:
        try:
            data = path.read_bytes()
            check_font(filename, data, required_characters())
            _substitutes[key] = hashlib.sha256(data).hexdigest()
        except (OSError, DomainError) as error:
            log.warning("the substitute font %s is not used: %s", path, error)
            _substitutes[key] = None
    sha256 = _substitutes[key]
    return (name, path, sha256) if sha256 else None
