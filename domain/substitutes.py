"""Substitutes (代理): an official away names a stand-in of the same role for a span of days, with a reason.

While the span runs the substitute sees the official's items (Application.visible_to) and may act on them; what they
do on an item the official would see is recorded as done on the official's behalf (张三 代 李四), in the
application's history and in the audit log: every such verb audits through record_acted, the one place that
asks. The span is half-open, [from, to) in the zone's dates: it ends by itself at the zone's midnight starting `to`,
with nothing to run.

The rules, checked here and nowhere else:
- an official (unit reviewer, zone approver, finance, instructor) names an active account of their own role, and of
  their own unit for a unit reviewer; never themselves;
- one step only: the substitute must not be away themselves (have their own substitute) in an overlapping span,
  and an official who stands in for someone in an overlapping span cannot name their own;
- one substitute at a time: an official's spans do not overlap;
- the official who named a substitute, or the admin, may end the span early (an official back sooner than planned).

Funds and disbursement batches (启动经费、拨付批次) belong to no one official: every finance user, and every zone
approver, sees and may act on all of them. So the rule there is by role, not by item: a step on a fund item or a
batch (and so on the batch's audit events, its only history) taken by someone who stands in for a finance user or a
zone approver of the step's role records it on that official's behalf, the one whose span began first if they stand
in for several. record_acted with no application asks that (acting_for(actor, None)).
"""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from models import Application, Role, Substitution, User, db, utcnow

from . import DomainError
from .audit import record_event
from .zone_time import local_date, local_today

OFFICIAL_ROLES = (Role.UNIT_REVIEWER, Role.ZONE_APPROVER, Role.FINANCE, Role.INSTRUCTOR)
LONGEST_DAYS = 366  # a stand-in for longer than a year is a new appointment, not a substitute


@dataclass
class SubstituteData:
    substitute_id: int | None
    starts_on: date | None
    ends_on: date | None  # the first day the official is back (not included)
    reason: str


def this_second() -> datetime:
    """Now, as the moment a span begins or ends at: the whole second before. SQLite's clock reads whole seconds and
    compares them with the stored times as text, so a span begun (or ended) at a later fraction of this second would
    run (or stop) there only from the next one; one second early, it does so at once on every database."""
    return utcnow().replace(microsecond=0) - timedelta(seconds=1)


