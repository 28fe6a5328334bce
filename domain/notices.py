"""Notices (站内通知): each event that asks someone to act, or that someone waits for, tells them here. notify() is
the one way a notice is written, so the channels that will carry notices (e-mail, SMS) hook in at one place."""
from collections.abc import Iterable

import sqlalchemy as sa

from models import Application, DisbursementBatch, Notification, Role, User, db

# Where a notice sends its reader. Paths, not url_for: the verbs also run outside a request (the CLI, the
# demo seed); tests/test_notices.py checks that each one is a route of the app.
APPLICANT_HOME = "/applicant/"
ZONE_FUNDS = "/zone/funds"


def batch_page(batch: DisbursementBatch) -> str:
    return f"/finance/batches/{batch.id}"


def notify(users: Iterable[User], message: str, *, application: Application | None = None, link: str = "") -> int:
    """Write one notice to each of `users` (站内通知); `link` is where it asks them to go, else the application's
    card. Returns how many were written."""
    notices = [Notification(user=user, application=application, message=message[:300], link=link)
               for user in users]
    db.session.add_all(notices)
    return len(notices)


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
