"""换届 (renewal) and the change of its date (延期换届, 提前换届): the verbs of renewal_steps' table.

The organisation's contact submits its 换届请示 (the planned election and the candidates), the unit reviews it, the
zone approves it with a 批复; the contact reports the election, and the zone's approval of it (a second 批复) starts
the new term and seats the new committee. A postponement or advancement asks the zone for a new date, at most a
year either side of the term's end (《中国共产党基层组织选举工作条例》, 2020).
"""
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from models import (
    OPEN_RENEWAL_STATES, CommitteePost, CommitteeSeat, Document, DocumentKind, PartyOrg, PartyOrgEvent, PartyOrgKind,
    Renewal, RenewalKind, RenewalState, Role, User, db, utcnow,
)

from .. import DomainError, bump_version
from ..documents import chinese_date, issue_record_document
from ..facts import check_date
from ..notices import active_users, contacts_of, notify, with_role
from ..party_rules import COMMITTEE_SIZE
from ..text import check_one_name, check_text, name_list
from ..zone_time import local_date, local_today
from .records import member_of, record_step
from .renewal_steps import RenewalStep, available_renewal_steps, require_renewal_step
from .steps import Step
from .terms import DUE_MONTHS, TermStatus, months_later, term_end, term_expired, term_status_sql, term_years

NAME_LENGTH = 40
REASON_LENGTH = 500


@dataclass
class Slate:
    """A committee by post: the 书记, the 副书记 and the other 委员 (candidates in a 请示, or those elected)."""

    secretary: str = ""
    deputies: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)

    @classmethod
    def typed(cls, secretary: str, deputies: str, members: str) -> "Slate":
        """From a form's three fields, the lists typed as 张三、李四."""
        return cls((secretary or "").strip(), name_list(deputies or ""), name_list(members or ""))

    @property
    def everyone(self) -> list[str]:
        return [n for n in [self.secretary, *self.deputies, *self.members] if n]


def open_renewal(party_org: PartyOrg) -> Renewal | None:
    """The organisation's request under way (换届 or a change of its date), if any: at most one (uq_renewals_one_open)."""
    return db.session.scalar(sa.select(Renewal).where(Renewal.party_org_id == party_org.id,
                                                      Renewal.state.in_(OPEN_RENEWAL_STATES)))


def renewals_of(party_org: PartyOrg) -> list[Renewal]:
    """Every request of the organisation, the latest first."""
    return list(db.session.scalars(sa.select(Renewal).where(Renewal.party_org_id == party_org.id)
                                   .order_by(Renewal.id.desc())))


def natural_term_end(party_org: PartyOrg) -> date:
    """When the current term ends by the kind's length, whatever a postponement or an advancement made of it: the
    day the one year either side is counted from."""
    return term_end(party_org.term_start, term_years(party_org.kind))


@dataclass
class RenewalPanel:
    """What the record page's 换届 panel shows a user: the open request, the steps they may take on it (or to open
    one), and the last request closed, with the slates as posts."""

    open: Renewal | None
    steps: list[RenewalStep]
    last: Renewal | None
    version: int  # the version a step's form posts back: the open request's, else the record's
    committee_size: tuple[int, int] | None  # a committee's least and most 委员 (party_rules.COMMITTEE_SIZE)
    blank: Slate = field(default_factory=Slate)  # what a new 请示's form starts from

    def slate(self, renewal: Renewal, elected: bool = False) -> Slate:
        return elected_slate(renewal) if elected else Slate(
            renewal.secretary_candidate, name_list(renewal.deputy_candidates), name_list(renewal.member_candidates))


def renewal_panel_of(party_org: PartyOrg, user: User) -> RenewalPanel:
    """The 换届 panel of the record page, for this user."""
    requests = renewals_of(party_org)
    current = next((r for r in requests if r.is_open), None)
    return RenewalPanel(open=current, steps=available_renewal_steps(party_org, current, user),
                        last=next((r for r in requests if not r.is_open), None),
                        version=current.version if current is not None else party_org.version,
                        committee_size=COMMITTEE_SIZE.get(party_org.kind))


@dataclass
class RenewalDue:
    """An organisation's term that ends within six months or has ended (半年内届满, 届满未换届), and its request under
    way if any: what the contact's home shows."""

    party_org: PartyOrg
    status: TermStatus
    open: Renewal | None


