"""Issued documents (批复): numbered, rendered once, verifiable by anyone holding the QR code."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db

from .application import Application
from .base import AppendOnly, LabelledEnum, enum_type, utcnow
from .stored_file import StoredFile
from .user import User


class DocumentKind(LabelledEnum):
    APPROVAL = "approval", "成立批复"
    ELECTION_APPROVAL = "election_approval", "选举结果批复"
    # Issued for an established organisation (documents.party_org_id): each may be issued again and again.
    RENEWAL = "renewal", "同意换届的批复"
    RENEWAL_ELECTION = "renewal_election", "换届选举结果的批复"
    POSTPONEMENT = "postponement", "延期/提前换届的批复"
    DISSOLUTION = "dissolution", "撤销党组织的批复"
    RENAME = "rename", "更名的批复"
    MERGE = "merge", "合并的批复"


# The founding application's own two: once each per application.
FOUNDING_KINDS = (DocumentKind.APPROVAL, DocumentKind.ELECTION_APPROVAL)
_FOUNDING_SQL = "kind IN ('approval', 'election_approval')"


class DocumentCounter(db.Model):
    """The last number issued in a year (发文字号): one row per year, incremented inside the issuing transaction."""

    __tablename__ = "document_counters"
    __table_args__ = (sa.CheckConstraint("last_number >= 0", name="last_number_non_negative"),)

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


class Document(db.Model):
    """An issued document. Its bytes never change; revocation is recorded beside it, never by deleting."""

    __tablename__ = "documents"
    __table_args__ = (
        sa.UniqueConstraint("year", "serial", name="uq_documents_year_serial"),
        # Once per application for the founding kinds; the record's kinds repeat (two 换届 over the years).
        sa.Index("uq_documents_application_kind", "application_id", "kind", unique=True,
                 sqlite_where=sa.text(_FOUNDING_SQL), postgresql_where=sa.text(_FOUNDING_SQL)),
        # A document of the record's kinds is issued for a Party organisation.
        sa.CheckConstraint(f"{_FOUNDING_SQL} OR party_org_id IS NOT NULL", name="record_kinds_have_party_org"),
        sa.CheckConstraint("serial > 0", name="serial_positive"),
        sa.CheckConstraint("(revoked_at IS NULL) = (revoke_reason IS NULL)", name="revocation_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The founding application; for a document of the record, the one that founded its organisation.
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    # The established organisation it is issued for (党组织档案): every document of one, the founding two included
    # once it is established. NULL for the founding approval of an organisation not yet established.
    party_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("party_orgs.id"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(enum_type(DocumentKind, "document_kind"))
    year: Mapped[int]
    serial: Mapped[int]
    number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    # Unguessable: the QR code carries it, and holding it is what lets a stranger verify.
    token: Mapped[str] = mapped_column(sa.String(43), unique=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id"), unique=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    revoke_reason: Mapped[str | None] = mapped_column(sa.String(500))

    application: Mapped[Application] = relationship(lazy="joined")
    file: Mapped[StoredFile] = relationship(lazy="joined")
    issued_by: Mapped[User] = relationship(foreign_keys=[issued_by_id])
    party_org: Mapped["PartyOrg | None"] = relationship("PartyOrg")  # noqa: F821 (models/party_org.py)

    @property
    def valid(self) -> bool:
        return self.revoked_at is None


class VerificationCheck(AppendOnly, db.Model):
    """One check on the public verification page (核验记录): a view, or an uploaded file and whether it matched."""

    __tablename__ = "verification_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(sa.ForeignKey("documents.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    remote_addr: Mapped[str] = mapped_column(sa.String(45), default="")
    document: Mapped[Document] = relationship()
    uploaded_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    matched: Mapped[bool | None]


class Setting(db.Model):
    """An admin-editable setting (系统设置), such as the document-number prefix or the seal image."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
