"""The PAdES signature on issued documents (domain/signing.py): intact and covering the whole file, broken by any
change, invisible (the text and pages are the unsigned render's), and reported on the public verification page."""
import asyncio
import hashlib
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO

import pytest
import sqlalchemy as sa
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

import domain.documents
from domain import signing
from domain.settings import get_settings
from models import Document, db
from tests.test_documents import approve, zone  # noqa: F401 (the fixture)


@pytest.fixture
def issued(app, make_application, make_instructor, zone, monkeypatch):
    """An approved application's document, with the unsigned render that was signed."""
    unsigned, real_sign = [], signing.sign
    monkeypatch.setattr(domain.documents, "sign", lambda pdf: unsigned.append(pdf) or real_sign(pdf))
    made = make_application("unit_approved")
    approve(app, made, zone.id, make_instructor(name="巴特尔").id)
    with app.app_context():
        document = db.session.scalar(sa.select(Document).filter_by(application_id=made.id))
        return document.token, document.file.data, document.file.sha256, unsigned[0]


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
        assert not signing.verify(b"%PDF-1.7 garbage").good


def test_the_signed_file_has_the_unsigned_pages_and_text(issued, tmp_path):
    _, pdf, _, unsigned = issued
    results = []
    for name, data in (("signed", pdf), ("unsigned", unsigned)):
        (tmp_path / f"{name}.pdf").write_bytes(data)
        text = subprocess.run(["pdftotext", str(tmp_path / f"{name}.pdf"), "-"], capture_output=True, text=True,
                              check=True).stdout
        info = subprocess.run(["pdfinfo", str(tmp_path / f"{name}.pdf")], capture_output=True, text=True,
                              check=True).stdout
        pages = next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:"))
        results.append((pages, text))
    assert results[0] == results[1] and int(results[0][0]) >= 2


def test_the_verification_page_reports_the_signature(client, app, issued):
    token, _, _, _ = issued
    page = client.get(f"/verify/{token}").get_data(as_text=True)
    with app.app_context():
        organ = get_settings()["issuing_organ"]
    assert "签名完好，覆盖整个文件，签名后未被改动。" in page and f"签名人：{organ}" in page
    assert "签名时间（时间戳）：" in page


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
