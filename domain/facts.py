"""Dates people enter, checked against the facts they follow (日期与已有事实的先后): one rule, one message shape,
so every form names the earlier fact and its date the same way."""
from datetime import date

from . import DomainError
from .zone_time import local_today


def chinese_date(day: date) -> str:
    """2026年11月3日: the way the 批复 and the messages write a date (no leading zeros)."""
    return f"{day.year}年{day.month}月{day.day}日"


def check_date(day: date, what: str, field: str, *, after: tuple[str, date | None] | None = None,
               before: tuple[str, date | None] | None = None, not_future: bool = True) -> None:
    """Refuse `day` (the date called `what`, typed into `field`) when it falls before the fact `after` = (its name,
    its date), after the fact `before`, or after today; the message names the fact and its date."""
    if after is not None and after[1] is not None and day < after[1]:
        raise DomainError(f"{what}不能早于{after[0]}（{chinese_date(after[1])}）", field)
    if before is not None and before[1] is not None and day > before[1]:
        raise DomainError(f"{what}不能晚于{before[0]}（{chinese_date(before[1])}）", field)
    if not_future and day > (today := local_today()):
        raise DomainError(f"{what}不能晚于今天（{chinese_date(today)}）", field)


def date_problem(day: date, what: str, **facts) -> str | None:
    """check_date's message, or None: for a form that shows the problem beside a row instead of raising."""
    try:
        check_date(day, what, "", **facts)
    except DomainError as error:
        return error.message
    return None
