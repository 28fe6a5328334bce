"""Signing issued documents: a PAdES signature (pyHanko) added to the PDF as an incremental update, and its check.

The rest of the app sees only sign(pdf) -> pdf and verify(pdf) -> SignatureCheck, so that a certified seal service
(SM2 e-seals per GB/T 38540, which no Python library signs PDFs with) can replace this module alone.

Keys: in production a PKCS#12 file (SIGNING_P12, SIGNING_P12_PASSWORD; config.py requires both). In development
and the tests, a root CA, a signing certificate in the issuing organ's name and a timestamping certificate made on
first use in SIGNING_DIR (under instance/, never committed). The signing time comes from the timestamp authority
at TSA_URL; without one, development and the tests use pyHanko's in-process test timestamper, production none.

Imported only inside the functions that sign or check a document (domain/documents.py, domain/sheets.py), never at
the top of a module the app loads: pyHanko and what it brings (cryptography, asn1crypto, aiohttp) add about a fifth
to a web worker's memory, and most workers never sign. tests/test_signing.py keeps them out of the app's imports."""
import asyncio
import logging
import os
import secrets
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path
from typing import TypeVar

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from flask import current_app
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from . import DomainError
from .pdf import PdfRenderError, run_in_child
from .settings import get_settings

T = TypeVar("T")
FIELD_NAME = "Signature1"
# Room for the CMS container (the signature, the chain, the timestamp token with its own chain): fixed, so that pyHanko
# does not sign once more beforehand only to measure it. About 6 KB with the development chain; a longer production
# chain still fits.
BYTES_RESERVED = 16384
DEV_ROOT_NAME = "开发测试根证书（非正式，仅供开发和测试）"
DEV_TSA_NAME = "开发测试时间戳（非正式）"
DEV_VALID_DAYS = 3650
# A file from outside (the public /verify's upload) is checked in a child process (pdf.run_in_child), this long and
# with this much address space on top of what it inherits. pyHanko parses a PDF in Python: a crafted 10-MB file (one
# array of five million numbers where the signature fields are listed) took it 130 s and 1.5 GB in the worker. A
# signed 95-KB document takes 0.03 s in the worker, 0.07 s in a child.
UPLOAD_CHECK_TIMEOUT = 5.0
UPLOAD_CHECK_MEMORY_BYTES = 512 * 1024 * 1024
# What pyHanko raises on a file it cannot read: its own PdfError, and what its parser lets through. zlib.error: a
# stream's compressed bytes damaged. RecursionError: objects nested thousands deep, which it descends recursively.
READ_ERRORS = (PdfError, ValueError, KeyError, TypeError, IndexError, zlib.error, RecursionError)
UNCHECKABLE = "文件“{}”无法读取，或结构过于复杂、无法在限定的时间和内存内检查，请确认是收到的原件后再上传"


@dataclass(frozen=True)
class SignatureCheck:
    """What verify found in a PDF: whether it could be read, whether it is signed at all, whether the signed bytes
    are unchanged (intact) and the signature covers the whole file (nothing appended after it), who signed it and
    when."""
    signed: bool
    intact: bool = False
    whole_file: bool = False
    trusted: bool = False
    signer: str = ""
    signed_at: datetime | None = None  # the timestamp authority's time; None without a timestamp
    readable: bool = True  # False: no PDF that pyHanko can read, so whether it is signed is unknown

    @property
    def good(self) -> bool:
        return self.signed and self.intact and self.whole_file


class _Signer(signers.SimpleSigner):
    """SimpleSigner parses its private key again for every signature, which for RSA (the key check) costs about 35 ms;
    this one parses it once."""

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        if self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo != "rsassa_pkcs1v15":
            return super().sign_raw(data, digest_algorithm)
        if getattr(self, "_private_key", None) is None:
            self._private_key = serialization.load_der_private_key(self.signing_key.dump(), password=None)
        return self._private_key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))

    @classmethod
    def of(cls, loaded: signers.SimpleSigner | None) -> "_Signer | None":
        """pyHanko's loaders make a SimpleSigner whatever class they are called on."""
        if loaded is None:
            return None
        return cls(signing_cert=loaded.signing_cert, signing_key=loaded.signing_key, cert_registry=loaded.cert_registry)


