"""The append-only, hash-chained audit log that every state change writes to."""
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db

from .base import AppendOnly, utcnow
from .user import User

# The prev_hash of the first row: nothing came before it.
GENESIS_HASH = "0" * 64

# How a row's `hash` was made (its `scheme`). Rows written before the audit key existed carry the plain SHA-256
# (LEGACY_SCHEME); every row since, an HMAC-SHA256 under AUDIT_KEY (HMAC_SCHEME). domain/audit.py says where the one
# may stand and where the other must.
LEGACY_SCHEME, HMAC_SCHEME = 0, 1


class AuditEvent(AppendOnly, db.Model):
    """审计日志: who did what to which object, when. Never updated or deleted (a trigger refuses it too).

    Rows form a chain: `seq` counts 1, 2, 3... without gaps, and each row carries an HMAC-SHA256, under the key
    AUDIT_KEY that the database never holds, of its own content together with the previous row's hash, so a
    changed, removed or reordered row breaks the chain at that point (`flask --app app verify-audit`), and
    nobody without the key can seal a rewritten one. The chain is sealed at commit (domain.audit).
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(40))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[int | None]
    summary: Mapped[str] = mapped_column(sa.String(500), default="")
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))
    scheme: Mapped[int] = mapped_column(sa.SmallInteger, default=HMAC_SCHEME)

    actor: Mapped[User | None] = relationship(lazy="joined")

    __table_args__ = (
        sa.Index("ix_audit_events_object", "object_type", "object_id"),
        sa.CheckConstraint(f"scheme IN ({LEGACY_SCHEME}, {HMAC_SCHEME})", name="known_scheme"),
    )


class AuditChainHead(db.Model):
    """The chain's end: the last row's seq and hash, one row. Removing the newest audit rows shows against it,
    and updating it is what serialises the writers (its row lock, or SQLite's write lock) so that two
    transactions never link to the same previous row."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str] = mapped_column(sa.String(64), default=GENESIS_HASH)

    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)
