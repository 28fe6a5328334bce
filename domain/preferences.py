"""Notice settings (通知设置): which kinds of notice reach each person outside the app, and by which channel. The
outbox (domain/outbox.py) reads them when a notice is written; the settings page writes them."""
import sqlalchemy as sa

from models import Channel, NoticePreference, User, db

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
