"""The life of an established Party organisation (党组织档案): its record, committee, terms and later steps.

Queries live here; the steps' table in steps (STEPS), the verbs in records (create_party_org, record_step), the term
lengths in terms. Callers import from `domain.party_orgs`.
"""
import sqlalchemy as sa

from models import Document, PartyOrg, User, db

from .dissolution import covered_by, dissolve_party_org, merge_party_org, receiving_choices, rename_party_org
from .records import create_party_org, elected_seats, member_of, record_step
from .renewal_steps import (
    RENEWAL_STEP_BY_ACTION, RENEWAL_STEPS, RENEWAL_WAITING_ON, RenewalStep, available_renewal_steps, renewal_mermaid,
    renewal_step_refusal,
)
from .renewals import (
    Slate, approve_renewal, approve_renewal_election, ask_date_change, grant_date_change, natural_term_end,
    open_renewal, pass_renewal, refuse_date_change, renewal_panel, renewals_of, report_renewal_election,
    return_renewal, return_renewal_election, submit_renewal, withdraw_renewal,
)
from .steps import STEP_BY_ACTION, STEPS, Step, available_steps, require_step, step_refusal, steps_from
from .terms import DEFAULT_TERM_YEARS, term_end, term_years

__all__ = [
    "DEFAULT_TERM_YEARS", "STEPS", "STEP_BY_ACTION", "Step", "available_steps", "covered_by", "create_party_org",
    "dissolve_party_org", "documents_of", "elected_seats", "merge_party_org", "receiving_choices", "rename_party_org",
    "for_user", "member_of", "party_org_of", "record_step", "require_step", "step_refusal",
    "steps_from", "term_end", "term_years", "visible_party_org",
    # 换届 and 延期/提前换届 (renewal_steps, renewals)
    "RENEWAL_STEPS", "RENEWAL_STEP_BY_ACTION", "RENEWAL_WAITING_ON", "RenewalStep", "Slate", "approve_renewal",
    "approve_renewal_election", "ask_date_change", "available_renewal_steps", "grant_date_change",
    "natural_term_end", "open_renewal", "pass_renewal", "refuse_date_change", "renewal_mermaid", "renewal_panel",
    "renewal_step_refusal", "renewals_of", "report_renewal_election", "return_renewal", "return_renewal_election",
    "submit_renewal", "withdraw_renewal",
]


def for_user(user: User) -> sa.Select:
    """The records this user may see (PartyOrg.visible_to), in name order: what every list starts from."""
    return sa.select(PartyOrg).where(PartyOrg.visible_to(user)).order_by(PartyOrg.name, PartyOrg.id)


def visible_party_org(party_org_id: int, user: User) -> PartyOrg | None:
    """The record, if this user may see it; None as for one that does not exist."""
    return db.session.scalar(sa.select(PartyOrg).where(PartyOrg.id == party_org_id, PartyOrg.visible_to(user)))


def party_org_of(application_id: int) -> PartyOrg | None:
    """The organisation a founding application established, if it is established."""
    return db.session.scalar(sa.select(PartyOrg).where(PartyOrg.application_id == application_id))


def documents_of(party_org: PartyOrg) -> list[Document]:
    """Every document issued for the organisation, the founding 批复 first."""
    return list(db.session.scalars(sa.select(Document).where(Document.party_org_id == party_org.id)
                                   .order_by(Document.id)))
