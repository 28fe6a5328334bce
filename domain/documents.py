"""Issuing documents (发文): the gapless number, the PDF rendered once, signed and stored, verification, revocation."""
import base64
import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import segno
import sqlalchemy as sa
from flask import current_app, render_template

from models import (
    FOUNDING_KINDS, NAME_SUFFIX, Application, Document, DocumentCounter, DocumentKind, PartyOrg, PartyOrgKind,
    StoredFile, User, VerificationCheck, db, full_name, utcnow,
)

from . import DomainError, insert_if_absent
from .audit import record_event
from .files import checked_upload, keep_file
from .fonts import document_fonts
from .pdf import html_to_pdf
from .settings import get_settings, seal_bytes
from .text import check_text, name_list
from .zone_time import local_date, local_today

if TYPE_CHECKING:  # imported where a document is signed or checked: see domain/signing.py
    from .signing import SealArea, SignatureCheck


@dataclass(frozen=True)
class KindWording:
    """How the documents speak of one kind of Party organisation."""
    suffix: str    # after the unit's name in the full name: 中共XX有限公司 + 支部委员会 (models/party_org.py)
    short: str     # how the body names it once founded: 该党支部
    basis: str     # the rule the approval rests on, cited before the decision
    election: str  # what its first members' meeting elects, and who then elects the secretary


_BRANCH_RULE = "《中国共产党章程》第三十条和《中国共产党支部工作条例（试行）》关于“{}”的规定"
_LEVELS_RULE = ("《中国共产党章程》第三十条关于“党的基层组织，根据工作需要和党员人数，经上级党组织批准，"
                "分别设立党的基层委员会、总支部委员会、支部委员会”的规定")
# A joint branch has a committee only with 7 or more formal members; its founder has fewer than 3 (party_rules.py),
# and the others' members are not counted here: its name and its election are those of a branch without one.
WORDING = {
    PartyOrgKind.JOINT_BRANCH: KindWording(
        NAME_SUFFIX[PartyOrgKind.JOINT_BRANCH], "该联合党支部",
        _BRANCH_RULE.format("正式党员不足3人的单位，应当按照地域相邻、行业相近、规模适当、便于管理的原则，成立联合党支部"),
        "召开党员大会，选举产生联合党支部书记（必要时选举副书记）"),
    PartyOrgKind.BRANCH: KindWording(
        NAME_SUFFIX[PartyOrgKind.BRANCH], "该党支部", _BRANCH_RULE.format("有正式党员3人以上的，都应当成立党支部"),
        "召开党员大会，选举产生党支部书记（必要时选举副书记）"),
    PartyOrgKind.BRANCH_COMMITTEE: KindWording(
        NAME_SUFFIX[PartyOrgKind.BRANCH_COMMITTEE], "该党支部", _BRANCH_RULE.format("正式党员7人以上的党支部，设立党支部委员会"),
        "召开党员大会，选举产生党支部委员会委员，由支部委员会选举产生书记、副书记"),
    PartyOrgKind.GENERAL_BRANCH: KindWording(
        NAME_SUFFIX[PartyOrgKind.GENERAL_BRANCH], "该党总支", _LEVELS_RULE,
        "召开党员大会，选举产生党的总支部委员会委员，由总支部委员会选举产生书记、副书记"),
    PartyOrgKind.PARTY_COMMITTEE: KindWording(
        NAME_SUFFIX[PartyOrgKind.PARTY_COMMITTEE], "该党委", _LEVELS_RULE,
        "召开党员大会，选举产生党的基层委员会委员，由委员会全体会议选举产生书记、副书记"),
}
ELECTION_RULE = "《中国共产党基层组织选举工作条例》"


@dataclass(frozen=True)
class RecordWording:
    """How a document of an established organisation's record (换届, 延期...) names itself: its title around the
    organisation's name, and the 请示 it answers; "{change}" is 延期换届 or 提前换届."""
    title: tuple[str, str]  # before and after the name: 关于同意 / 换届选举的批复
    request: str            # the 请示, after 关于 and the name


RECORD_WORDING = {
    DocumentKind.RENEWAL: RecordWording(("关于同意", "换届选举的批复"), "换届选举的请示"),
    DocumentKind.RENEWAL_ELECTION: RecordWording(("关于", "换届选举结果的批复"), "换届选举结果的请示"),
    DocumentKind.POSTPONEMENT: RecordWording(("关于同意", "{change}的批复"), "{change}的请示"),
    # The zone dissolves, renames or merges as the higher organisation (dissolution.py); the body names the reason.
    DocumentKind.DISSOLUTION: RecordWording(("关于撤销", "的批复"), "撤销的请示"),
    DocumentKind.RENAME: RecordWording(("关于同意", "更名为{new_name}的批复"), "更名的请示"),
    DocumentKind.MERGE: RecordWording(("关于", "并入{receiving}的批复"), "并入{receiving}的请示"),
}


