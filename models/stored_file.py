"""Files kept in the database, so several app servers share them and one backup holds everything."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db

from .base import utcnow


class StoredFile(db.Model):
    """An uploaded attachment or a generated document, with the SHA-256 of its bytes."""

    __tablename__ = "stored_files"
    __table_args__ = (
        sa.CheckConstraint("size >= 0", name="size_non_negative"),
        sa.CheckConstraint("length(sha256) = 64", name="sha256_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    # Deferred: lists of files must not pull megabytes of bytes they never show.
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    created_by = relationship("User")
