"""The record's verbs (党组织档案): opening it when the founding ends, and writing each later step's history."""
from datetime import date
from typing import Any

import sqlalchemy as sa

from models import (
    Application, ApplicationMember, CommitteePost, CommitteeSeat, Document, MemberStatus, PartyOrg, PartyOrgEvent,
    User, db, full_name,
)

from .. import bump_version
from ..substitutes import record_acted
from ..text import name_list
from ..zone_time import local_today
from .steps import Step
from .terms import term_end, term_years


def create_party_org(application: Application) -> PartyOrg:
    """Open the record (建立党组织档案) of the organisation the zone has just established (批准选举结果): its name,
    its first term from today, its committee as the election report gives it, and the founding documents."""
    today = local_today()
    party_org = PartyOrg(
        application=application, organisation=application.organisation, unit_id=application.unit_id,
        name=full_name(application.organisation.name, application.requested_kind), kind=application.requested_kind,
        established_on=today, term_start=today, term_end=term_end(today, term_years(application.requested_kind)))
    party_org.seats = elected_seats(application, today)
    if application.project is not None:  # a project's branch lives as long as its project (projects.py)
        application.project.party_org = party_org
    db.session.add(party_org)
    db.session.flush()
    # The approval (成立批复) was issued before the organisation existed; from now on it is the record's too.
    db.session.execute(sa.update(Document).where(Document.application_id == application.id,
                                                 Document.party_org_id.is_(None)).values(party_org_id=party_org.id))
    return party_org


def elected_seats(application: Application, started_on: date) -> list[CommitteeSeat]:
    """The committee the election report names: the secretary, then the other 委员 in the report's order."""
    secretary = (application.secretary_name or "").strip()
    others = [n for n in name_list(application.committee_members or "") if n != secretary]
    formal = {m.name: m for m in application.members if m.status is MemberStatus.FORMAL}
    seats = [(secretary, CommitteePost.SECRETARY)] if secretary else []
    seats += [(name, CommitteePost.MEMBER) for name in dict.fromkeys(others)]
    return [CommitteeSeat(name=name, post=post, member=formal.get(name), started_on=started_on)
            for name, post in seats]


def member_of(party_org: PartyOrg, name: str) -> ApplicationMember | None:
    """The formal member of this name on the founding list (党员名单), if any."""
    return next((m for m in party_org.application.members
                 if m.name == name.strip() and m.status is MemberStatus.FORMAL), None)


def record_step(party_org: PartyOrg, step: Step, actor: User, summary: str, *, reason: str = "",
                document: Document | None = None, bump: bool = True, **details: Any) -> PartyOrgEvent:
    """Write a step taken on the record (after require_step allowed it): move the state if the step does, bump the
    version unless told not to (of two pages sent at once, one wins; a 换届 step that leaves the record itself as it
    was does not, so that the record's open forms stay good), audit it (saying whom the actor stood in for) and
    append the record's history row. `summary` is the line the history and the audit log show (details["summary"]);
    `details` whatever else a later step may want to read of the change (JSON)."""
    if step.target is not None:
        party_org.state = step.target
    if bump:
        bump_version(party_org, "该党组织档案刚刚被他人修改，本次操作未执行。请查看最新内容。")
    stood_in_for = record_acted(f"party_org.{step.action}", party_org, party_org.application, actor,
                                f"{party_org.name}：{summary}")
    event = PartyOrgEvent(party_org=party_org, action=step.action, reason=reason.strip(), actor=actor,
                          actor_role=actor.role, on_behalf_of=stood_in_for, document=document,
                          details={"summary": summary, **details})
    db.session.add(event)
    db.session.flush()
    return event