def renewal_due_of(organisation_id: int) -> RenewalDue | None:
    """The organisation's record if its term is due or expired (terms.term_status_sql, the lists' one rule)."""
    row = db.session.execute(sa.select(PartyOrg, term_status_sql(local_today()))
                             .where(PartyOrg.organisation_id == organisation_id).order_by(PartyOrg.id)).first()
    if row is None or row[1] not in (TermStatus.DUE.value, TermStatus.EXPIRED.value):
        return None
    return RenewalDue(row[0], TermStatus(row[1]), open_renewal(row[0]))


# ---------------------------------------------------------------- 换届

def submit_renewal(party_org: PartyOrg, planned_on: date, slate: Slate, *, actor: User, version: int) -> Renewal:
    """Submit the 换届请示 (the planned election date, the candidates), or submit again one that was returned."""
    renewal = open_renewal(party_org)
    step = require_renewal_step(party_org, renewal, "submit", actor, version)
    _check_election_day(party_org, planned_on, "换届选举日期", "planned_on")
    if planned_on > party_org.term_end and not term_expired(party_org.term_end, local_today()):
        # Electing after the term's end is a postponement: it needs its reason and the zone's approval first.
        raise DomainError(f"换届选举日期晚于本届任期届满日期（{chinese_date(party_org.term_end)}），"
                          "如需延期换届，请先申请延期并经党工委批准", "planned_on")
    _check_slate(party_org.kind, slate, "候选人")
    if renewal is None:
        renewal = Renewal(party_org=party_org, kind=RenewalKind.RENEWAL, state=step.target, planned_on=planned_on,
                          submitted_by=actor)
        _add_open(renewal)
    renewal.planned_on = planned_on
    renewal.secretary_candidate = slate.secretary
    renewal.deputy_candidates, renewal.member_candidates = "、".join(slate.deputies), "、".join(slate.members)
    _take(renewal, step, actor, f"计划于{chinese_date(planned_on)}召开党员大会换届，候选人：{'、'.join(slate.everyone)}",
          planned_on=planned_on.isoformat(), candidates=slate.everyone)
    return renewal


def withdraw_renewal(renewal: Renewal, *, actor: User, version: int) -> None:
    """Withdraw the request (撤回请示) before the zone has decided it."""
    step = require_renewal_step(renewal.party_org, renewal, "withdraw", actor, version)
    _take(renewal, step, actor, f"撤回{renewal.kind.label}请示")


def end_open_renewal(party_org: PartyOrg) -> Renewal | None:
    """The organisation's open request ends with it (已终止): called by the steps that dissolve or merge it, whose
    history row and notices say so. Returns the request it ended, if any."""
    renewal = open_renewal(party_org)
    if renewal is not None:
        renewal.state, renewal.state_changed_at = RenewalState.ENDED, utcnow()
        bump_version(renewal, "该换届事项刚刚被他人处理，本次操作未执行。请查看最新状态。")
    return renewal


def pass_renewal(renewal: Renewal, *, actor: User, version: int) -> None:
    """The unit passes the 换届请示 on to the zone (初审通过)."""
    step = require_renewal_step(renewal.party_org, renewal, "pass", actor, version)
    _take(renewal, step, actor, "换届请示初审通过")


def return_renewal(renewal: Renewal, reason: str, *, actor: User, version: int) -> None:
    """The unit (退回修改, from 待初审) or the zone (from 待党工委审批) sends the 换届请示 back with a reason."""
    action = "return" if actor.role is Role.UNIT_REVIEWER else "zone_return"
    step = require_renewal_step(renewal.party_org, renewal, action, actor, version, reason)
    _take(renewal, step, actor, "退回换届请示", reason=_reason(reason))


def approve_renewal(renewal: Renewal, *, actor: User, version: int) -> None:
    """The zone approves the 换届请示 with a numbered 批复 (同意换届的批复)."""
    party_org = renewal.party_org
    step = require_renewal_step(party_org, renewal, "approve", actor, version)
    slate = Slate(renewal.secretary_candidate, name_list(renewal.deputy_candidates),
                  name_list(renewal.member_candidates))
    document = issue_record_document(party_org, DocumentKind.RENEWAL, actor=actor, context={
        "term_end_day": chinese_date(party_org.term_end), "planned_day": chinese_date(renewal.planned_on),
        "candidates_text": candidates_text(party_org.kind, slate)})
    _take(renewal, step, actor, f"同意换届，印发{document.number}", document=document)