def party_org_name(application: Application) -> str:
    """The new organisation's full name: 中共XX有限公司支部委员会."""
    return full_name(application.organisation.name, application.requested_kind)


def format_number(prefix: str, year: int, serial: int) -> str:
    """发文字号: prefix, the year in 〔〕, the serial with no leading zero, then 号."""
    return f"{prefix}〔{year}〕{serial}号"


def chinese_date(day: date) -> str:
    """成文日期 in Arabic numerals, year in full, no leading zeros: 2026年11月28日."""
    return f"{day.year}年{day.month}月{day.day}日"


def member_count(formal: int, probationary: int) -> str:
    """The members in 名, zero counts left out: 党员6名，其中正式党员5名、预备党员1名 / 正式党员5名."""
    if formal and probationary:
        return f"党员{formal + probationary}名，其中正式党员{formal}名、预备党员{probationary}名"
    return f"正式党员{formal}名" if formal else f"预备党员{probationary}名"


@dataclass(frozen=True)
class Addressee:
    """Whom a 批复 answers: the 上级党组织 that forwarded the 请示, or, where the 党工委 leads the new organisation
    itself, the organisation that sent it."""
    name: str
    you: str       # 你委 / 你单位
    forwarded: bool


def superior_of(application: Application, issuing_organ: str) -> str:
    """The new organisation's 上级党组织: its unit's (models/unit.py), or the 党工委 where the unit names none."""
    return application.unit.superior or issuing_organ


def addressee_of(application: Application, issuing_organ: str) -> Addressee:
    superior = superior_of(application, issuing_organ)
    if superior == issuing_organ:
        return Addressee(application.organisation.name, "你单位", forwarded=False)
    return Addressee(superior, "你委" if superior.endswith("委员会") or superior.endswith("委") else "你单位",
                     forwarded=True)


# The body is 3号 (16 pt) with 28 characters to the 156 mm line: a glyph of 5.644 mm closed up by letter-spacing
# to a pitch just under 156/28 mm (templates/pdf/document.html). The standard places the signature in characters.
CHAR_MM = 156 / 28
GLYPH_MM = 16 * 25.4 / 72
LETTER_SPACING_MM = -0.08
SEAL_MM = 42
TITLE_GLYPH_MM = 22 * 25.4 / 72  # 2号
TYPE_WIDTH_MM = 156


def text_width_mm(text: str, glyph: float = GLYPH_MM, spacing: float = LETTER_SPACING_MM) -> float:
    """Printed width, near enough to place text by: a CJK (wide) character is one glyph, a digit or Latin letter
    a little over half of one, each followed by the letter-spacing."""
    glyphs = sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.55 for c in text)
    return glyphs * glyph + len(text) * spacing


def title_lines(pieces: list[str]) -> list[str]:
    """The title's lines, broken only between its pieces (关于同意成立 / 中共XX有限公司 / 支部的批复), each line as
    full as the 156 mm allows: a word is never cut, and no line starts with 的. A piece wider than a line is left
    to the renderer to wrap."""
    lines: list[str] = []
    for piece in pieces:
        if lines and text_width_mm(lines[-1] + piece, TITLE_GLYPH_MM, 0) <= TYPE_WIDTH_MM:
            lines[-1] += piece
        else:
            lines.append(piece)
    return lines


@dataclass
class SignatureLayout:
    """Offsets from the type area's right edge, in mm: of the block that holds the 署名 over the date, each line
    centred in it, and of the seal."""
    block_right: float
    seal_right: float


def signature_layout(organ: str, date_text: str) -> SignatureLayout:
    """GB/T 9704-2012 7.3.5.1: the date four characters from the right, the organ's name centred over it, the seal
    centred on both. A name too long to be centred so without passing the type area's right edge moves both left,
    until the name ends at the edge, still centred over the date."""
    date_width, name_width = text_width_mm(date_text), text_width_mm(organ)
    block_right = max(0.0, 4 * CHAR_MM - max(0.0, name_width - date_width) / 2)
    centre = block_right + max(name_width, date_width) / 2
    return SignatureLayout(block_right=round(block_right, 2), seal_right=round(centre - SEAL_MM / 2, 2))


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


