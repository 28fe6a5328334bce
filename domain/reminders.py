"""Reminders and escalation (到期提醒与督办): what is overdue, after how long, who is told, in what words, as one table.

An hourly periodic task (send_reminders, below) calls send_due, so that a reminder follows its item's crossing
of the line within the hour. Each reminder is sent once per item and period of waiting: the
sent_reminders row's unique key (kind, item, period) is claimed in the same transaction as the notices, so a rerun,
or a second consumer running the task at the same moment, finds the key taken and sends nothing. The period is the
moment the wait began: a step taken and then waited on again is a new period, reminded again.
"""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from flask import current_app

from jobs.queue import crontab, periodic
from models import Application, FundItem, FundState, PartyOrg, Role, SentReminder, User, db, utcnow

from .guidance import last_visits, visit_interval, visit_overdue
from .instructors import assigned_since
from .facts import chinese_date
from .notices import active_users, application_page, contacts_of, instructor_accounts, notify, with_role
from .party_orgs.terms import TermStatus, term_status_sql
from .workflow import INSTRUCTED_STATES, WAITING_ON
from .zone_time import local_date

# An approved startup fund still unpaid after this many days reminds finance.
FUND_UNPAID_DAYS = 30


@dataclass(frozen=True)
class Due:
    """One reminder owed: about which item and wait, to whom, with what to fill the rule's words."""
    item_id: int
    period: str
    user_ids: list[int]
    values: dict
    application_id: int | None = None
    link: str = ""


@dataclass(frozen=True)
class Rule:
    kind: str
    overdue: str  # what is overdue
    after_days: Callable[[], int]  # after how long (read when the task runs: settings may change)
    told: str  # who is told
    words: str  # the notice, filled from Due.values
    find: Callable[[int, datetime], list[Due]]  # (days, now) -> what is due
    names_stand_in: bool = False  # the one told, if away (代理), reads who stands in for them


def _overdue_days() -> int:
    return current_app.config["OVERDUE_DAYS"]


def _escalation_days() -> int:
    return 2 * _overdue_days()


def _period(at: datetime | date) -> str:
    if isinstance(at, datetime):
        return at.astimezone(timezone.utc).isoformat(timespec="seconds")
    return at.isoformat()


def _waiting(days: int, now: datetime) -> list[Application]:
    return list(db.session.scalars(sa.select(Application).where(
        Application.state.in_(list(WAITING_ON)), Application.state_changed_at < now - timedelta(days=days))
        .order_by(Application.id)))


def _owed_by(application: Application) -> list[User]:
    """Who owes the waiting step's move: the unit's reviewers, or the zone approvers (WAITING_ON)."""
    role = WAITING_ON[application.state]
    if role is Role.UNIT_REVIEWER:
        return active_users(User.role == role, User.unit_id == application.unit_id)
    return with_role(role)


def _step_due(application: Application, users: list[User], now: datetime) -> Due:
    return Due(application.id, _period(application.state_changed_at), [u.id for u in users],
               {"org": application.organisation.name, "state": application.state.label,
                "days": (now - application.state_changed_at).days, "who": WAITING_ON[application.state].label},
               application_id=application.id)


def _steps_overdue(days: int, now: datetime) -> list[Due]:
    return [_step_due(a, _owed_by(a), now) for a in _waiting(days, now)]


def _steps_escalated(days: int, now: datetime) -> list[Due]:
    zone = with_role(Role.ZONE_APPROVER)
    return [_step_due(a, zone, now) for a in _waiting(days, now)]


def _visits_overdue(days: int, now: datetime) -> list[Due]:
    """Organisations under guidance whose instructor has not recorded a visit within the interval (the same rule the
    instructor's list marks 逾期 with)."""
    applications = list(db.session.scalars(sa.select(Application).where(
        Application.state.in_(list(INSTRUCTED_STATES)), Application.instructor_id.is_not(None))
        .order_by(Application.id)))
    ids = [a.id for a in applications]
    last, since, today = last_visits(ids), assigned_since(ids), local_date(now)
    due = []
    for a in applications:
        if a.id not in since:
            continue
        start = last.get(a.id) or local_date(since[a.id])
        if visit_overdue(last.get(a.id), local_date(since[a.id]), days, today):
            users = active_users(User.role == Role.INSTRUCTOR, User.instructor_id == a.instructor_id)
            # The instructor is part of the period: a newly assigned one is told of their own wait.
            due.append(Due(a.id, f"{a.instructor_id}:{_period(start)}", [u.id for u in users],
                           {"org": a.organisation.name, "days": (today - start).days}, application_id=a.id))
    return due


def _funds_unpaid(days: int, now: datetime) -> list[Due]:
    items = list(db.session.scalars(sa.select(FundItem).where(
        FundItem.state == FundState.APPROVED, FundItem.confirmed_at < now - timedelta(days=days))
        .order_by(FundItem.id)))
    finance = [u.id for u in with_role(Role.FINANCE)]
    return [Due(i.id, _period(i.confirmed_at), finance,
                {"org": i.organisation.name, "days": (now - i.confirmed_at).days}, link="/finance/") for i in items]