def zone_midnight(day: date) -> datetime:
    """The moment a zone date begins, which the database compares with its clock."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(current_app.config["DISPLAY_TIMEZONE"]))


def candidates(official: User) -> list[User]:
    """Who may stand in for `official`: the active accounts of their role (and unit), themselves excepted."""
    if official.role not in OFFICIAL_ROLES:
        return []
    query = sa.select(User).where(User.active.is_(True), User.role == official.role, User.id != official.id)
    if official.role is Role.UNIT_REVIEWER:
        query = query.where(User.unit_id == official.unit_id)
    return list(db.session.scalars(query.order_by(User.name, User.id)))


def _overlapping(column, user_id: int, starts_at: datetime, ends_at: datetime) -> bool:
    return bool(db.session.scalar(sa.select(sa.exists().where(
        column == user_id, Substitution.starts_at < ends_at, Substitution.ends_at > starts_at))))


def _take_turns(*users: User) -> None:
    """Hold the rows of the officials a naming involves until its transaction ends, so that two namings at once that
    share one of them (the same official twice, or a chain: A names B while B names C) check for overlaps in turn,
    the second seeing what the first wrote. Any two namings the rules could refuse together share a user. PostgreSQL
    locks the rows (SELECT ... FOR UPDATE, in id order, so that two namings cannot deadlock on them); SQLite has no
    row locks and reads outside any transaction until the first write, so a write that changes nothing takes its one
    write lock now."""
    ids = sorted({user.id for user in users})
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(sa.update(User).where(User.id.in_(ids)).values(id=User.id)
                           .execution_options(synchronize_session=False))
    else:
        db.session.execute(sa.select(User.id).where(User.id.in_(ids)).order_by(User.id).with_for_update())


def name_substitute(official: User, data: SubstituteData) -> Substitution:
    """Name a substitute (指定代理人) for [starts_on, ends_on)."""
    if official.role not in OFFICIAL_ROLES:
        raise DomainError("只有初审单位、党工委、财务和党建指导员的账号可以指定代理人")
    substitute = db.session.get(User, data.substitute_id) if data.substitute_id else None
    if substitute is None:
        raise DomainError("请选择代理人", "substitute_id")
    if substitute.id == official.id:
        raise DomainError("不能指定自己为代理人", "substitute_id")
    if substitute not in candidates(official):
        raise DomainError("代理人须为同一角色（初审单位还须为同一单位）的在用账号", "substitute_id")
    if data.starts_on is None:
        raise DomainError("请填写代理开始日期", "starts_on")
    if data.ends_on is None:
        raise DomainError("请填写代理结束日期", "ends_on")
    if data.starts_on < local_today():
        raise DomainError("代理开始日期不能早于今天", "starts_on")
    if data.ends_on <= data.starts_on:
        raise DomainError("代理结束日期须晚于开始日期（结束日期当天起不再代理）", "ends_on")
    if (data.ends_on - data.starts_on).days > LONGEST_DAYS:
        raise DomainError(f"一次代理不超过{LONGEST_DAYS}天", "ends_on")
    reason = data.reason.strip()
    if not reason:
        raise DomainError("请填写代理事由", "reason")
    if len(reason) > Substitution.reason.type.length:
        raise DomainError(f"代理事由不超过{Substitution.reason.type.length}个字", "reason")
    # A span from today starts now, not at last midnight: an official who ended a span early today (end_substitution)
    # may name another from today, and the new span does not overlap the hours the ended one ran.
    starts_at, ends_at = max(zone_midnight(data.starts_on), this_second()), zone_midnight(data.ends_on)
    _take_turns(official, substitute)
    if _overlapping(Substitution.official_id, official.id, starts_at, ends_at):
        raise DomainError("这段时间内您已指定了代理人，请先核对已有的代理", "starts_on")
    if _overlapping(Substitution.substitute_id, official.id, starts_at, ends_at):
        raise DomainError("这段时间内您本人正在代理他人，不能再指定代理人（代理不能转授）", "starts_on")
    if _overlapping(Substitution.official_id, substitute.id, starts_at, ends_at):
        raise DomainError(f"{substitute.name}在这段时间内本人也不在岗（已指定代理人），请另选代理人",
                          "substitute_id")
    substitution = Substitution(official_id=official.id, substitute_id=substitute.id, starts_at=starts_at,
                                ends_at=ends_at, reason=reason)
    db.session.add(substitution)
    db.session.flush()
    record_event("substitute.name", substitution, official,
                 f"{official.name}指定{substitute.name}代理，{data.starts_on}至{data.ends_on}（不含）：{reason}")
    return substitution


def can_end(substitution: Substitution, user: User) -> bool:
    """The official who named the substitute, or the admin, may end the span early (the substitute may not)."""
    return user.id == substitution.official_id or user.role is Role.ADMIN


def end_substitution(substitution: Substitution, *, actor: User) -> None:
    """End a substitution early (提前结束代理): a running span ends now; one not yet begun is withdrawn."""
    if not can_end(substitution, actor):
        raise DomainError("只有指定代理人的本人或系统管理员可以结束代理")
    now = this_second()
    words = f"{substitution.official.name}由{substitution.substitute.name}代理（{first_day(substitution)}至" \
            f"{back_on(substitution)}，不含）"
    # Guarded updates, so that two clicks at once (or the span ending by itself meanwhile) end it once.
    if not has_begun(substitution, now):
        # Nothing was done under a span not yet begun, and an end before its start would be an empty range: it goes,
        # and the audit log keeps what it was.
        done = db.session.execute(sa.delete(Substitution).where(
            Substitution.id == substitution.id, Substitution.starts_at >= now)).rowcount
        summary = f"{actor.name}撤销了尚未开始的代理：{words}"
    else:
        done = db.session.execute(sa.update(Substitution).where(
            Substitution.id == substitution.id, Substitution.starts_at < now, Substitution.ends_at > now)
            .values(ends_at=now)).rowcount
        summary = f"{actor.name}提前结束了代理：{words}"
    if not done:
        raise DomainError("该代理已经结束，无需再结束")
    record_event("substitute.end", substitution, actor, summary, official_id=substitution.official_id,
                 substitute_id=substitution.substitute_id)


def all_running_or_planned() -> list[Substitution]:
    """Every span not yet ended, soonest first: what the admin may end."""
    return list(db.session.scalars(sa.select(Substitution).where(Substitution.ends_at > utcnow())
                                   .order_by(Substitution.starts_at, Substitution.id)))


def spans_of(user: User) -> tuple[list[Substitution], list[Substitution]]:
    """The user's substitutes (named by them) and whom they stand in for, not yet ended, soonest first."""
    def query(column):
        return list(db.session.scalars(sa.select(Substitution).where(column == user.id, Substitution.ends_at > utcnow())
                                       .order_by(Substitution.starts_at, Substitution.id)))
    return query(Substitution.official_id), query(Substitution.substitute_id)