class _TestTimeStamper(timestamps.DummyTimeStamper):
    """pyHanko's in-process test timestamper parses its RSA key again for every stamp, which (the key check) cost
    as much as the rest of a signature; this one parses it once. Its _sign_tst_info as in pyHanko 0.38 (pinned),
    with the key kept."""

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt: datetime):
        from asn1crypto import cms, core
        from pyhanko.sign.general import as_signing_certificate, simple_cms_attribute

        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes([
            simple_cms_attribute("content_type", "tst_info"),
            simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
            simple_cms_attribute("signing_certificate", as_signing_certificate(self.tsa_cert)),
            simple_cms_attribute("message_digest", digest.finalize()),
        ])
        if getattr(self, "_private_key", None) is None:
            self._private_key = serialization.load_der_private_key(self.tsa_key.dump(), password=None)
        signature = self._private_key.sign(signed_attrs.dump(), PKCS1v15(),
                                           get_pyca_cryptography_hash(md_algorithm.upper()))
        return signature, signed_attrs


@dataclass(frozen=True)
class _Keys:
    signer: signers.SimpleSigner
    timestamper: timestamps.TimeStamper | None
    roots: tuple[asn1_x509.Certificate, ...]


_keys_cache: dict[tuple, _Keys] = {}


class SigningError(PdfRenderError):
    """A document could not be signed: the keys cannot be read, or the timestamp authority did not answer. The
    message says which, in Chinese. A PDF that could not be made, as a failed render is: the error pages and the
    sheet's task answer both alike, without importing this module."""


@dataclass(frozen=True)
class SealArea:
    """Where the seal is printed: the page (from 0) and the box in PDF points from the page's bottom-left corner
    (x0, y0, x1, y1). The signature's field is placed over it."""
    page: int
    box: tuple[float, float, float, float]


def sign(pdf: bytes, seal: SealArea | None = None) -> bytes:
    """The PDF with a PAdES signature appended as an incremental update: the bytes before it stay as they were and
    the signer's chain is embedded. With a seal area, the signature's field lies over it with an empty appearance
    (the printed seal shows through, and a PDF reader shows the signature where the seal is); without, the field
    is invisible."""
    from pyhanko.stamp import NoOpStampStyle
    keys = _keys()
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(field_name=FIELD_NAME, subfilter=fields.SigSeedSubFilter.PADES,
                                        md_algorithm="sha256")
    field = fields.SigFieldSpec(FIELD_NAME, on_page=seal.page, box=seal.box) if seal else None
    signer = signers.PdfSigner(meta, signer=keys.signer, timestamper=keys.timestamper,
                               stamp_style=NoOpStampStyle(), new_field_spec=field)
    try:
        return _outside_event_loop(lambda: signer.sign_pdf(writer, bytes_reserved=BYTES_RESERVED).getvalue())
    except OSError as error:  # pyHanko's TimestampRequestError: the timestamp authority is down or refused
        raise SigningError(f"时间戳服务无应答，文件未能签名，请稍后重试（{error}）") from error


def _outside_event_loop(work: Callable[[], T]) -> T:
    """pyHanko's synchronous calls run an event loop of their own, which cannot start inside a running one (a
    caller's, such as Playwright's in the browser tests): there, they run in a thread of their own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def verify(pdf: bytes) -> SignatureCheck:
    """Check the last signature of a PDF against the configured roots. A file that cannot be read as a PDF is
    reported so (readable=False), one whose signature cannot be parsed as not intact, rather than raising. For the
    app's own files; one from outside goes through verify_upload."""
    return _verify(pdf, _keys().roots)


def verify_upload(filename: str, pdf: bytes) -> SignatureCheck:
    """verify, for a file anyone uploaded: in a child process with a time and a memory limit, so that a file crafted
    to make the parser work for minutes or take gigabytes is refused (DomainError) and the worker only hears of it."""
    roots = _keys().roots  # read here: the child inherits them and never opens the database
    try:
        return run_in_child(_verify_quietly, pdf, roots, timeout=UPLOAD_CHECK_TIMEOUT,
                            memory_bytes=UPLOAD_CHECK_MEMORY_BYTES)
    except PdfRenderError as error:  # out of time or memory there, the child died, or pyHanko failed on the file
        current_app.logger.info("verification upload %r refused: %s", filename, error)
        raise DomainError(UNCHECKABLE.format(filename), "file") from None


def _verify_quietly(pdf: bytes, roots: tuple) -> SignatureCheck:
    """_verify in verify_upload's child, where pyHanko's warnings stay unwritten: it logs one for each malformed
    entry it skips, which a crafted file has by the million."""
    logging.disable(logging.WARNING)
    return _verify(pdf, roots)


