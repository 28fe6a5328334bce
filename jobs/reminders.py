"""The reminders' periodic task (到期提醒): a thin wrapper, the rules are domain/reminders.py's table. Hourly, so that
a reminder follows its item's crossing of the line within the hour; the sent_reminders key keeps a rerun, or a
second consumer, from telling anyone twice."""
from domain import reminders

from .queue import crontab, periodic


@periodic(crontab(minute="7"), "到期提醒：超期催办、督办、指导与拨付提醒")
def send_reminders() -> dict[str, int]:
    return reminders.send_due()