def first_day(substitution: Substitution) -> date:
    return local_date(substitution.starts_at)


def back_on(substitution: Substitution) -> date:
    return local_date(substitution.ends_at)


def has_begun(substitution: Substitution, at: datetime | None = None) -> bool:
    """Begun spans are ended (提前结束), spans not yet begun withdrawn (撤销): end_substitution's two cases."""
    return substitution.starts_at < (at or this_second())


def stand_ins(officials: list[User], at: datetime | None = None) -> dict[int, User]:
    """The substitute of each of `officials` whose span runs at `at` (now, by the database's clock), by official id;
    a substitute whose account was deactivated meanwhile stands in for nobody."""
    ids = [user.id for user in officials if user.role in OFFICIAL_ROLES]
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Substitution.official_id, User).join(User, User.id == Substitution.substitute_id)
        .where(Substitution.official_id.in_(ids), Substitution.running(at), User.active.is_(True))
        .order_by(Substitution.official_id))
    return {official_id: substitute for official_id, substitute in rows}


ZONE_WIDE_ROLES = (Role.FINANCE, Role.ZONE_APPROVER)  # whose items are the whole zone's: funds and batches


def acting_for(actor: User, application: Application | None) -> User | None:
    """Whom `actor` stands in for on this application now: an official whose span runs and who would see it
    themselves. With no application (a fund item or a batch), an official of the actor's role among finance and
    the zone approvers. None when the actor stands in for nobody who would."""
    officials = db.session.scalars(sa.select(User).join(Substitution, Substitution.official_id == User.id).where(
        Substitution.substitute_id == actor.id, Substitution.running()).order_by(Substitution.starts_at, User.id))
    if application is None:
        return next((official for official in officials
                     if official.role is actor.role and official.role in ZONE_WIDE_ROLES), None)
    return next((official for official in officials if application.can_view(official)), None)


def record_acted(action: str, obj: Any, application: Application | None, actor: User, summary: str,
                 **data: Any) -> User | None:
    """Audit a verb `actor` took on (something of) `application`, or on a fund item or batch when it is None,
    saying whom they stood in for when they did (张三 代 李四, and on_behalf_of_id in the sealed data); returns that
    official, None when they acted in their own right."""
    stood_in_for = acting_for(actor, application)
    if stood_in_for is None:
        record_event(action, obj, actor, summary, **data)
    else:
        record_event(action, obj, actor, f"{actor.name} 代 {stood_in_for.name}　{summary}",
                     on_behalf_of_id=stood_in_for.id, **data)
    return stood_in_for
