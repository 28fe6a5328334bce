"""The documents' fonts (公文字体): the upload in 系统设置 and its checks, the substitute, and the faces a render embeds.

The fonts uploaded here are built by the test with fontTools: every character the documents need mapped to one
square glyph (a few KB, built in milliseconds). Subsetting a real CJK font takes 7-11 s, and no font file is kept
in the repository."""
import io
import multiprocessing
import os
import resource
import struct
import subprocess
import zipfile

import pytest
import sqlalchemy as sa
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont
from fontTools.ttLib.tables.DefaultTable import DefaultTable

from config import INSTANCE_DIR
from domain import DomainError, fonts
from domain.documents import render_dossier
from domain.pdf import AssetFetcher, html_to_pdf
from domain.settings import get_settings
from models import Application, AuditEvent, Document, Role, StoredFile, db
from tests.test_documents import approve

ACTORS = ["applicant", "unit_reviewer", "zone_approver", "instructor", "finance"]


def build_font(chars, *, family="TestFang", chinese="测试仿宋", fs_type=0) -> bytes:
    """A TrueType font mapping each of chars to one square glyph, named family (English) and chinese (zh-CN)."""
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder([".notdef", "box"])
    builder.setupCharacterMap({ord(ch): "box" for ch in chars})
    pen = TTGlyphPen(None)
    pen.moveTo((100, -100)), pen.lineTo((100, 800)), pen.lineTo((900, 800)), pen.lineTo((900, -100)), pen.closePath()
    box = pen.glyph()
    builder.setupGlyf({".notdef": TTGlyphPen(None).glyph(), "box": box})
    builder.setupHorizontalMetrics({".notdef": (1000, 0), "box": (1000, 100)})
    builder.setupHorizontalHeader(ascent=880, descent=-120)
    builder.setupNameTable({"familyName": family, "styleName": "Regular", "psName": f"{family}-Regular"})
    for name_id, text in ((1, chinese), (4, chinese)):
        builder.font["name"].setName(text, name_id, 3, 1, 0x804)
    builder.setupOS2(fsType=fs_type, sTypoAscender=880, sTypoDescender=-120, usWinAscent=880, usWinDescent=120)
    builder.setupPost()
    out = io.BytesIO()
    builder.save(out)
    return out.getvalue()


@pytest.fixture
def required(app):
    with app.app_context():
        return fonts.required_characters()


@pytest.fixture
def good_font(required):
    return build_font(required)


@pytest.fixture
def no_substitute(app, tmp_path):
    """No FandolFang: whatever `make` put in instance/fonts/ does not decide what these tests see."""
    app.config["FONT_DIR"] = str(tmp_path / "no-fonts")


