"""The PAdES signature on issued documents (domain/signing.py): intact and covering the whole file, broken by any
change, invisible (the text and pages are the unsigned render's), and reported on the public verification page."""
import asyncio
import hashlib
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from domain import signing
from domain.settings import get_settings
from domain import StaleError
from domain import applications as verbs
from models import Application, Document, DocumentCounter, Instructor, Role, StoredFile, User, VerificationCheck, db
from tests.conftest import race, racers, zone_today
from tests.pdf_measure import MM, measure
from tests.test_document_layout import seal  # noqa: F401 (the fixture)
from tests.test_documents import approve, zone  # noqa: F401 (the fixture)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def sign_calls(monkeypatch):
    """What domain.documents passed to sign: (the unsigned render, the seal area)."""
    calls, real_sign = [], signing.sign
    monkeypatch.setattr(signing, "sign", lambda pdf, seal=None: calls.append((pdf, seal)) or real_sign(pdf, seal))
    return calls


@pytest.fixture
def sealed(ctx, seal):
    """The zone's seal image uploaded (the fixture of test_document_layout), committed for the requests."""
    ctx.commit()
    return seal


@pytest.fixture
def issued(app, make_application, make_instructor, zone, sign_calls):
    """An approved application's document, with the unsigned render that was signed."""
    made = make_application("unit_approved")
    approve(app, made, zone.id, make_instructor(name="巴特尔").id)
    with app.app_context():
        document = db.session.scalar(sa.select(Document).filter_by(application_id=made.id))
        return document.token, document.file.data, document.file.sha256, sign_calls[0][0]


def _pyhanko_status(app, pdf: bytes):
    with app.app_context():
        roots = list(signing._keys().roots)
    embedded = PdfFileReader(BytesIO(pdf)).embedded_signatures
    assert len(embedded) == 1
    # The suite's browser tests leave Playwright's loop running in this thread: pyHanko's own loop then needs another.
    return signing._outside_event_loop(lambda: validate_pdf_signature(
        embedded[0], signer_validation_context=ValidationContext(trust_roots=roots)))


def test_the_issued_file_is_signed_over_its_whole_length(app, issued):
    _, pdf, sha256, unsigned = issued
    status = _pyhanko_status(app, pdf)
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.timestamp_validity is not None and status.timestamp_validity.intact
    assert pdf.startswith(unsigned) and len(pdf) > len(unsigned)  # an incremental update: the render is untouched
    assert hashlib.sha256(pdf).hexdigest() == sha256  # the register holds the signed file's fingerprint
    with app.app_context():
        check = signing.verify(pdf)
        organ = get_settings()["issuing_organ"]
    assert check.good and check.trusted and check.signer == organ and check.signed_at is not None