def issue_document(application: Application, kind: DocumentKind, *, actor: User, party_org: PartyOrg | None = None,
                   title_pieces: list[str] | None = None, context: dict | None = None) -> Document:
    """Issue a numbered document (发文): take the number, render the PDF once, sign it (domain/signing.py), keep the
    signed file with its SHA-256.

    A document of an established organisation's record (换届, 撤销...) names it (`party_org`, whose founding
    application is `application`), brings its title in the pieces a line may break between, and whatever its
    part of templates/pdf/document.html needs in `context`; all kinds share the year's numbers."""
    if kind not in FOUNDING_KINDS and (party_org is None or title_pieces is None):
        raise ValueError(f"a {kind.value} document is issued for a party organisation, with its title")
    settings = get_settings()
    today = local_today()
    serial = take_number(today.year)
    token = secrets.token_urlsafe(32)
    pieces = title_pieces or _title_pieces(application, kind)
    document = Document(
        application=application, party_org=party_org, kind=kind, year=today.year, serial=serial,
        number=format_number(settings["doc_prefix"], today.year, serial), title="".join(pieces),
        token=token, issued_by=actor)
    from .signing import sign  # here, not at the top: see domain/signing.py

    pdf = sign(*lay_out_document(document, settings, today, title_pieces=pieces, context=context))
    document.file = keep_file(f"{document.number}.pdf", "application/pdf", pdf, actor=actor)
    db.session.add(document)
    db.session.flush()
    record_event("issue_document", document, actor, f"印发{document.number}《{document.title}》")
    return document


def issue_record_document(party_org: PartyOrg, kind: DocumentKind, *, actor: User, context: dict,
                          **words: str) -> Document:
    """Issue a document of the record in its RECORD_WORDING: the title around the organisation's name, and the
    请示 it answers (`request_title`, for the body in templates/pdf/document.html)."""
    title, request_title = record_title(party_org.name, party_org.kind, kind, **words)
    return issue_document(party_org.application, kind, actor=actor, party_org=party_org, title_pieces=title,
                          context={**context, "record_name": party_org.name, "request_title": request_title})


def record_title(name: str, party_kind: PartyOrgKind, kind: DocumentKind, **words: str) -> tuple[list[str], str]:
    """A record document's title in the pieces a line may break between, and the 请示 it answers. The name's kind
    ending goes with what follows it (中共XX有限公司 / 支部委员会的批复), so that no line starts with 的."""
    wording = RECORD_WORDING[kind]
    ending = NAME_SUFFIX[party_kind] if name.endswith(NAME_SUFFIX[party_kind]) else ""
    return ([wording.title[0], name.removesuffix(ending) if ending else name,
             ending + wording.title[1].format(**words)], f"《关于{name}{wording.request.format(**words)}》")


def render_document(document: Document, settings: dict[str, str], day: date, *,
                    title_pieces: list[str] | None = None, context: dict | None = None) -> bytes:
    """The document as PDF in the GB/T 9704-2012 layout (templates/pdf/document.html), unsigned."""
    return lay_out_document(document, settings, day, title_pieces=title_pieces, context=context)[0]


def lay_out_document(document: Document, settings: dict[str, str], day: date, *,
                     title_pieces: list[str] | None = None, context: dict | None = None) -> tuple[bytes, "SealArea"]:
    """The document as PDF in the GB/T 9704-2012 layout (templates/pdf/document.html), and where its seal is
    printed (the element #seal, there with or without a seal image), for the signature's field.

    Its 版记 (抄送, 印发) ends the last page, which must be an even one (the back of the sheet). Laid out after the
    text, it lands at the foot of the page where the text ends; where that page is odd, or the 版记 did not fit
    on it and went on alone, the document is laid out once more with the 版记 on a page of its own, the next
    even one: a page so left blank and the 版记's own page carry no page number (GB/T 9704-2012 7.5)."""
    application = document.application
    seal = seal_bytes(settings)
    date_text = chinese_date(day)
    submitted = _first_submission(application)
    fonts = document_fonts(settings)

    def page(banji_alone: bool) -> str:
        return render_template(
            "pdf/document.html", document=document, application=application, settings=settings, fonts=fonts,
            org_name=party_org_name(application), wording=WORDING[application.requested_kind],
            addressee=addressee_of(application, settings["issuing_organ"]),
            superior=superior_of(application, settings["issuing_organ"]),
            members=member_count(application.formal_members, application.probationary_members),
            title_lines=title_lines(title_pieces or _title_pieces(application, document.kind)), date_text=date_text,
            signature=signature_layout(settings["issuing_organ"], date_text),
            submitted_on=chinese_date(submitted) if submitted else "",
            election_day=chinese_date(application.election_date) if application.election_date else "",
            committee=_committee(application) if document.kind is DocumentKind.ELECTION_APPROVAL else [],
            election_rule=ELECTION_RULE, banji_alone=banji_alone,
            seal_uri="data:image/png;base64," + base64.b64encode(seal).decode() if seal else None,
            qr_uri=segno.make(verification_url(document.token), error="m").svg_data_uri(scale=4, border=0),
            verify_base=verification_url(""), **(context or {}))

    layouts: list = []  # each layout's pages: the last is the one written

    def placed_or_again(pages) -> str | None:
        layouts.append(pages)
        if len(layouts) > 1 or len(pages) % 2 == 0 and "end-of-text" in pages[-1].anchors:
            return None
        return page(banji_alone=True)

    pdf = html_to_pdf(page(banji_alone=False), relayout=placed_or_again, relayouts=2, fonts=fonts)
    return pdf, _seal_area(layouts[-1])


