"""Issuing documents (发文): the gapless number, the PDF rendered once and stored, verification, revocation."""
import base64
import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date

import segno
import sqlalchemy as sa
from flask import current_app, render_template

from models import (
    Application, Document, DocumentCounter, DocumentKind, PartyOrgKind, User, VerificationCheck, db,
    utcnow,
)

from . import DomainError, insert_if_absent
from .audit import record_event
from .files import keep_file
from .pdf import html_to_pdf
from .settings import get_settings, seal_bytes
from .text import check_text
from .zone_time import local_date, local_today

# The Party rule each kind rests on, quoted in the approval's body.
RULES = {
    PartyOrgKind.JOINT_BRANCH: "正式党员不足3人的单位，可以与邻近单位的党员联合成立党支部",
    PartyOrgKind.BRANCH: "有正式党员3人以上的，应当成立党支部",
    PartyOrgKind.BRANCH_COMMITTEE: "正式党员7人以上的党支部，设立党支部委员会",
    PartyOrgKind.GENERAL_BRANCH: "党员人数超过50人的，经上级党组织批准，可以成立党的总支部委员会",
    PartyOrgKind.PARTY_COMMITTEE: "党员人数100人以上的，经上级党组织批准，可以成立党的基层委员会",
}
_SUFFIX = {
    PartyOrgKind.JOINT_BRANCH: "等单位联合支部委员会",
    PartyOrgKind.BRANCH: "支部",
    PartyOrgKind.BRANCH_COMMITTEE: "支部委员会",
    PartyOrgKind.GENERAL_BRANCH: "总支部委员会",
    PartyOrgKind.PARTY_COMMITTEE: "委员会",
}


def party_org_name(application: Application) -> str:
    """The new organisation's full name: 中共XX有限公司支部委员会."""
    return f"中共{application.organisation.name}{_SUFFIX[application.requested_kind]}"


def format_number(prefix: str, year: int, serial: int) -> str:
    """发文字号: prefix, the year in 〔〕, the serial with no leading zero, then 号."""
    return f"{prefix}〔{year}〕{serial}号"


def chinese_date(day: date) -> str:
    """成文日期 in Arabic numerals, year in full, no leading zeros: 2026年11月28日."""
    return f"{day.year}年{day.month}月{day.day}日"


# The body is 3号 (16 pt) with 28 characters to the 156 mm line: a glyph of 5.644 mm closed up by letter-spacing
# to a pitch of 156/28 mm (templates/pdf/document.html). The standard places the signature in characters.
CHAR_MM = 156 / 28
GLYPH_MM = 16 * 25.4 / 72
SEAL_MM = 42


def text_width_mm(text: str) -> float:
    """Printed width: CJK (wide) characters are one glyph, digits and Latin letters about half of one."""
    glyphs = sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.5 for c in text)
    return glyphs * GLYPH_MM - len(text) * (GLYPH_MM - CHAR_MM)


@dataclass
class SignatureLayout:
    """Right offsets from the type area's right edge, in mm."""
    name_right: float
    date_right: float
    seal_right: float


def signature_layout(organ: str, date_text: str) -> SignatureLayout:
    """GB/T 9704-2012 7.3.5.1: the date four characters from the right; the organ's name centred on the date,
    but never past the type area's right edge (a long name moves left); the seal centred on the date."""
    date_right = 4 * CHAR_MM
    centre = date_right + text_width_mm(date_text) / 2
    return SignatureLayout(name_right=round(max(0.0, centre - text_width_mm(organ) / 2), 2),
                           date_right=round(date_right, 2), seal_right=round(centre - SEAL_MM / 2, 2))


def take_number(year: int) -> int:
    """The next serial of the year. The counter row stays locked until the issuing transaction ends,
    so numbers are gapless and unique; a failed issue rolls its number back with everything else."""
    insert_if_absent(db.session, DocumentCounter, year=year, last_number=0)
    return db.session.execute(
        sa.update(DocumentCounter).where(DocumentCounter.year == year)
        .values(last_number=DocumentCounter.last_number + 1).returning(DocumentCounter.last_number)
    ).scalar_one()


