"""The committee's changes between elections (班子调整): 补选 fills a seat, 调整 ends one or changes its post. Each is
a step of the record's table (steps.py) with a reason, taken by the zone, which approved the committee."""
from dataclasses import dataclass
from datetime import date

from models import CommitteePost, CommitteeSeat, PartyOrg, User, db

from .. import DomainError
from ..facts import chinese_date, check_date
from ..text import check_one_name, check_text
from .records import member_of, record_step
from .steps import require_step

REASON_MAX = 500


@dataclass
class SeatChange:
    """What the 补选 / 调整 form sends: the day it takes effect and why; for 补选 who and to which post, for 调整
    the new post or None to end the seat (免去)."""
    day: date
    reason: str
    name: str = ""
    post: CommitteePost | None = None


def fill_seat(party_org: PartyOrg, change: SeatChange, *, actor: User, version: int) -> CommitteeSeat:
    """补选: a member takes a seat on the committee from `change.day`."""
    step = require_step(party_org, "fill_seat", actor, version, change.reason)
    reason = _checked_reason(change.reason)
    name = check_one_name(change.name.strip(), "姓名", "name")
    if not name or len(name) > CommitteeSeat.name.type.length:
        raise DomainError(f"请填写补选人员的姓名（不超过{CommitteeSeat.name.type.length}个字）", "name")
    if change.post is None:
        raise DomainError("请选择补选的职务", "post")
    _check_day(party_org, change.day)
    if any(s.name == name for s in party_org.current_seats):
        raise DomainError(f"{name}已是现任班子成员；改任职务请用“调整班子成员”", "name")
    _check_secretary_free(party_org, change.post)
    seat = CommitteeSeat(party_org=party_org, name=name, post=change.post, member=member_of(party_org, name),
                         started_on=change.day)
    db.session.add(seat)
    record_step(party_org, step, actor, f"补选{name}为{change.post.label}（{chinese_date(change.day)}起）",
                reason=reason, name=name, post=change.post.value, day=change.day.isoformat())
    return seat


def adjust_seat(party_org: PartyOrg, seat: CommitteeSeat | None, change: SeatChange, *, actor: User,
                version: int) -> None:
    """调整: a current seat ends on `change.day` (免去), or its holder moves to another post from that day (the old
    seat ends, a new one starts: the history keeps both)."""
    step = require_step(party_org, "adjust_seat", actor, version, change.reason)
    reason = _checked_reason(change.reason)
    if seat is None or seat.party_org_id != party_org.id or seat.ended_on is not None:
        raise DomainError("请选择一名现任班子成员", "seat_id")
    _check_day(party_org, change.day, since=(f"{seat.name}的任职日期", seat.started_on))
    if change.post is seat.post:
        raise DomainError(f"{seat.name}现任{seat.post.label}，请选择另一职务，或选择“免去职务”", "post")
    if change.post is not None:
        _check_secretary_free(party_org, change.post, leaving=seat)
    seat.ended_on = change.day
    # The ended seat is written before the new one of the same name, which the one-current-seat index would refuse.
    db.session.flush()
    if change.post is None:
        summary = f"免去{seat.name}的{seat.post.label}职务（{chinese_date(change.day)}）"
    else:
        db.session.add(CommitteeSeat(party_org=party_org, name=seat.name, post=change.post, member=seat.member,
                                     started_on=change.day))
        summary = f"{seat.name}由{seat.post.label}改任{change.post.label}（{chinese_date(change.day)}起）"
    record_step(party_org, step, actor, summary, reason=reason, seat=seat.id, name=seat.name,
                post=change.post.value if change.post else None, day=change.day.isoformat())


def _checked_reason(reason: str) -> str:
    reason = check_text(reason.strip(), "理由", "reason", multiline=True)
    if len(reason) > REASON_MAX:
        raise DomainError(f"理由不能超过{REASON_MAX}个字", "reason")
    return reason


def _check_day(party_org: PartyOrg, day: date | None, since: tuple[str, date] | None = None) -> None:
    if day is None:
        raise DomainError("请填写日期", "day")
    check_date(day, "日期", "day", after=("本届任期的开始日期", party_org.term_start))
    if since is not None:
        check_date(day, "日期", "day", after=since)


def _check_secretary_free(party_org: PartyOrg, post: CommitteePost, leaving: CommitteeSeat | None = None) -> None:
    if post is not CommitteePost.SECRETARY:
        return
    current = next((s for s in party_org.current_seats if s.post is CommitteePost.SECRETARY and s is not leaving), None)
    if current is not None:
        raise DomainError(f"现任书记为{current.name}，请先调整其职务，再补选或改任书记", "post")