def report_renewal_election(renewal: Renewal, elected_on: date, slate: Slate, *, actor: User, version: int) -> None:
    """The organisation reports its election (报告换届选举结果): the day and whom it elected to which post."""
    party_org = renewal.party_org
    step = require_renewal_step(party_org, renewal, "report_election", actor, version)
    check_date(elected_on, "选举日期", "elected_on", after=("同意换届的批复印发日期", _approved_on(renewal)))
    _check_slate(party_org.kind, slate, "当选人")
    renewal.elected_on, renewal.elected_secretary = elected_on, slate.secretary
    renewal.elected_deputies, renewal.elected_members = "、".join(slate.deputies), "、".join(slate.members)
    _take(renewal, step, actor, f"{chinese_date(elected_on)}召开党员大会换届，选举{'、'.join(slate.everyone)}",
          elected_on=elected_on.isoformat(), elected=slate.everyone)


def approve_renewal_election(renewal: Renewal, *, actor: User, version: int) -> None:
    """The zone approves the election (批准换届选举结果): the new term starts on the election day, the old committee's
    seats end and the new ones start, with a numbered 批复."""
    party_org = renewal.party_org
    step = require_renewal_step(party_org, renewal, "approve_election", actor, version)
    slate = elected_slate(renewal)
    start = renewal.elected_on
    party_org.term_start, party_org.term_end = start, term_end(start, term_years(party_org.kind))
    _seat(party_org, slate, start)
    document = issue_record_document(party_org, DocumentKind.RENEWAL_ELECTION, actor=actor, context={
        "elected_day": chinese_date(start), "elected_text": elected_text(party_org, slate),
        "term_start_day": chinese_date(party_org.term_start), "term_end_day": chinese_date(party_org.term_end)})
    _take(renewal, step, actor, f"批准换届选举结果，新一届任期至{chinese_date(party_org.term_end)}，印发{document.number}",
          document=document, term_start=party_org.term_start.isoformat(), term_end=party_org.term_end.isoformat())


def return_renewal_election(renewal: Renewal, reason: str, *, actor: User, version: int) -> None:
    """The zone sends the election report back (退回选举结果) for correction."""
    step = require_renewal_step(renewal.party_org, renewal, "return_election", actor, version, reason)
    _take(renewal, step, actor, "退回换届选举结果", reason=_reason(reason))


def elected_slate(renewal: Renewal) -> Slate:
    return Slate(renewal.elected_secretary, name_list(renewal.elected_deputies), name_list(renewal.elected_members))


def candidates_text(kind: PartyOrgKind, slate: Slate) -> str:
    """The 批复's approval of the candidates: 张三、李四、王五同志为新一届委员会委员候选人预备人选，张三同志为书记候选人预备人选."""
    parts = [f"{'、'.join(slate.everyone)}同志为新一届委员会委员候选人预备人选"] if kind.has_committee else []
    parts.append(f"{slate.secretary}同志为书记候选人预备人选")
    if slate.deputies:
        parts.append(f"{'、'.join(slate.deputies)}同志为副书记候选人预备人选")
    return "，".join(parts)


def elected_text(party_org: PartyOrg, slate: Slate) -> str:
    """The 批复's approval of the result: 张三、李四、王五同志为中共…委员会委员，张三同志为书记."""
    if party_org.kind.has_committee:
        parts = [f"{'、'.join(slate.everyone)}同志为{party_org.name}委员", f"{slate.secretary}同志为书记"]
        if slate.deputies:
            parts.append(f"{'、'.join(slate.deputies)}同志为副书记")
        return "，".join(parts)
    text = f"{slate.secretary}同志任{party_org.name}书记"
    return text + (f"，{'、'.join(slate.deputies)}同志任副书记" if slate.deputies else "")


# ---------------------------------------------------------------- 延期换届, 提前换届