def _seal_area(pages) -> "SealArea":
    """The box of the element #seal on its page, from WeasyPrint's CSS pixels (from the top-left, 0.75 pt each) to
    PDF points from the bottom-left."""
    index, page = next((i, p) for i, p in enumerate(pages) if "seal" in p.anchors)
    x0, top, x1, bottom = (value * 0.75 for value in page.anchors["seal"])
    height = page.height * 0.75
    from .signing import SealArea  # here, not at the top: see domain/signing.py

    return SealArea(index, (x0, height - bottom, x1, height - top))


def render_dossier(application: Application) -> bytes:
    """The application dossier (申请档案) for the archive: data, members, attachments, documents, timeline."""
    documents = list(db.session.scalars(sa.select(Document).where(Document.application_id == application.id)
                                        .order_by(Document.id)))
    settings = get_settings()
    fonts = document_fonts(settings)
    html = render_template("pdf/dossier.html", application=application, documents=documents,
                           org_name=party_org_name(application), settings=settings, fonts=fonts,
                           printed=chinese_date(local_today()), date_text=chinese_date, local_date=local_date)
    return html_to_pdf(html, in_child=True, fonts=fonts)  # in a child: it would leave the worker bigger (pdf.py)


def log_view(document: Document, remote_addr: str) -> None:
    """Log that someone opened the verification page (核验记录)."""
    db.session.add(VerificationCheck(document=document, remote_addr=remote_addr[:45]))


def check_signature(document: Document) -> "SignatureCheck":
    """The signature of the stored file: intact, covering the whole file, by whom, when."""
    from .signing import verify  # here, not at the top: see domain/signing.py

    return verify(document.file.data)


@dataclass(frozen=True)
class UploadCheck:
    """An uploaded PDF checked (核验文件): the issued document it is byte for byte (None: it is none of them), and
    its own signature, which says whether it was changed since it was signed even where it matches nothing."""
    document: Document | None
    signature: "SignatureCheck"


def check_upload(filename: str, data: bytes, remote_addr: str, document: Document | None = None) -> UploadCheck:
    """Check an uploaded PDF against `document` (the verification page's) or, without one, against every issued
    file by SHA-256, and check its signature. The check is logged on the document compared with or found; a file
    that is empty, over 10 MB, not a PDF, or too complex to check in the time and memory allowed is refused
    (DomainError)."""
    from .signing import verify_upload  # here, not at the top: see domain/signing.py
    checked_upload(filename, data, field="file", accept=("application/pdf",))
    signature = verify_upload(filename, data)
    digest = hashlib.sha256(data).hexdigest()
    if document is None:
        document = db.session.scalar(sa.select(Document).join(Document.file).where(StoredFile.sha256 == digest)
                                     .order_by(Document.id).limit(1))
    matched = document is not None and secrets.compare_digest(digest, document.file.sha256)
    if document is not None:
        db.session.add(VerificationCheck(document=document, remote_addr=remote_addr[:45], uploaded_sha256=digest,
                                         matched=matched))
    return UploadCheck(document if matched else None, signature)


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


def _title_pieces(application: Application, kind: DocumentKind) -> list[str]:
    """The title in the pieces a line may break between."""
    organisation, suffix = f"中共{application.organisation.name}", WORDING[application.requested_kind].suffix
    if kind is DocumentKind.APPROVAL:
        return ["关于同意成立", organisation, f"{suffix}的批复"]
    return ["关于", organisation, f"{suffix}选举结果的批复"]


def _committee(application: Application) -> list[str]:
    """The elected committee's members, the secretary first (the report lists them all, separated by 、)."""
    secretary = (application.secretary_name or "").strip()
    return [secretary] + [n for n in name_list(application.committee_members or "") if n != secretary]


def _first_submission(application: Application) -> date | None:
    return local_date(application.submitted_at) if application.submitted_at else None
