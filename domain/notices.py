"""Notices (站内通知): each event that asks someone to act, or that someone waits for, tells them here. notify() is
the one way a notice is written; it also puts the notice in the outbox (domain/outbox.py) for each channel outside
the app that its reader chose (通知设置), and for the zone's group robot."""
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from models import Application, DisbursementBatch, FundItem, Notification, Role, User, db

from .outbox import queue_notice
from .substitutes import stand_ins

# Where a notice sends its reader. Paths, not url_for: the verbs also run outside a request (the CLI, the
# demo seed, a task); tests/test_notices.py checks that each one is a route of the app.
APPLICANT_HOME = "/applicant/"
ZONE_FUNDS = "/zone/funds"


def batch_page(batch: DisbursementBatch) -> str:
    return f"/finance/batches/{batch.id}"


def payee_page(item: FundItem) -> str:
    """Finance's page that checks (or sends back) one item's payee."""
    return f"/finance/items/{item.id}/payee"


# The panels of the application card a notice can open at (their ids in templates/applications/_card.html): the
# startup fund and its payee, the election result, the election report's form.
CARD_PANELS = ("fund", "election", "step-report_election")


def card_panel(application_id: int, panel: str) -> str:
    """The application's card, scrolled to one of its panels."""
    return f"/applications/{application_id}#{panel}"


def fund_panel(item) -> str:
    """The fund's panel on its application's card: the amount, the payee, the payment."""
    return card_panel(item.application_id, "fund")


def application_page(application: Application) -> str:
    return f"/applications/{application.id}"


def event_of(application: Application | None, link: str) -> str:
    """The kind of a notice whose writer did not name one: about an application, about funds (they link to the
    funds' pages), else about an account."""
    if application is not None:
        return "application"
    if link.startswith(("/finance/", ZONE_FUNDS, APPLICANT_HOME)) or link.endswith("#fund"):
        return "funds"
    return "account"


def notify(users: Iterable[User], message: str, *, application: Application | None = None, link: str = "",
           event: str | None = None, at: datetime | None = None, name_stand_in: bool = False) -> int:
    """Write one notice to each of `users` (站内通知) and queue it on the channels each chose; `link` is where it asks
    them to go, else the application's card. An official away (代理) is told as always, and their substitute too, once,
    with whom it is for: the substitute is the one who can act while the span runs (at `at`, a task's moment; else
    now). With `name_stand_in`, the official's own notice also names who stands in for them. Returns how many notices
    were written."""
    users = list(users)
    event = event or event_of(application, link)
    substitutes = stand_ins(users, at)
    named = [user for user in users if user.id in substitutes] if name_stand_in else []
    plain = [user for user in users if user not in named]
    written = _write(plain, message, application, link, event, group=bool(plain))
    for user in named:
        # In the third person: with nobody else told, the zone's group robot reads this one (once).
        aside = f"（{user.name}不在岗期间由{substitutes[user.id].name}代理，已同时告知{substitutes[user.id].name}）"
        written += _write([user], message + aside, application, link, event, group=not plain and user is named[0])
    told, standing_in = {user.id for user in users}, {}
    for official_id, substitute in substitutes.items():
        if substitute.id not in told:  # told in their own right already (a colleague of the same unit): once is enough
            standing_in.setdefault(substitute, []).append(next(u.name for u in users if u.id == official_id))
    for substitute, officials in standing_in.items():
        # A copy for the one standing in: the zone's group robot read the notice once, with the officials'.
        written += _write([substitute], f"【代{'、'.join(officials)}】{message}", application, link, event, group=False)
    return written


def _write(users: list[User], message: str, application: Application | None, link: str, event: str,
           group: bool = True) -> int:
    message = message[:300]
    db.session.add_all(Notification(user=user, application=application, message=message, link=link) for user in users)
    queue_notice(users, message, event=event,
                 link=link or (application_page(application) if application is not None else ""), group=group)
    return len(users)


def active_users(*conditions) -> list[User]:
    return list(db.session.scalars(sa.select(User).where(User.active.is_(True), *conditions).order_by(User.id)))


def with_role(role: Role) -> list[User]:
    """The active accounts of a role: the zone approvers, finance."""
    return active_users(User.role == role)


def contacts_of(organisation_id: int) -> list[User]:
    """The organisation's own contacts (its applicant accounts)."""
    return active_users(User.role == Role.APPLICANT, User.organisation_id == organisation_id)


def instructor_accounts(instructor_id: int) -> list[User]:
    """The accounts through which an instructor signs in (usually one)."""
    return active_users(User.role == Role.INSTRUCTOR, User.instructor_id == instructor_id)