def ask_date_change(party_org: PartyOrg, new_date: date, reason: str, *, actor: User, version: int) -> Renewal:
    """Ask the zone to postpone (延期换届) or advance (提前换届) the election to `new_date`, with a reason: after the
    term's end it is a postponement, before it an advancement, at most a year from the term's end either way."""
    step = require_renewal_step(party_org, open_renewal(party_org), "ask_date_change", actor, version, reason)
    reason = _reason(reason)
    kind = _date_change_kind(party_org, new_date)
    renewal = Renewal(party_org=party_org, kind=kind, state=step.target, planned_on=new_date, reason=reason,
                      submitted_by=actor)
    _add_open(renewal)
    _take(renewal, step, actor, f"申请{kind.label}至{chinese_date(new_date)}", reason=reason,
          old_end=party_org.term_end.isoformat(), new_end=new_date.isoformat())
    return renewal


def grant_date_change(renewal: Renewal, *, actor: User, version: int) -> None:
    """The zone approves the new date (a 批复): the term now ends on it."""
    party_org = renewal.party_org
    step = require_renewal_step(party_org, renewal, "grant_date_change", actor, version)
    _date_change_kind(party_org, renewal.planned_on, renewal.kind)  # still within the rules (a term may have moved)
    old_end = party_org.term_end
    document = issue_record_document(party_org, DocumentKind.POSTPONEMENT, actor=actor, change=renewal.kind.label,
                                     context={"old_end_day": chinese_date(old_end), "change": renewal.kind.label,
                                              "new_end_day": chinese_date(renewal.planned_on)})
    party_org.term_end = renewal.planned_on
    _take(renewal, step, actor, f"同意{renewal.kind.label}，任期届满日期由{chinese_date(old_end)}改为"
          f"{chinese_date(renewal.planned_on)}，印发{document.number}", document=document,
          old_end=old_end.isoformat(), new_end=renewal.planned_on.isoformat())


def ask_reschedule(renewal: Renewal, new_date: date, reason: str, *, actor: User, version: int) -> None:
    """Ask the zone to move an approved 换届's election (延期 or 提前 against the approved day) to `new_date`, with a
    reason: the request waits for the zone (改期待党工委审批) and keeps its approval meanwhile."""
    step = require_renewal_step(renewal.party_org, renewal, "ask_reschedule", actor, version, reason)
    reason = _reason(reason)
    kind = _reschedule_kind(renewal, new_date)
    renewal.asked_on, renewal.reason = new_date, reason
    _take(renewal, step, actor, f"申请{kind.label}，选举日期由{chinese_date(renewal.planned_on)}改为"
          f"{chinese_date(new_date)}", reason=reason, planned_on=renewal.planned_on.isoformat(),
          asked_on=new_date.isoformat())


def grant_reschedule(renewal: Renewal, *, actor: User, version: int) -> None:
    """The zone approves the new election day (a 批复); a day past the term's end moves the end with it, as a
    postponement does."""
    party_org = renewal.party_org
    step = require_renewal_step(party_org, renewal, "grant_reschedule", actor, version)
    new_date = renewal.asked_on
    kind = _reschedule_kind(renewal, new_date)  # still within the rules today
    document = issue_record_document(party_org, DocumentKind.POSTPONEMENT, actor=actor, change=kind.label,
                                     context={"old_end_day": chinese_date(party_org.term_end), "change": kind.label,
                                              "new_end_day": chinese_date(new_date)})
    old_day, renewal.planned_on, renewal.asked_on = renewal.planned_on, new_date, None
    party_org.term_end = max(party_org.term_end, new_date)
    _take(renewal, step, actor, f"同意{kind.label}，选举日期由{chinese_date(old_day)}改为{chinese_date(new_date)}，"
          f"印发{document.number}", document=document, planned_on=old_day.isoformat(), new_day=new_date.isoformat(),
          term_end=party_org.term_end.isoformat())


def refuse_reschedule(renewal: Renewal, reason: str, *, actor: User, version: int) -> None:
    """The zone refuses to move the election (不予批准), with a reason: the approved day stands."""
    step = require_renewal_step(renewal.party_org, renewal, "refuse_reschedule", actor, version, reason)
    asked, renewal.asked_on = renewal.asked_on, None
    _take(renewal, step, actor, f"不同意将选举日期改为{chinese_date(asked)}，仍于{chinese_date(renewal.planned_on)}选举",
          reason=_reason(reason))


