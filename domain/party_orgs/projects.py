"""A project's branch after its project (工程项目党支部): the contact reports the end, the zone is prompted, decides.

"一个项目一个支部": the branch lives as long as the project. When the planned end passes, or the contact reports the
project ended, the zone is asked (a list on its home, a notice from the daily task below) to dissolve the branch
(撤销), move its members into another or a joint branch (调整: 撤销 naming the receiving branch, dissolution.py), or
keep it with a reason until a new review date.
"""
from datetime import date, timedelta

import sqlalchemy as sa

from jobs.queue import crontab, periodic
from models import PartyOrg, Project, Role, User, db

from .. import DomainError
from ..notices import notify, with_role
from ..reminders import claim_once
from ..zone_time import local_today
from .dissolution import check_reason
from .records import record_step
from .steps import require_step

# A branch kept after its project is reviewed again within this long (the same bound as a postponed election).
KEEP_AT_MOST = timedelta(days=366)


def report_project_end(party_org: PartyOrg, *, actor: User, version: int, ended_on: date | None,
                       reason: str = "") -> None:
    """报告项目结束: the contact reports the day the project ended; the zone is asked to decide."""
    step = require_step(party_org, "report_project_end", actor, version, reason)
    if ended_on is None:
        raise DomainError("请填写项目结束日期", "ended_on")
    if ended_on > local_today():
        raise DomainError("项目结束日期不能晚于今天", "ended_on")
    if ended_on < party_org.established_on:
        raise DomainError("项目结束日期不能早于党组织成立日期", "ended_on")
    party_org.project.ended_on = ended_on
    record_step(party_org, step, actor, f"报告项目于{ended_on:%Y-%m-%d}结束", reason=check_reason(reason) if reason else "",
                ended_on=ended_on.isoformat())
    notify(with_role(Role.ZONE_APPROVER), f"{party_org.name}报告工程项目已于{ended_on:%Y-%m-%d}结束，"
                                          "请决定撤销、调整或保留该党组织。", link=f"/orgs/{party_org.id}",
           event="application")


def keep_branch(party_org: PartyOrg, *, actor: User, version: int, reason: str, review_on: date | None) -> None:
    """保留: the zone keeps a project's branch after the project's end, with a reason, until `review_on`."""
    step = require_step(party_org, "keep_branch", actor, version, reason)
    reason = check_reason(reason)
    today = local_today()
    if review_on is None:
        raise DomainError("请填写复核日期", "review_on")
    if not today < review_on <= today + KEEP_AT_MOST:
        raise DomainError("复核日期应在今天之后、一年之内", "review_on")
    party_org.project.review_on = review_on
    record_step(party_org, step, actor, f"项目结束后保留，{review_on:%Y-%m-%d}复核", reason=reason,
                review_on=review_on.isoformat())


def awaiting_decision(today: date | None = None) -> list[PartyOrg]:
    """The project branches the zone owes a decision (Project.awaiting_decision), the longest waiting first."""
    waited = sa.func.coalesce(Project.review_on, Project.ended_on, Project.planned_end)
    return list(db.session.scalars(sa.select(PartyOrg).join(Project, Project.party_org_id == PartyOrg.id)
                                   .where(Project.awaiting_decision(today or local_today()))
                                   .order_by(waited, PartyOrg.id)))


def ask_for_decisions(today: date | None = None) -> int:
    """Tell the zone, once per branch and wait (its planned end, reported end or review date), of each project
    branch awaiting its decision. Returns how many branches were told of."""
    waits = [(p.id, p.name, str(p.project.review_on or p.project.ended_on or p.project.planned_end))
             for p in awaiting_decision(today)]
    db.session.commit()  # a reading transaction ends before the claims (reminders.claim_once)
    told = 0
    for party_org_id, name, period in waits:
        if claim_once("project_decision", party_org_id, period) is None:
            continue
        notify(with_role(Role.ZONE_APPROVER), f"{name}所在工程项目已结束，请决定撤销、调整或保留该党组织。",
               link=f"/orgs/{party_org_id}", event="application")
        db.session.commit()
        told += 1
    return told


@periodic(crontab(hour="1", minute="20"), "工程项目：项目结束后提请党工委决定党组织去留")
def remind_project_decisions() -> int:
    return ask_for_decisions()