def upload(client, role, data, filename="font.ttf"):
    return client.post(f"/admin/settings/fonts/{role}", data={"font": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def test_required_characters_are_level_one_hanzi_and_the_templates_text(required):
    assert len([ch for ch in required if "\u4e00" <= ch <= "\u9fff"]) >= 3755
    assert set("0123456789〔〕（）、，。：；“”") <= required
    assert {"批", "悉", "隶", "档", "—"} <= required  # the templates' own text: 批复, 收悉, 隶属, 档案, "— 1 —"
    assert not any(ch.isascii() for ch in required - set("0123456789"))


def test_the_settings_page_says_which_fonts_are_in_use(client, login_as, no_substitute):
    login_as("admin")
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "Noto Serif CJK SC（系统字体，非仿宋_GB2312，建议上传）" in page
    assert "Noto Serif CJK SC 粗体（系统字体，代替方正小标宋，建议上传）" in page
    assert 'action="/admin/settings/fonts/body"' in page and 'action="/admin/settings/fonts/title"' in page
    assert "停用已上传" not in page


def test_admin_uploads_and_removes_a_font(app, client, login_as, good_font, no_substitute):
    login_as("admin")
    response = upload(client, "body", good_font, "FS_GB2312.TTF")
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "已上传正文字体“测试仿宋”" in page
    assert "测试仿宋（已上传，" in page and "停用已上传的正文字体" in page
    with app.app_context():
        file_id = int(get_settings()["body_font_file_id"])
        stored = db.session.get(StoredFile, file_id)
        assert stored.filename == "测试仿宋.ttf" and stored.data == good_font
        assert db.session.scalar(sa.select(AuditEvent.summary).where(AuditEvent.action == "set_document_font"))
    response = client.post("/admin/settings/fonts/body/remove", follow_redirects=True)
    assert "已停用上传的正文字体" in response.get_data(as_text=True)
    with app.app_context():
        assert get_settings()["body_font_file_id"] == ""
        assert db.session.get(StoredFile, file_id) is not None  # kept: the audit trail names it
    again = client.post("/admin/settings/fonts/body/remove", follow_redirects=True).get_data(as_text=True)
    assert "尚未上传正文字体" in again



def test_a_font_name_with_controls_is_cleaned_and_cut_before_it_is_shown_or_stored(app, client, login_as, required,
                                                                                  no_substitute):
    """The name table is the uploader's text: a right-to-left override, a NUL (which PostgreSQL refuses in a text
    column) and 300 characters reach neither the audit trail, nor the stored file's name, nor the page."""
    hostile = "\u202e仿宋\x00GB2312" + "宋" * 300
    login_as("admin")
    response = upload(client, "body", build_font(required, chinese=hostile), "fs.ttf")
    assert response.status_code == 302, response.get_data(as_text=True)
    clean = ("仿宋GB2312" + "宋" * 300)[:fonts.MAX_NAME_LENGTH]
    page = client.get("/admin/settings").get_data(as_text=True)
    assert f"已上传正文字体“{clean}”" in page and "\u202e" not in page and "\x00" not in page
    with app.app_context():
        summary = db.session.scalar(sa.select(AuditEvent.summary).where(AuditEvent.action == "set_document_font"))
        assert summary == f"上传正文字体 {clean}（文件 fs.ttf）"
        stored = db.session.get(StoredFile, int(get_settings()["body_font_file_id"]))
        assert stored.filename == f"{clean}.ttf"


@pytest.mark.parametrize("role", ACTORS)
def test_only_the_admin_may_upload_or_remove_a_font(client, login_as, role, good_font):
    login_as(role)
    assert upload(client, "body", good_font).status_code == 403
    assert client.post("/admin/settings/fonts/title/remove").status_code == 403


def test_anonymous_is_sent_to_log_in(client, good_font):
    assert "/auth/login" in upload(client, "title", good_font).headers["Location"]


def _png() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("FangSong.ttf", b"\x00\x01\x00\x00" + b"x" * 100)
    return out.getvalue()


@pytest.mark.parametrize("make, message", [
    (lambda font: _png(), "不是 TrueType 或 OpenType 字体"),
    (lambda font: _zip(), "不是 TrueType 或 OpenType 字体"),
    (lambda font: b"", "是空的"),
    (lambda font: font[: len(font) // 2], "无法作为字体读取"),
    (lambda font: font[:12] + b"\xff" * 500, "无法作为字体读取"),
    (lambda font: b"\x00\x01\x00\x00" + b"\x00" * fonts.MAX_FONT_BYTES, "超过字体文件上限 25 MB"),
])
def test_hostile_uploads_are_refused_with_a_reason(app, client, login_as, good_font, make, message, no_substitute):
    login_as("admin")
    response = upload(client, "body", make(good_font), "仿宋_GB2312.ttf")
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    with app.app_context():
        assert get_settings()["body_font_file_id"] == ""


def test_check_font_refuses_an_empty_file(ctx, required):
    with pytest.raises(DomainError, match="是空的"):
        fonts.check_font("x.ttf", b"", required)


def test_a_font_lacking_characters_is_refused_naming_them(app, client, login_as, required, no_substitute):
    login_as("admin")
    lacking = sorted(required - set("的一是了"))
    page = upload(client, "title", build_font(lacking), "小标宋.ttf").get_data(as_text=True)
    assert "缺少公文用字 4 个（如：" in page and all(ch in page for ch in "的一是了")


def test_a_collection_gives_the_face_that_covers_the_documents(ctx, required):
    collection = _collection_of(build_font("党组织", family="Partial", chinese="残缺"),
                                build_font(required, family="Whole", chinese="完整"))
    checked = fonts.check_font("fonts.ttc", collection, required)
    assert checked.name == "完整" and "包含 2 个字体的字体集合" in checked.note
    assert TTFont(io.BytesIO(checked.data))["name"].getDebugName(1) == "Whole"
    with pytest.raises(DomainError, match="缺少公文用字"):
        fonts.check_font("fonts.ttc", _collection_of(build_font("党")), required)


def _collection_of(*faces: bytes) -> bytes:
    collection = TTCollection()
    collection.fonts = [TTFont(io.BytesIO(face)) for face in faces]
    out = io.BytesIO()
    collection.save(out)
    return out.getvalue()



def _claiming_everything_but(ch: str) -> bytes:
    """A 1-glyph TrueType font whose cmap (format 13, 12 bytes a range) maps every code point but ch to its glyph:
    fontTools decodes it into a dict of 1.1 million entries, about 75 MB."""
    font = TTFont(io.BytesIO(build_font("A")))
    groups = [(0, ord(ch) - 1, 1), (ord(ch) + 1, 0x10FFFF, 1)]
    subtable = struct.pack(">HHLLL", 13, 0, 16 + 12 * len(groups), 0, len(groups))
    subtable += b"".join(struct.pack(">LLL", *group) for group in groups)
    cmap = DefaultTable("cmap")
    cmap.data = struct.pack(">HH", 0, 1) + struct.pack(">HHL", 3, 10, 12) + subtable
    font["cmap"] = cmap
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _faces_sharing_one_font(face: bytes, count: int) -> bytes:
    """A .ttc of count faces that all point at the same table directory: a few hundred bytes, whatever count."""
    header = 12 + 4 * count
    tables = bytearray(face)
    for index in range(struct.unpack(">H", face[4:6])[0]):
        at = 12 + 16 * index + 8
        tables[at:at + 4] = struct.pack(">L", struct.unpack(">L", face[at:at + 4])[0] + header)
    return b"ttcf" + struct.pack(">HHL", 1, 0, count) + struct.pack(">L", header) * count + bytes(tables)


def test_a_collection_built_to_exhaust_memory_is_refused_without_the_worker_growing(app, client, login_as,
                                                                                  no_substitute):
    """16 faces (the most a collection may have) sharing one cmap that claims all of Unicode but 一: 16 x 75 MB of
    decoded cmap, from a file under 1 KB. The check's child hits its memory limit; the worker stays as it was."""
    bomb = _faces_sharing_one_font(_claiming_everything_but("一"), fonts.MAX_COLLECTION_FACES)
    assert len(bomb) < 1024
    login_as("admin")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    response = upload(client, "body", bomb, "bomb.ttc")
    assert response.status_code == 422
    assert "过于复杂，无法在限定的时间和内存内读取" in response.get_data(as_text=True)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 50 * 1024  # KiB: it would be 1 GB
    with app.app_context():
        assert get_settings()["body_font_file_id"] == ""


def test_a_collection_of_too_many_faces_is_refused_before_any_is_read(ctx, required, monkeypatch):
    monkeypatch.setattr(fonts, "run_in_child", lambda *a, **k: pytest.fail("the faces were read"))
    bomb = _faces_sharing_one_font(_claiming_everything_but("一"), fonts.MAX_COLLECTION_FACES + 1)
    with pytest.raises(DomainError, match="包含 17 个字体，超过上限 16 个"):
        fonts.check_font("bomb.ttc", bomb, required)


def test_a_check_that_runs_out_of_time_or_crashes_is_refused(ctx, required, good_font, monkeypatch):
    monkeypatch.setattr(fonts, "CHECK_TIMEOUT", 0.01)
    with pytest.raises(DomainError, match="过于复杂"):
        fonts.check_font("x.ttf", good_font, required)
    monkeypatch.setattr(fonts, "CHECK_TIMEOUT", 20.0)
    monkeypatch.setattr(fonts, "render_here", lambda html, fonts: os._exit(11))  # HarfBuzz ended the child
    with pytest.raises(DomainError, match="排版程序无法加载该字体"):
        fonts.check_font("x.ttf", good_font, required)
    assert multiprocessing.active_children() == []


def test_the_check_sets_every_character_the_documents_need(ctx, required, good_font, monkeypatch):
    """So that a glyph that crashes FreeType or HarfBuzz does so in the check's child, at upload, not in the worker
    that issues a 批复."""
    def render(html, fonts):
        if not required <= set(html):
            raise ValueError(f"not set: {''.join(sorted(required - set(html)))[:20]}")
        return b"%PDF-"

    monkeypatch.setattr(fonts, "render_here", render)
    assert fonts.check_font("x.ttf", good_font, required).name == "测试仿宋"


def test_a_font_restricting_embedding_is_taken_with_a_warning(ctx, required):
    checked = fonts.check_font("x.ttf", build_font(required, fs_type=0x0002), required)
    assert "限制嵌入" in checked.note
    assert fonts.check_font("x.ttf", build_font(required, fs_type=0x0008), required).note == ""


def _pdffonts(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout


def test_a_render_embeds_the_uploaded_fonts(app, client, login_as, required, tmp_path, no_substitute):
    login_as("admin")
    assert upload(client, "body", build_font(required, family="BodyFang", chinese="正文仿宋")).status_code == 302
    assert upload(client, "title", build_font(required, family="TitleSong", chinese="标题宋")).status_code == 302
    with app.app_context():
        chosen = fonts.document_fonts(get_settings())
        assert chosen.names == {"body": f"正文仿宋（已上传，{_today()}）", "title": f"标题宋（已上传，{_today()}）"}
        assert str(chosen.body).startswith('"zone\\2d body\\2d BodyFang\\2d Regular", "Noto Serif CJK SC"')
        html = (f"<style>html {{ font-family: {chosen.body} }} h1 {{ font-family: {chosen.title}; font-weight: 700 }}"
                "</style><h1>关于同意成立党支部的批复</h1><p>你单位转报的申请收悉。</p>")
        listed = _pdffonts(html_to_pdf(html, fonts=chosen), tmp_path)
        in_child = _pdffonts(html_to_pdf(html, fonts=chosen, in_child=True), tmp_path)
    for output in (listed, in_child):
        assert "zone-body-BodyFang-Regular" in output and "zone-title-TitleSong-Regular" in output, output
        assert "Noto" not in output  # every character came from the uploaded faces


def _today() -> str:
    from domain.zone_time import local_today
    day = local_today()
    return f"{day.year}年{day.month}月{day.day}日"


def test_the_fetcher_serves_only_the_fonts_it_was_handed():
    fetcher = AssetFetcher({"ab" * 32: b"font bytes"})
    assert fetcher.fetch("zone-font:" + "ab" * 32).read() == b"font bytes"
    for url in ("zone-font:" + "cd" * 32, "zone-font:../../etc/passwd", "file:///etc/passwd",
                "data:font/ttf;base64,AAEAAA==", "https://example.com/f.ttf"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    with pytest.raises(ValueError):
        AssetFetcher().fetch("zone-font:" + "ab" * 32)


def test_a_face_that_fails_to_load_stops_the_render(ctx):
    """WeasyPrint would quietly set the text in the next family; an issued document never changes, so it must not."""
    from domain.pdf import PdfRenderError
    broken = fonts.FontFace("zone-body-broken", "ef" * 32, b"\x00\x01\x00\x00 not a font")
    chosen = fonts.DocumentFonts(body=fonts.css_string("zone-body-broken"), title=fonts.css_string("x"),
                                 face_list=(broken,), in_use=())
    with pytest.raises(PdfRenderError, match="字体无法加载"):
        html_to_pdf("<p style='font-family: zone-body-broken'>党</p>", fonts=chosen)


def test_the_substitute_is_used_when_present_and_sound(app, ctx, tmp_path, required):
    fonts.clear_cache()
    app.config["FONT_DIR"] = str(tmp_path)
    (tmp_path / "FandolFang-Regular.otf").write_bytes(build_font(required, family="FandolFang"))
    chosen = fonts.document_fonts(get_settings())
    assert chosen.names["body"] == "FandolFang（免费替代字体，非仿宋_GB2312，建议上传）"
    assert "zone-font:" in chosen.faces and len(chosen.face_list) == 1
    (tmp_path / "FandolFang-Regular.otf").write_bytes(build_font("党", family="FandolFang"))  # one lacking hanzi
    fonts.clear_cache()
    assert fonts.document_fonts(get_settings()).names["body"].startswith("Noto Serif CJK SC")


def test_an_installed_family_the_admin_named_comes_before_the_substitute(app, ctx, tmp_path, required):
    fonts.clear_cache()
    app.config["FONT_DIR"] = str(tmp_path)
    (tmp_path / "FandolFang-Regular.otf").write_bytes(build_font(required, family="FandolFang"))
    from domain.settings import put_setting
    put_setting("body_font", "Noto Sans CJK SC")
    chosen = fonts.document_fonts(get_settings())
    assert chosen.names["body"] == "Noto Sans CJK SC（服务器上安装的字体）" and not chosen.face_list
    assert str(chosen.body) == '"Noto Sans CJK SC", "Noto Serif CJK SC", serif'


def test_the_cache_keeps_font_bytes_within_its_budget(monkeypatch):
    fonts.clear_cache()
    monkeypatch.setattr(fonts, "CACHE_BYTES", 3000)
    monkeypatch.setattr(fonts, "_postscript_name", lambda font: "x")
    monkeypatch.setattr(fonts, "TTFont", lambda *a, **k: None)
    import hashlib
    loads = []
    blobs = [bytes([n]) * 1000 for n in range(5)]
    for blob in blobs + blobs[-1:]:
        fonts._cached(hashlib.sha256(blob).hexdigest(), lambda blob=blob: loads.append(blob) or blob)
    assert len(loads) == 5  # the last one came from the cache
    assert sum(len(data) for data, _ in fonts._cache.values()) <= 3000
    fonts.clear_cache()


def _real_fandol():
    path = INSTANCE_DIR / "fonts" / "FandolFang-Regular.otf"
    return path if path.exists() else None


@pytest.mark.skipif(_real_fandol() is None, reason="make fonts has not fetched FandolFang")
def test_the_real_fandolfang_covers_the_documents(ctx, required):
    checked = fonts.check_font("FandolFang-Regular.otf", _real_fandol().read_bytes(), required)
    assert checked.postscript == "FandolFang-Regular" and checked.note == ""


def test_an_issued_approval_and_the_dossier_embed_the_uploaded_font(app, client, login_as, required, tmp_path,
                                                                    no_substitute, make_application, make_instructor,
                                                                    make_user):
    """The 批复 as issued, through the documents' own path (tests/test_documents.py's approve), and the dossier."""
    login_as("admin")
    assert upload(client, "body", build_font(required, family="BodyFang", chinese="正文仿宋")).status_code == 302
    made = make_application("unit_approved")
    approve(app, made, make_user(Role.ZONE_APPROVER).id, make_instructor(name="巴特尔").id)
    with app.app_context():
        pdf = db.session.scalar(sa.select(Document).filter_by(application_id=made.id)).file.data
    assert "zone-body-BodyFang-Regular" in _pdffonts(pdf, tmp_path)
    with app.test_request_context():
        dossier = render_dossier(db.session.get(Application, made.id))
    assert "zone-body-BodyFang-Regular" in _pdffonts(dossier, tmp_path)


def test_posting_no_file_asks_for_one(client, login_as):
    login_as("admin")
    response = client.post("/admin/settings/fonts/title", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "请选择字体文件" in response.get_data(as_text=True)