def _terms_due(_days: int, now: datetime) -> list[Due]:
    """Organisations whose term ends within six months (半年内届满, the record list's own rule, term_status_sql):
    the higher organisation reminds the organisation's contact, its instructor and its unit's reviewers. The period
    is the term's end, so a postponement that moves it is reminded again."""
    today = local_date(now)
    due = []
    for party_org in db.session.scalars(sa.select(PartyOrg).where(
            term_status_sql(today) == TermStatus.DUE.value).order_by(PartyOrg.id)):
        application = party_org.application
        users = [*contacts_of(party_org.organisation_id), *active_users(
            User.role == Role.UNIT_REVIEWER, User.unit_id == party_org.unit_id)]
        if application.instructor_id is not None:
            users += instructor_accounts(application.instructor_id)
        due.append(Due(party_org.id, _period(party_org.term_end), [u.id for u in users],
                       {"org": party_org.name, "end": chinese_date(party_org.term_end),
                        "days": (party_org.term_end - today).days},
                       application_id=application.id, link=f"/orgs/{party_org.id}"))
    return due


RULES: tuple[Rule, ...] = (
    Rule("step_overdue", "申请在待初审、待党工委审批或选举结果待审环节等待", _overdue_days, "该环节的办理人",
         "提醒：「{org}」的申请在“{state}”环节已等待{days}天，请尽快办理。", _steps_overdue),
    Rule("step_escalated", "同上，等待超过超期天数的两倍", _escalation_days, "党工委",
         "督办：「{org}」的申请在“{state}”环节已等待{days}天仍未办理（应由{who}办理），请督促。", _steps_escalated),
    Rule("visit_overdue", "党建指导员超过指导间隔未记录指导", visit_interval, "该组织的党建指导员",
         "提醒：您指导的「{org}」已{days}天没有指导记录，请尽快开展指导并登记。", _visits_overdue,
         names_stand_in=True),
    Rule("fund_unpaid", "启动经费已核定而未拨付", lambda: FUND_UNPAID_DAYS, "财务",
         "提醒：「{org}」的启动经费已核定{days}天仍未拨付，请尽快安排拨付。", _funds_unpaid),
    # Counted in months before the term's end, not in days after a wait: its rule reads the end itself.
    Rule("term_due", "党组织任期半年内届满", lambda: 0, "该组织联系人、党建指导员和初审单位",
         "提醒：{org}本届任期将于{end}届满（还有{days}天），请提前做好换届准备，按期提出换届请示。", _terms_due),
)


def claim_once(kind: str, item_id: int, period: str) -> SentReminder | None:
    """Claim a reminder's key (kind, item, period) in the transaction that writes what it sends; None when it was
    sent before, or is being sent by another consumer right now (whose transaction tells them). Call it in a fresh
    transaction and commit after writing: on SQLite one that has read cannot wait for another's write lock."""
    claim = SentReminder(kind=kind, item_id=item_id, period=period)
    try:
        with db.session.begin_nested():
            db.session.add(claim)
            db.session.flush()
    except sa.exc.IntegrityError:
        db.session.rollback()
        return None
    return claim


def _send(rule: Rule, due: Due, now: datetime) -> bool:
    """Claim the reminder's key and write its notices in one transaction; False if it was already sent."""
    if (claim := claim_once(rule.kind, due.item_id, due.period)) is None:
        return False
    users = list(db.session.scalars(sa.select(User).where(User.id.in_(due.user_ids)).order_by(User.id)))
    application = db.session.get(Application, due.application_id) if due.application_id else None
    link = due.link or (application_page(application) if application is not None else "")
    # notify also tells the substitute of an official away at `now` (代理): the key above is claimed once for both.
    claim.recipients = notify(users, rule.words.format(**due.values), application=application, link=link, at=now,
                              name_stand_in=rule.names_stand_in)
    db.session.commit()
    return True


def send_due(now: datetime | None = None) -> dict[str, int]:
    """Send every reminder due at `now` that was not sent before; returns how many were sent, by kind."""
    now = now or utcnow()
    owed = [(rule, due) for rule in RULES for due in rule.find(rule.after_days(), now) if due.user_ids]
    # End the reading transaction before the first claim: on SQLite a transaction that has read cannot wait for
    # another consumer's write lock, and would fail instead of finding the key taken.
    db.session.commit()
    sent = {rule.kind: 0 for rule in RULES}
    for rule, due in owed:
        sent[rule.kind] += _send(rule, due, now)
    return sent


@periodic(crontab(minute="7"), "到期提醒：超期催办、督办、指导、拨付与任期届满提醒")
def send_reminders() -> dict[str, int]:
    return send_due()
