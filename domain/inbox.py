"""What waits for whom: the inbox of each role, its counts, and the notifications bell."""
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

import sqlalchemy as sa

from models import (
    AppState, Application, BatchState, DisbursementBatch, Notification, Organisation, OrgKind, PartyOrg,
    PartyOrgState, RegistrationReview, Renewal, Role, Unit, User, db, utcnow,
)

from .paging import RowPage, limited, paginate, row_page
from .party_orgs import RENEWAL_WAITING_ON
from .registrations import lapse_cutoff, waiting_for
from .registry import fragment_patterns, name_or_code_like
from .statements_per_role import built_per_role
from .workflow import WAITING_ON


def waiting_states(role: Role) -> list[AppState]:
    """The states in which this role owes the next step."""
    return [state for state, owner in WAITING_ON.items() if owner is role]


def _scoped(user: User) -> sa.Select:
    return sa.select(Application).where(Application.visible_to(user))


def _counted(query: sa.Select) -> sa.Select:
    """count(*) of a scoped query: not count(id), which would read each row where the index on the submitted
    applications' states (ix_applications_submitted_by_state) answers the navigation's counter alone."""
    return query.with_only_columns(sa.func.count(), maintain_column_froms=True)


def _waiting(user: User) -> sa.Select | None:
    states = waiting_states(user.role)
    return _counted(_scoped(user).where(Application.state.in_(states))) if states else None


# What a list row shows, read as plain rows. Loading 50 applications, their organisations and units as ORM
# objects, with every column, cost more CPU than the rest of the page; the lists only show these.
LIST_COLUMNS = (Application.id, Application.state, Application.state_changed_at, Application.requested_kind,
                Organisation.name.label("organisation_name"), Organisation.credit_code, Organisation.contact_name,
                Organisation.contact_phone, Unit.name.label("unit_name"))


@dataclass
class InboxFilter:
    state: str = ""  # "" waiting on me, "all", or one state's value
    unit_id: int | None = None
    kind: str = ""  # the organisation's kind
    q: str = ""
    page: int = 1

    @property
    def waiting_on_me(self) -> bool:
        """The 待办 view (no state chosen): the one that also lists the 换届 requests waiting on the reader."""
        return self.state == ""


@built_per_role
def _inbox_statements(links, state: str, by_unit: bool, by_kind: bool, by_text: bool) -> tuple[sa.Select, sa.Select]:
    """The inbox's page of rows and its total, for a user (of a role, with links as parameters) and the shape of a
    filter: `state` "all", "one" state, or "waiting" on the role; which of unit, kind and text it sets. The filter's
    values are parameters too (inbox gives them)."""
    conditions, by_organisation = [], []
    if state == "one":
        conditions.append(Application.state == sa.bindparam("state"))
    elif state == "waiting":
        conditions.append(Application.state.in_(waiting_states(links.role)))
    if by_unit:
        conditions.append(Application.unit_id == sa.bindparam("filter_unit_id"))
    if by_kind:
        by_organisation.append(Organisation.kind == sa.bindparam("kind"))
    if by_text:
        by_organisation.append(name_or_code_like(sa.bindparam("name_pattern"), sa.bindparam("code_pattern")))
    rows = (_scoped(links).with_only_columns(*LIST_COLUMNS).select_from(Application)
            .join(Application.organisation).join(Application.unit)
            .where(*conditions, *by_organisation).order_by(Application.state_changed_at, Application.id))
    # The total joins organisations only when a filter needs them: every application has one, and the join
    # was most of the count's cost.
    counted = _scoped(links).join(Application.organisation) if by_organisation else _scoped(links)
    return limited(rows), _counted(counted.where(*conditions, *by_organisation))


def inbox(user: User, f: InboxFilter, per_page: int = 50) -> RowPage:
    """One page of the applications this user handles, oldest waiting first, as rows of LIST_COLUMNS."""
    params = {}
    state = "all"
    if f.state in AppState._value2member_map_:
        state, params["state"] = "one", AppState(f.state)
    elif f.state != "all" and waiting_states(user.role):
        state = "waiting"
    if f.unit_id:
        params["filter_unit_id"] = f.unit_id
    if f.kind in OrgKind._value2member_map_:
        params["kind"] = OrgKind(f.kind)
    if f.q.strip():
        params.update(fragment_patterns(f.q))
    (rows, counted), links = _inbox_statements(user, state, "filter_unit_id" in params, "kind" in params,
                                               "name_pattern" in params)
    return row_page(rows, counted, f.page, per_page, {**links, **params})