def _verify(pdf: bytes, roots: tuple) -> SignatureCheck:
    try:
        embedded = PdfFileReader(BytesIO(pdf)).embedded_signatures
    except READ_ERRORS:
        return SignatureCheck(signed=False, readable=False)
    if not embedded:
        return SignatureCheck(signed=False)
    try:
        context = ValidationContext(trust_roots=list(roots), allow_fetching=False)
        status = _outside_event_loop(lambda: validate_pdf_signature(embedded[-1], signer_validation_context=context))
    except (SignatureValidationError, *READ_ERRORS):
        return SignatureCheck(signed=True)
    timestamp = status.timestamp_validity.timestamp if status.timestamp_validity else None
    return SignatureCheck(
        signed=True, intact=status.intact and status.valid,
        whole_file=status.coverage == status.coverage.ENTIRE_FILE, trusted=status.trusted,
        signer=_common_name(status.signing_cert.subject), signed_at=timestamp)


def _common_name(subject) -> str:
    """The certificate subject's CN as one line: a subject may carry several (asn1crypto then gives a list)."""
    found = subject.native.get("common_name", "")
    return "、".join(found) if isinstance(found, list) else found


def _keys() -> _Keys:
    config = current_app.config
    p12, directory, tsa_url = config.get("SIGNING_P12"), config.get("SIGNING_DIR"), config.get("TSA_URL")
    cache_key = (p12, str(directory), tsa_url)
    if cache_key not in _keys_cache:
        if p12:
            _keys_cache[cache_key] = _production_keys(Path(p12), config.get("SIGNING_P12_PASSWORD") or "", tsa_url)
        else:
            _keys_cache[cache_key] = _development_keys(Path(directory), tsa_url)
    return _keys_cache[cache_key]


def _production_keys(p12: Path, password: str, tsa_url: str | None) -> _Keys:
    try:
        signer = _Signer.of(signers.SimpleSigner.load_pkcs12(str(p12), passphrase=password.encode() or None))
    except (OSError, ValueError):
        signer = None
    if signer is None:
        raise SigningError(f"无法读取签名证书 {p12}：文件或密码有误 (cannot load SIGNING_P12)")
    chain = [c for c in signer.cert_registry if c.subject == c.issuer]
    return _Keys(signer, timestamps.HTTPTimeStamper(tsa_url) if tsa_url else None, tuple(chain))


def _development_keys(directory: Path, tsa_url: str | None) -> _Keys:
    if not (directory / "root.pem").exists():
        _make_development_pki(directory, get_settings()["issuing_organ"])
    root_pem = (directory / "root.pem").read_bytes()
    root = asn1_x509.Certificate.load(x509.load_pem_x509_certificate(root_pem).public_bytes(serialization.Encoding.DER))
    signer = _Signer.of(signers.SimpleSigner.load_pkcs12_data((directory / "signer.p12").read_bytes(),
                                                              other_certs=[root]))
    if tsa_url:
        return _Keys(signer, timestamps.HTTPTimeStamper(tsa_url), (root,))
    tsa_key, tsa_cert, _ = pkcs12.load_key_and_certificates((directory / "tsa.p12").read_bytes(), None)
    timestamper = _TestTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(tsa_cert.public_bytes(serialization.Encoding.DER)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(tsa_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
        certs_to_embed=[root])
    return _Keys(signer, timestamper, (root,))


def _make_development_pki(directory: Path, organ: str) -> None:
    """A root CA and, issued by it, a signing certificate with the organ as CN and a timestamping one. Written whole
    into a directory of another name and renamed into place: of several workers starting at once, one wins and all
    use its keys."""
    draft = directory.with_name(f".{directory.name}.{os.getpid()}.{secrets.token_hex(4)}")
    draft.mkdir(parents=True, mode=0o700)
    now = datetime.now(timezone.utc) - timedelta(minutes=5)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, DEV_ROOT_NAME)])
    root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=DEV_VALID_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    (draft / "root.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
    for filename, name, usage in (("signer.p12", organ, None),
                                  ("tsa.p12", DEV_TSA_NAME, ExtendedKeyUsageOID.TIME_STAMPING)):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                   .issuer_name(root_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now).not_valid_after(now + timedelta(days=DEV_VALID_DAYS))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                                  critical=False))
        if usage is None:
            builder = builder.add_extension(
                x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        else:
            builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=True)
        cert = builder.sign(root_key, hashes.SHA256())
        # The private keys, unencrypted: readable by this user alone, as is the directory (0700) they are in.
        (draft / filename).touch(mode=0o600)
        (draft / filename).write_bytes(pkcs12.serialize_key_and_certificates(
            None, key, cert, [root], serialization.NoEncryption()))
    try:
        draft.rename(directory)
    except OSError:  # another worker's keys are already in place
        for path in draft.iterdir():
            path.unlink()
        draft.rmdir()
