"""A self-registration awaiting its unit's verification (注册核实): a new organisation, or a claim of one the
registry already holds."""
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db

from .base import LabelledEnum, enum_type, utcnow
from .organisation import Organisation
from .stored_file import StoredFile
from .user import User

# An undecided claim lapses after this long: the registrant registers again if they still want the account.
CLAIM_LAPSES_AFTER = timedelta(days=30)


class RegistrationKind(LabelledEnum):
    NEW = "new", "新登记组织"  # not in the registry: the organisation counts nowhere until verified
    CLAIM = "claim", "认领名录中的组织"  # in the registry: the account stays closed until verified


class RegistrationStatus(LabelledEnum):
    PENDING = "pending", "待核实"
    VERIFIED = "verified", "已核实"
    REFUSED = "refused", "未通过核实"

    @property
    def badge(self) -> str:
        return {"pending": "warning", "verified": "success", "refused": "danger"}[self.value]


class RegistrationReview(db.Model):
    """One registration's evidence and its decision: the business licence or registration certificate, the
    contact's position, and who verified or refused it, when and why."""

    __tablename__ = "registrations"
    __table_args__ = (
        sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="decided_when_not_pending"),
        sa.CheckConstraint("status <> 'refused' OR reason <> ''", name="refusal_has_reason"),
        sa.Index("ix_registrations_queue", "status", "organisation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RegistrationKind] = mapped_column(enum_type(RegistrationKind, "registration_kind"))
    status: Mapped[RegistrationStatus] = mapped_column(enum_type(RegistrationStatus, "registration_status"))
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    # None only for claims made before certificates were asked for (the migration that added this table).
    certificate_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    position: Mapped[str] = mapped_column(sa.String(40))  # the contact's position (职务)
    phone: Mapped[str] = mapped_column(sa.String(20))  # as the registrant gave it: the registry's may be another's
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(sa.String(300), default="")

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    certificate: Mapped[StoredFile | None] = relationship(lazy="select")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def is_claim(self) -> bool:
        return self.kind is RegistrationKind.CLAIM

    @property
    def refused(self) -> bool:
        return self.status is RegistrationStatus.REFUSED

    @property
    def lapsed(self) -> bool:
        """An undecided claim older than CLAIM_LAPSES_AFTER: no longer in the queue, and the account stays closed."""
        return (self.status is RegistrationStatus.PENDING and self.kind is RegistrationKind.CLAIM
                and utcnow() - self.created_at > CLAIM_LAPSES_AFTER)

    def can_decide(self, user) -> bool:
        """The organisation's unit reviewer, or the admin, decides a registration that is still waiting."""
        from .user import Role

        waiting = self.status is RegistrationStatus.PENDING and not self.lapsed
        return waiting and (user.role is Role.ADMIN or (user.role is Role.UNIT_REVIEWER
                                                        and user.unit_id == self.organisation.unit_id))