def verification_url(token: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/verify/{token}"


def issue_document(application: Application, kind: DocumentKind, *, actor: User) -> Document:
    """Issue a numbered document (发文): take the number, render the PDF once, keep it with its SHA-256."""
    settings = get_settings()
    today = local_today()
    serial = take_number(today.year)
    token = secrets.token_urlsafe(32)
    document = Document(
        application=application, kind=kind, year=today.year, serial=serial,
        number=format_number(settings["doc_prefix"], today.year, serial), title=_title(application, kind),
        token=token, issued_by=actor)
    pdf = render_document(document, settings, today)
    document.file = keep_file(f"{document.number}.pdf", "application/pdf", pdf, actor=actor)
    db.session.add(document)
    db.session.flush()
    record_event("issue_document", document, actor, f"印发{document.number}《{document.title}》")
    return document


def render_document(document: Document, settings: dict[str, str], day: date) -> bytes:
    """The document as PDF in the GB/T 9704-2012 layout (templates/pdf/document.html)."""
    application = document.application
    seal = seal_bytes(settings)
    qr = segno.make(verification_url(document.token), error="m")
    html = render_template(
        "pdf/document.html", document=document, application=application, settings=settings,
        org_name=party_org_name(application), rule=RULES[application.requested_kind], date_text=chinese_date(day),
        signature=signature_layout(settings["issuing_organ"], chinese_date(day)),
        seal_uri="data:image/png;base64," + base64.b64encode(seal).decode() if seal else None,
        qr_uri=qr.svg_data_uri(scale=4, border=0), verify_url=verification_url(document.token),
        submitted_on=_first_submission(application))
    return html_to_pdf(html)


def render_dossier(application: Application) -> bytes:
    """The application dossier (申请档案) for the archive: data, members, attachments, documents, timeline."""
    documents = list(db.session.scalars(sa.select(Document).where(Document.application_id == application.id)
                                        .order_by(Document.id)))
    html = render_template("pdf/dossier.html", application=application, documents=documents,
                           org_name=party_org_name(application), settings=get_settings(),
                           printed=chinese_date(local_today()), date_text=chinese_date, local_date=local_date)
    return html_to_pdf(html, in_child=True)  # its render would leave the worker bigger (domain/pdf.py)


def log_view(document: Document, remote_addr: str) -> None:
    """Log that someone opened the verification page (核验记录)."""
    db.session.add(VerificationCheck(document=document, remote_addr=remote_addr[:45]))


def check_file(document: Document, data: bytes, remote_addr: str) -> bool:
    """Compare an uploaded PDF with the issued bytes (核验文件) and log the check."""
    digest = hashlib.sha256(data).hexdigest()
    matched = secrets.compare_digest(digest, document.file.sha256)
    db.session.add(VerificationCheck(document=document, remote_addr=remote_addr[:45], uploaded_sha256=digest,
                                     matched=matched))
    return matched


def revoke_document(document: Document, reason: str, *, actor: User) -> None:
    """Revoke a document (撤销文件): it stays, marked revoked with the date and the reason."""
    check_text(reason, "撤销理由", "reason", multiline=True)
    if not reason.strip():
        raise DomainError("撤销文件须填写理由", "reason")
    if len(reason.strip()) > Document.revoke_reason.type.length:
        raise DomainError(f"撤销理由不能超过 {Document.revoke_reason.type.length} 字", "reason")
    if document.revoked_at is not None:
        raise DomainError(f"{document.number}已于{document.revoked_at:%Y-%m-%d}撤销")
    document.revoked_at, document.revoked_by_id, document.revoke_reason = utcnow(), actor.id, reason.strip()
    record_event("revoke_document", document, actor, f"撤销{document.number}：{reason.strip()}")


def documents_of(application: Application) -> list[Document]:
    return list(db.session.scalars(sa.select(Document).where(Document.application_id == application.id)
                                   .order_by(Document.id)))


def _title(application: Application, kind: DocumentKind) -> str:
    if kind is DocumentKind.APPROVAL:
        return f"关于同意成立{party_org_name(application)}的批复"
    return f"关于{party_org_name(application)}选举结果的批复"


def _first_submission(application: Application) -> date | None:
    return local_date(application.submitted_at) if application.submitted_at else None
