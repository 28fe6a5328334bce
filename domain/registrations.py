"""Verifying self-registrations (注册核实): the unit's reviewer, or the admin, sees the certificate beside what was
typed and verifies or refuses; the contact is told. A new organisation counts once verified; a claim's account
opens once verified."""
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from models import (
    CLAIM_LAPSES_AFTER, Organisation, RegistrationKind, RegistrationReview, RegistrationStatus, Role,
    User, db, utcnow,
)

from . import DomainError
from .accounts import end_sessions, registration_of, settled_contacts
from .audit import record_event
from .notices import notify
from .text import check_text


def waiting_for(role: Role, unit_id, lapse_cutoff) -> list:
    """The conditions of the registrations an official of this role (and unit) may decide: pending, not a claim
    older than the cutoff, of their unit. unit_id and lapse_cutoff may be values or bound parameters: the
    navigation's counter (domain/inbox.py) builds its statement once per role."""
    lapsed = sa.and_(RegistrationReview.kind == RegistrationKind.CLAIM, RegistrationReview.created_at < lapse_cutoff)
    conditions = [RegistrationReview.status == RegistrationStatus.PENDING, sa.not_(lapsed)]
    if role is Role.UNIT_REVIEWER:
        conditions.append(RegistrationReview.organisation_id.in_(
            sa.select(Organisation.id).where(Organisation.unit_id == unit_id)))
    elif role is not Role.ADMIN:
        conditions.append(sa.false())
    return conditions


def lapse_cutoff():
    """Claims made before this moment have lapsed."""
    return utcnow() - CLAIM_LAPSES_AFTER


def verification_queue(user: User) -> list[RegistrationReview]:
    """The registrations waiting for this official's decision, oldest first (核实队列)."""
    return list(db.session.scalars(sa.select(RegistrationReview)
                                   .where(*waiting_for(user.role, user.unit_id, lapse_cutoff()))
                                   .options(selectinload(RegistrationReview.certificate))
                                   .order_by(RegistrationReview.created_at, RegistrationReview.id)))


def verify_registration(review: RegistrationReview, *, actor: User) -> None:
    """Verify a registration (核实通过): a new organisation counts from now on; a claim's account opens."""
    _check_decidable(review, actor)
    org = review.organisation
    if db.session.scalar(settled_contacts(org.id, besides=review.user_id)):
        raise DomainError("该组织已有开通的联系人账号。如需更换联系人，请由系统管理员先解除原联系人，再核实本次注册")
    review.status, review.decided_by, review.decided_at = RegistrationStatus.VERIFIED, actor, utcnow()
    org.verified = True  # a claim's certificate proves the organisation too, were it one that registered itself
    review.user.active = True
    _tell(review.user, f"您提交的{org.name}注册信息已由{_decider(actor)}核实通过。"
          + ("现在可以提交成立党组织的申请。" if review.kind is RegistrationKind.NEW else "账号已开通。"))
    record_event("verify_registration", org, actor, f"核实通过：{org.name}（{review.kind.label}），联系人 "
                 f"{review.user.name}（{review.position}）")


def refuse_registration(review: RegistrationReview, reason: str, *, actor: User) -> None:
    """Refuse a registration (核实不通过) with the reason the contact is told. A new organisation stays out of every
    figure; a claim's account stays closed."""
    _check_decidable(review, actor)
    reason = check_text((reason or "").strip(), "理由", "reason", multiline=True)
    if not reason:
        raise DomainError("不通过核实须填写理由，联系人会看到这一理由", "reason")
    if len(reason) > RegistrationReview.reason.type.length:
        raise DomainError(f"理由不能超过 {RegistrationReview.reason.type.length} 字", "reason")
    _close(review, reason, actor)
    record_event("refuse_registration", review.organisation, actor,
                 f"核实不通过：{review.organisation.name}（{review.kind.label}）：{reason}", reason=reason)


def _close(review: RegistrationReview, reason: str, actor: User) -> None:
    """A registration refused: its account closes (a refused registrant holds nothing: the real contact registers as
    a claim), its logins end, and the login says why."""
    review.status, review.decided_by, review.decided_at = RegistrationStatus.REFUSED, actor, utcnow()
    review.reason = reason
    review.user.active = False
    end_sessions(review.user)


def detach_contact(contact: User, reason: str, *, actor: User) -> None:
    """Detach a contact from their organisation (解除联系人), with a reason: the account closes and its logins end,
    so that another person's claim can be verified; a registration of theirs still waiting is refused with it."""
    if actor.role is not Role.ADMIN:
        raise DomainError("只有系统管理员可以解除联系人")
    if contact.role is not Role.APPLICANT:
        raise DomainError("只能解除企业/社会组织联系人")
    reason = check_text((reason or "").strip(), "理由", "reason", multiline=True)
    if not reason:
        raise DomainError("解除联系人须填写理由", "reason")
    contact.active = False
    end_sessions(contact)
    review = registration_of(contact)
    if review is not None and review.status is RegistrationStatus.PENDING:
        _close(review, f"联系人已被解除：{reason}"[:300], actor)
    record_event("detach_contact", contact.organisation, actor,
                 f"解除{contact.organisation.name}的联系人 {contact.username}：{reason}"[:500], reason=reason)


def _check_decidable(review: RegistrationReview, actor: User) -> None:
    if review.status is not RegistrationStatus.PENDING:
        raise DomainError(f"该注册{review.status.label}，不能再次处理")
    if review.lapsed:
        raise DomainError("该认领已超过30天未处理，已失效；申请人需重新注册")
    if not review.can_decide(actor):
        raise DomainError("只有该组织所属初审单位或系统管理员可以核实")


def _decider(actor: User) -> str:
    return actor.unit.name if actor.role is Role.UNIT_REVIEWER and actor.unit else "系统管理员"


def _tell(user: User, message: str) -> None:
    notify([user], message)
