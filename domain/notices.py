"""Notices (站内通知): each event that asks someone to act, or that someone waits for, tells them here. notify() is
the one way a notice is written; it also puts the notice in the outbox (domain/outbox.py) for each channel outside
the app that its reader chose (通知设置), and for the zone's group robot."""
from collections.abc import Iterable

import sqlalchemy as sa

from models import Application, Channel, DisbursementBatch, FundItem, NoticePreference, Notification, Role, User, db

# Where a notice sends its reader. Paths, not url_for: the verbs also run outside a request (the CLI, the
# demo seed, a task); tests/test_notices.py checks that each one is a route of the app.
APPLICANT_HOME = "/applicant/"
ZONE_FUNDS = "/zone/funds"

# What a person may choose to receive outside the app, by kind of notice. 站内 (in the app) is always on.
EVENTS = {
    "application": "申请审批进展与指导员选派",
    "funds": "启动经费核定、拨付批次与到账",
    "account": "账号与注册核实",
    "digest": "每日待办摘要（工作人员，每天一封邮件）",
}
# Personal channels and whether each is on before the person chooses: e-mail costs nothing, an SMS costs the zone
# money and interrupts, so it waits to be asked for.
PERSONAL_CHANNELS = {Channel.EMAIL: True, Channel.SMS: False}


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
           event: str | None = None) -> int:
    """Write one notice to each of `users` (站内通知) and queue it on the channels each chose; `link` is where it asks
    them to go, else the application's card. Returns how many notices were written."""
    from .outbox import queue_notice  # the outbox reads the preferences below

    users = list(users)
    message = message[:300]
    notices = [Notification(user=user, application=application, message=message, link=link) for user in users]
    db.session.add_all(notices)
    queue_notice(users, message, event=event or event_of(application, link),
                 link=link or (application_page(application) if application is not None else ""))
    return len(notices)


def preferences_of(user: User) -> dict[tuple[str, Channel], bool]:
    """What `user` receives outside the app (通知设置): (event, channel) -> on, the defaults filled in."""
    chosen = {(p.event, p.channel): p.enabled for p in db.session.scalars(
        sa.select(NoticePreference).where(NoticePreference.user_id == user.id))}
    return {(event, channel): chosen.get((event, channel), default)
            for event in EVENTS for channel, default in PERSONAL_CHANNELS.items()}


def wanted_channels(users: list[User], event: str) -> dict[int, set[Channel]]:
    """For each of `users`, the personal channels that carry notices of `event`: one query for all of them."""
    ids = [u.id for u in users]
    chosen = {(p.user_id, p.channel): p.enabled for p in db.session.scalars(sa.select(NoticePreference).where(
        NoticePreference.user_id.in_(ids), NoticePreference.event == event))} if ids else {}
    return {u.id: {channel for channel, default in PERSONAL_CHANNELS.items() if chosen.get((u.id, channel), default)}
            for u in users}


def choice_value(event: str, channel: Channel) -> str:
    """How one (event, channel) choice is named in the settings form."""
    return f"{event}:{channel.value}"


def parse_choice(value: str) -> tuple[str, Channel]:
    event, _, channel = value.partition(":")
    return event, Channel(channel)


def set_preferences(user: User, choices: set[tuple[str, Channel]]) -> None:
    """Save `user`'s choices (保存通知设置): `choices` is every (event, channel) they want; the rest are off."""
    existing = {(p.event, p.channel): p for p in db.session.scalars(
        sa.select(NoticePreference).where(NoticePreference.user_id == user.id))}
    for event in EVENTS:
        for channel in PERSONAL_CHANNELS:
            enabled = (event, channel) in choices
            row = existing.get((event, channel))
            if row is None:
                db.session.add(NoticePreference(user_id=user.id, event=event, channel=channel, enabled=enabled))
            else:
                row.enabled = enabled
    db.session.flush()


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
