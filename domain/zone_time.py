"""The zone's calendar. Moments are stored in UTC; the dates people type, read and are checked against are the
zone's (DISPLAY_TIMEZONE, Asia/Shanghai). On a server or container running in UTC, date.today() is still
yesterday in the zone until 08:00 there, so "not after today" would refuse an early visit dated today."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

from models import utcnow


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])


def local_today() -> date:
    return utcnow().astimezone(_zone()).date()


def local_date(at: datetime) -> date:
    """The zone's date of a stored moment."""
    return at.astimezone(_zone()).date()