def test_one_changed_byte_breaks_the_signature(app, issued):
    _, pdf, _, unsigned = issued
    tampered = bytearray(pdf)
    tampered[len(unsigned) // 2] ^= 1
    with app.app_context():
        check = signing.verify(bytes(tampered))
    assert check.signed and not check.intact and not check.good


def test_bytes_added_after_the_signature_are_not_covered(app, issued):
    _, pdf, _, _ = issued
    with app.app_context():
        check = signing.verify(pdf + b"\n% appended\n")
    assert check.intact and not check.whole_file and not check.good


def test_an_unsigned_or_unreadable_file_is_not_good(app, issued):
    _, _, _, unsigned = issued
    with app.app_context():
        assert signing.verify(unsigned) == signing.SignatureCheck(signed=False)
        assert signing.verify(b"%PDF-1.7 garbage") == signing.SignatureCheck(signed=False, readable=False)


def _poppler(*command) -> str:
    return subprocess.run([str(part) for part in command], capture_output=True, text=True, check=True).stdout


def test_the_signed_file_has_the_unsigned_pages_text_fonts_and_layout(sealed, issued, sign_calls, tmp_path):
    """The signature adds a field over the seal and moves nothing: the same pages, text, fonts, and every line,
    rule, image and mark in the same place (pdf_measure, as test_document_layout measures the layout)."""
    _, pdf, _, unsigned = issued
    (tmp_path / "signed.pdf").write_bytes(pdf)
    (tmp_path / "unsigned.pdf").write_bytes(unsigned)
    signed_pages, unsigned_pages = measure(pdf), measure(unsigned)
    assert signed_pages == unsigned_pages and len(signed_pages) >= 2
    assert _poppler("pdftotext", tmp_path / "signed.pdf", "-") == _poppler("pdftotext", tmp_path / "unsigned.pdf", "-")
    assert _poppler("pdffonts", tmp_path / "signed.pdf") == _poppler("pdffonts", tmp_path / "unsigned.pdf")
    for name in ("signed", "unsigned"):  # drawn, the pages are the same pixels: the field's appearance is empty
        subprocess.run(["pdftoppm", "-r", "40", "-png", str(tmp_path / f"{name}.pdf"), str(tmp_path / name)],
                       check=True)
    for page in sorted(tmp_path.glob("unsigned-*.png")):
        assert page.read_bytes() == (tmp_path / page.name.replace("unsigned", "signed")).read_bytes()


def test_the_signature_field_lies_over_the_printed_seal(sealed, issued, sign_calls):
    _, pdf, _, _ = issued
    area = sign_calls[0][1]
    page = measure(pdf)[area.page]
    stamp, = [image for image in page.images if image.bottom - image.top > 30]
    field = PdfFileReader(BytesIO(pdf)).root["/AcroForm"]["/Fields"][0]
    assert field["/FT"] == "/Sig" and field["/P"] == PdfFileReader(BytesIO(pdf)).root["/Pages"]["/Kids"][area.page]
    x0, y0, x1, y1 = (float(v) * MM for v in field["/Rect"])
    assert (x0, x1) == pytest.approx((stamp.x0, stamp.x1), abs=0.1)
    assert (page.height - y1, page.height - y0) == pytest.approx((stamp.top, stamp.bottom), abs=0.1)


def test_the_verification_page_reports_the_signature(client, app, issued):
    token, _, _, _ = issued
    page = client.get(f"/verify/{token}").get_data(as_text=True)
    with app.app_context():
        organ = get_settings()["issuing_organ"]
    assert "签名完好，覆盖整个文件，签名后未被改动。" in page and f"签名人：{organ}" in page
    assert "签名证书受信任：由本系统配置的根证书签发。" in page and "不受信任" not in page
    assert re.search(r"签名时间（时间戳）：\d{4}年\d\d月\d\d日 \d\d:\d\d:\d\d", page)


def test_a_signature_by_another_root_is_intact_but_not_trusted(client, app, issued, tmp_path):
    """Keys changed (a new root): the file signed before is unchanged, but its signer is no longer vouched for."""
    token, _, _, _ = issued
    app.config["SIGNING_DIR"] = str(tmp_path / "another-pki")
    page = client.get(f"/verify/{token}").get_data(as_text=True)
    assert "签名完好，覆盖整个文件，签名后未被改动。" in page
    assert "签名证书不受信任：不是由本系统配置的根证书签发，无法确认签名人的身份。" in page


def test_the_stored_file_changed_afterwards_is_reported_broken(client, app, issued):
    token, pdf, _, unsigned = issued
    tampered = bytearray(pdf)
    tampered[len(unsigned) // 2] ^= 1
    with app.app_context():
        document = db.session.scalar(sa.select(Document).filter_by(token=token))
        document.file.data = bytes(tampered)
        db.session.commit()
    page = client.get(f"/verify/{token}").get_data(as_text=True)
    assert "签名已损坏：签名后文件内容被改动过" in page and "签名完好" not in page


def test_signing_works_inside_a_running_event_loop(app, issued):
    """pyHanko starts an event loop of its own; a caller running one (Playwright's sync API) must not stop it."""
    _, _, _, unsigned = issued

    async def inside():
        with app.app_context():
            return signing.verify(signing.sign(unsigned))

    # A thread of its own: this one may already run a loop (Playwright's, when the browser tests ran first).
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(asyncio.run, inside()).result().good


def test_sign_time_per_document(app, issued):
    _, _, _, unsigned = issued
    with app.app_context():
        signing.sign(unsigned)  # the keys are loaded once per process
        runs = 10
        started = time.perf_counter()
        for _ in range(runs):
            signing.sign(unsigned)
        per_document = (time.perf_counter() - started) / runs * 1000
    print(f"\nsigning one document ({len(unsigned)} bytes): {per_document:.1f} ms")
    assert per_document < 1000


def test_the_app_loads_without_pyhanko():
    """pyHanko loads where a document is signed or checked (domain/signing.py), not in every web worker: a fresh
    process that builds the app, with every blueprint and the jobs, has not imported it."""
    script = ("import sys; from app import create_app; create_app({'ENV_NAME': 'testing', "
              "'SQLALCHEMY_DATABASE_URI': 'sqlite://'}); "
              "print(sorted({name.split('.')[0] for name in sys.modules} & {'pyhanko', 'pyhanko_certvalidator'}))")
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert (run.returncode, run.stdout.strip()) == (0, "[]"), run.stderr


def _upload(client, path: str, data: bytes | None, name: str = "收到的文件.pdf"):
    form = {} if data is None else {"file": (BytesIO(data), name)}
    return client.post(path, data=form, content_type="multipart/form-data")


def test_an_uploaded_file_is_found_in_the_register_by_its_bytes(client, app, issued):
    token, pdf, sha256, _ = issued
    answer = _upload(client, "/verify", pdf)
    page = answer.get_data(as_text=True)
    with app.app_context():
        document = db.session.scalar(sa.select(Document).filter_by(token=token))
        number, title = document.number, document.title
        organ = get_settings()["issuing_organ"]
        logged = db.session.scalars(sa.select(VerificationCheck).filter_by(document_id=document.id)).one()
        assert (logged.uploaded_sha256, logged.matched) == (sha256, True)
    assert answer.status_code == 200
    assert f"已查到：您上传的文件与本系统印发的 {number}《{title}》完全相同" in page and "该文件现行有效。" in page
    assert "所上传文件的电子签名：</strong>签名完好，覆盖整个文件，签名后未被改动。" in page
    assert "签名证书受信任" in page and f"签名人：{organ}" in page


def test_a_changed_file_is_not_in_the_register_and_its_signature_says_why(client, issued):
    _, pdf, _, unsigned = issued
    tampered = bytearray(pdf)
    tampered[len(unsigned) // 2] ^= 1
    page = _upload(client, "/verify", bytes(tampered)).get_data(as_text=True)
    assert "未查到：本系统印发的文件中没有与您上传的文件完全相同的一份。" in page
    assert "签名已损坏：签名后文件内容被改动过" in page and "已查到" not in page
    unsigned_page = _upload(client, "/verify", unsigned).get_data(as_text=True)
    assert "未查到" in unsigned_page and "所上传的文件没有电子签名。" in unsigned_page


def test_a_revoked_document_found_by_upload_says_when_and_why(client, app, issued, login_as):
    token, pdf, _, _ = issued
    with app.app_context():
        document_id = db.session.scalar(sa.select(Document.id).filter_by(token=token))
    login_as(Role.ADMIN)
    client.post(f"/admin/documents/{document_id}/revoke", data={"reason": "单位名称有误"})
    client.post("/auth/logout")
    page = _upload(client, "/verify", pdf).get_data(as_text=True)
    today = zone_today()
    assert f"该文件已于 {today.year}年{today.month:02}月{today.day:02}日 撤销，原因：单位名称有误" in page


@pytest.mark.parametrize("path", ["/verify", "token"])
@pytest.mark.parametrize("data, name, refusal", [
    (None, "", "请选择要核验的 PDF 文件"),
    (b"", "空.pdf", "文件“空.pdf”是空的，请重新选择"),
    (b"PK\x03\x04 a zip", "表格.pdf", "文件“表格.pdf”不是 PDF 文件（按文件内容判断）"),
    (b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024), "大.pdf", "文件“大.pdf”超过 10 MB"),
])
def test_an_upload_that_is_no_pdf_or_too_large_is_refused_in_chinese(client, issued, path, data, name, refusal):
    token = issued[0]
    answer = _upload(client, f"/verify/{token}" if path == "token" else path, data, name)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and refusal in page and "已查到" not in page and "一致：" not in page


def test_approvals_of_one_application_at_once_issue_one_signed_document(app, make_application, make_instructor, zone,
                                                                         sign_calls):
    """Tabs and double clicks approving one application at once (50 on PostgreSQL): one wins; its 批复 takes the
    one number and carries one signature; the losers take no number and store no file."""
    made = make_application("unit_approved")
    instructor = make_instructor()
    n = racers(app)
    with app.app_context():
        version = db.session.get(Application, made.id).version
        files_before = db.session.scalar(sa.select(sa.func.count(StoredFile.id)))

    def attempt(_, go):
        application = db.session.get(Application, made.id)
        actor, chosen = db.session.get(User, zone.id), db.session.get(Instructor, instructor.id)
        go()
        verbs.approve_application(application, actor=actor, version=version, instructor=chosen)
        db.session.commit()
        return "ok"

    results = race(app, attempt, range(n))
    # The others lose on the version, which the instructor's assignment writes first (the ORM's StaleDataError), or,
    # on SQLite, on the lock past its busy timeout.
    assert results.count("ok") == 1 and len(results) == n, results
    assert all(isinstance(r, (StaleError, StaleDataError, sa.exc.OperationalError)) for r in results if r != "ok"), results
    assert len(sign_calls) == 1  # the losers stopped at the version, before a number, a render or a signature
    with app.app_context():
        document = db.session.scalars(sa.select(Document).filter_by(application_id=made.id)).one()
        assert document.serial == 1 and db.session.scalar(sa.select(DocumentCounter.last_number)) == 1
        assert db.session.scalar(sa.select(sa.func.count(StoredFile.id))) == files_before + 1
        pdf = document.file.data
        assert len(PdfFileReader(BytesIO(pdf)).embedded_signatures) == 1 and signing.verify(pdf).good