def refuse_date_change(renewal: Renewal, reason: str, *, actor: User, version: int) -> None:
    """The zone refuses the change of date (不予批准), with a reason."""
    step = require_renewal_step(renewal.party_org, renewal, "refuse_date_change", actor, version, reason)
    _take(renewal, step, actor, f"不同意{renewal.kind.label}", reason=_reason(reason))


# ---------------------------------------------------------------- the rules

def _check_slate(kind: PartyOrgKind, slate: Slate, what: str) -> None:
    """The committee's size by the kind's rule (party_rules.COMMITTEE_SIZE): a branch without a committee has a
    secretary and at most one deputy; a committee has from its least to its most 委员, the secretary and deputies
    among them. Each name one line of at most 40 characters, once."""
    for name in slate.everyone:
        check_text(name, f"{what}姓名", "secretary")
    check_one_name(slate.secretary, f"书记{what}", "secretary")
    if not slate.secretary:
        raise DomainError(f"请填写书记{what}的姓名", "secretary")
    if any(len(n) > NAME_LENGTH for n in slate.everyone):
        raise DomainError(f"{what}姓名不能超过{NAME_LENGTH}个字", "members")
    if kind.has_committee:
        least, most = COMMITTEE_SIZE[kind]
        if not least <= len(slate.everyone) <= most:
            raise DomainError(f"{kind.label}由委员{least}至{most}名组成（含书记、副书记），已填写 {len(slate.everyone)} 名",
                              "members")
        if len(slate.deputies) > 2:
            raise DomainError("副书记一般设1至2名", "deputies")
    else:
        if slate.members:
            raise DomainError(f"{kind.label}不设委员会，只选举书记（必要时选举副书记），不填写委员", "members")
        if len(slate.deputies) > 1:
            raise DomainError(f"{kind.label}设书记一名，必要时设副书记一名", "deputies")
    if duplicates := sorted({n for n in slate.everyone if slate.everyone.count(n) > 1}):
        raise DomainError(f"“{'、'.join(duplicates)}”填写了不止一次，每人只能任一个职务", "members")


def _date_change_kind(party_org: PartyOrg, new_date: date, kind: RenewalKind | None = None) -> RenewalKind:
    """延期 or 提前 by where `new_date` falls against the term's end; refused beyond a year from its natural end, in
    the past, or before the term began. With `kind`, the date must still be a change of that kind."""
    natural = natural_term_end(party_org)
    if new_date == party_org.term_end:
        raise DomainError(f"新的换届日期与本届任期届满日期（{chinese_date(party_org.term_end)}）相同，无需申请", "new_date")
    found = RenewalKind.POSTPONE if new_date > party_org.term_end else RenewalKind.ADVANCE
    if kind is not None and found is not kind:
        raise DomainError(f"任期届满日期已改为{chinese_date(party_org.term_end)}，此项{kind.label}申请已不适用，请不予批准",
                          "new_date")
    limit = term_end(natural, 1 if found is RenewalKind.POSTPONE else -1)  # a year either side
    if found is RenewalKind.POSTPONE and new_date > limit:
        raise DomainError(f"延期换届一般不超过1年，新的日期不能晚于{chinese_date(limit)}", "new_date")
    if found is RenewalKind.ADVANCE and new_date < limit:
        raise DomainError(f"提前换届一般不超过1年，新的日期不能早于{chinese_date(limit)}", "new_date")
    _check_election_day(party_org, new_date, "新的换届日期", "new_date")
    if new_date <= party_org.term_start:
        raise DomainError(f"新的换届日期须晚于本届任期的开始日期（{chinese_date(party_org.term_start)}）", "new_date")
    return found


def _reschedule_kind(renewal: Renewal, new_date: date) -> RenewalKind:
    """延期 or 提前 against the approved day; the new day within the 换届's bounds (_check_election_day)."""
    if new_date == renewal.planned_on:
        raise DomainError(f"新的选举日期与已批准的选举日期（{chinese_date(new_date)}）相同，无需申请", "new_date")
    _check_election_day(renewal.party_org, new_date, "新的选举日期", "new_date")
    return RenewalKind.POSTPONE if new_date > renewal.planned_on else RenewalKind.ADVANCE