@built_per_role
def _nav_counts_query(links) -> sa.Select:
    """The counters' query of a user (of a role, with links as parameters)."""
    role = links.role
    unread = (sa.select(sa.func.count(Notification.id))
              .where(Notification.user_id == links.id, Notification.read_at.is_(None)).scalar_subquery())
    waiting = _waiting(links)
    to_verify = sa.literal(0)
    if role in (Role.UNIT_REVIEWER, Role.ADMIN):
        to_verify = (sa.select(sa.func.count()).select_from(RegistrationReview)
                     .where(*waiting_for(role, links.unit_id, sa.bindparam("lapse_cutoff"))).scalar_subquery())
    waiting = sa.literal(0) if waiting is None else waiting.scalar_subquery()
    if (renewals := _renewals_waiting(links)) is not None:  # 换届 and its changes of date (党组织档案)
        waiting = waiting + renewals.with_only_columns(sa.func.count(Renewal.id)).order_by(None).scalar_subquery()
    if role is Role.ZONE_APPROVER:  # a batch submitted for approval waits on the zone too (拨付批次待审批)
        waiting = waiting + (sa.select(sa.func.count(DisbursementBatch.id))
                             .where(DisbursementBatch.state == BatchState.SUBMITTED).scalar_subquery())
    return sa.select(waiting, unread, to_verify)


def _renewals_waiting(user) -> sa.Select | None:
    """The requests of 换届 (or of its date) that wait on this user's role, of the organisations they see."""
    states = [state for state, owner in RENEWAL_WAITING_ON.items() if owner is user.role]
    if not states:
        return None
    return (sa.select(Renewal).join(Renewal.party_org)
            .where(Renewal.state.in_(states), PartyOrg.state == PartyOrgState.ACTIVE, PartyOrg.visible_to(user))
            .order_by(Renewal.state_changed_at, Renewal.id))


# What the 待办's 换届 panel shows, read as plain rows (as the lists read LIST_COLUMNS): a Renewal object brings its
# party organisation's joined relationships (the application, the organisation, their units), a dozen entities
# that the ORM sets up for every execution, even when no request waits, on every full 待办 page.
RENEWAL_COLUMNS = (Renewal.id, Renewal.party_org_id, Renewal.kind, Renewal.state, Renewal.state_changed_at,
                   PartyOrg.name.label("party_org_name"), PartyOrg.term_end)


def waiting_renewals(user: User) -> list[sa.Row]:
    """The 换届 requests waiting on this user (the unit's first review, the zone's approvals), oldest first, as rows
    of RENEWAL_COLUMNS: the 待办 page lists them above the applications."""
    query = _renewals_waiting(user)
    return [] if query is None else list(db.session.execute(query.with_only_columns(*RENEWAL_COLUMNS)))


class NavCounts(NamedTuple):
    waiting: int  # applications (and 换届 requests) waiting on this user
    unread: int  # notifications
    to_verify: int  # registrations waiting for this official's verification (注册核实)


def nav_counts(user: User) -> NavCounts:
    """The navigation's counters in one query: every page shows them."""
    query, links = _nav_counts_query(user)
    return NavCounts(*(n or 0 for n in db.session.execute(query, {**links, "lapse_cutoff": lapse_cutoff()}).one()))


def overdue_ids(applications: list[Application | sa.Row], days: int) -> set[int]:
    """Of these applications, those waiting longer than the configured days on a step that someone other than the
    applicant owes. One moment for a whole list (the clock read once, not once a row)."""
    since = utcnow() - timedelta(days=days)
    return {a.id for a in applications if a.state in WAITING_ON and a.state_changed_at < since}


def is_overdue(application: Application, days: int) -> bool:
    """overdue_ids of one application (its card)."""
    return application.id in overdue_ids([application], days)


def notifications_of(user: User, page: int = 1):
    query = sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id.desc())
    return paginate(query, max(page, 1))


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one or all of the user's notifications read (标为已读); returns how many changed."""
    statement = sa.update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        statement = statement.where(Notification.id == notification_id)
    return db.session.execute(statement.values(read_at=utcnow())).rowcount