def _check_election_day(party_org: PartyOrg, day: date, what: str, field: str) -> None:
    """An election day from today to the latest one allowed (_latest_election): a 请示's, a change of the term's date
    and a change of an approved 换届's."""
    check_date(day, what, field, after=("今天", local_today()), before=_latest_election(party_org), not_future=False)


def _latest_election(party_org: PartyOrg) -> tuple[str, date]:
    """The latest day a 换届 may be planned for. An organisation whose term has expired (届满未换届, terms.
    term_expired) holds its election within the six months a term's reminder gives, from today; any other within a
    year of its term's natural end (延期换届 at most a year, 《中国共产党基层组织选举工作条例》)."""
    today = local_today()
    if term_expired(party_org.term_end, today):
        return "今天起6个月", months_later(today, DUE_MONTHS)
    return "本届任期届满后1年", term_end(natural_term_end(party_org), 1)


def _reason(reason: str) -> str:
    reason = check_text(reason or "", "理由", "reason", multiline=True).strip()
    if len(reason) > REASON_LENGTH:
        raise DomainError(f"理由不能超过{REASON_LENGTH}个字", "reason")
    return reason


def _add_open(renewal: Renewal) -> None:
    """Add a new open request; of two sent at once, the database's one-open rule keeps the first."""
    try:
        with db.session.begin_nested():
            db.session.add(renewal)
    except sa.exc.IntegrityError:
        raise DomainError(f"{renewal.party_org.name}已有一份请示正在办理，请刷新页面查看") from None


def _approved_on(renewal: Renewal) -> date | None:
    """The zone's date of the 换届 批复: the election comes after it."""
    issued = db.session.scalar(sa.select(Document.issued_at)
                               .join(PartyOrgEvent, PartyOrgEvent.document_id == Document.id)
                               .where(PartyOrgEvent.party_org_id == renewal.party_org_id,
                                      Document.kind == DocumentKind.RENEWAL)
                               .order_by(Document.id.desc()).limit(1))
    return local_date(issued) if issued is not None else None


def _seat(party_org: PartyOrg, slate: Slate, start: date) -> None:
    """End the old committee's seats on the election day and seat the new one from it."""
    for seat in party_org.current_seats:
        seat.ended_on = max(seat.started_on, start)
    db.session.flush()  # the old seats end before the new ones start (one current seat a name)
    posts = [(slate.secretary, CommitteePost.SECRETARY)] + [(n, CommitteePost.DEPUTY) for n in slate.deputies]
    posts += [(n, CommitteePost.MEMBER) for n in slate.members]
    party_org.seats.extend(CommitteeSeat(name=name, post=post, member=member_of(party_org, name), started_on=start)
                           for name, post in posts)


def _take(renewal: Renewal, step: RenewalStep, actor: User, summary: str, *, reason: str = "", document=None,
          **details) -> None:
    """Move the request, bump its version (of two pages sent at once, one wins), write the record's history row (on
    whose behalf, which document) and tell whom the step concerns."""
    renewal.state, renewal.state_changed_at = step.target, utcnow()
    if renewal.id is not None:
        bump_version(renewal, "该换届事项刚刚被他人处理，本次操作未执行。请查看最新状态。")
    record_step(renewal.party_org, Step(f"renewal.{step.action}", step.label, frozenset(), None, step.role), actor,
                summary, reason=reason, document=document, bump=step.changes_record, renewal_id=renewal.id,
                kind=renewal.kind.value, **details)
    _notify(renewal, step, reason)


def _notify(renewal: Renewal, step: RenewalStep, reason: str) -> None:
    if step.notify is None:
        return
    party_org = renewal.party_org
    message = f"{party_org.name}的{renewal.kind.label}请示：{step.label}"
    if reason and step.notify == "applicant":
        message += f"。{reason}"
    users = {"applicant": lambda: contacts_of(party_org.organisation_id),
             "unit": lambda: active_users(User.role == Role.UNIT_REVIEWER, User.unit_id == party_org.unit_id),
             "zone": lambda: with_role(Role.ZONE_APPROVER)}[step.notify]()
    notify(users, message, application=party_org.application, link=renewal_link(party_org))


def renewal_link(party_org: PartyOrg) -> str:
    """The record page's 换届 panel: where every notice of a request sends its reader."""
    return f"/orgs/{party_org.id}#renewal"
