"""The instructor's work with an organisation: guidance visits (指导记录) and the 六建六送 checklist."""
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from models import (
    AppState, Application, ApplicationEvent, ChecklistItem, Delivery, GuidanceVisit, Role, User, VisitForm, db,
)

from . import DomainError
from .facts import check_date
from .files import store_upload
from .instructors import current_assignment
from .settings import get_settings
from .substitutes import acting_for, record_acted
from .zone_time import local_date, local_today


@dataclass
class VisitData:
    visited_on: date
    form: VisitForm
    topics: str
    problems: str = ""
    follow_up: str = ""


def can_guide(application: Application, user: User) -> bool:
    """The current instructor of the organisation (or their substitute while they are away, 代理), or the zone, may
    record its guidance and deliveries."""
    if user.role is Role.ZONE_APPROVER:
        return application.instructor_id is not None
    if user.role is not Role.INSTRUCTOR or user.instructor_id is None or application.instructor_id is None:
        return False
    return user.instructor_id == application.instructor_id or acting_for(user, application) is not None


def record_visit(application: Application, data: VisitData, *, actor: User) -> GuidanceVisit:
    """Record a guidance visit (记录指导) to an organisation the actor guides."""
    if not can_guide(application, actor) or actor.role is not Role.INSTRUCTOR:
        raise DomainError("只有该组织的党建指导员可以记录指导情况")
    assignment = current_assignment(application)
    check_date(data.visited_on, "指导日期", "visited_on",
               after=("选派党建指导员的日期", local_date(assignment.assigned_at) if assignment else None))
    if not data.topics.strip():
        raise DomainError("请填写指导内容", "topics")
    visit = GuidanceVisit(application_id=application.id, instructor_id=application.instructor_id,
                          visited_on=data.visited_on, form=data.form, topics=data.topics.strip(),
                          problems=data.problems.strip(), follow_up=data.follow_up.strip(), recorded_by_id=actor.id)
    db.session.add(visit)
    db.session.flush()
    record_acted("record_visit", visit, application, actor,
                 f"{application.organisation.name}：{data.visited_on}{data.form.label}")
    return visit


def established_on(application: Application) -> date | None:
    """The zone's date the organisation was established (批准选举结果): the 六建六送 follow it."""
    at = db.session.scalar(sa.select(sa.func.max(ApplicationEvent.at)).where(
        ApplicationEvent.application_id == application.id, ApplicationEvent.to_state == AppState.ESTABLISHED))
    return local_date(at) if at is not None else None


def tick_delivery(application: Application, item: ChecklistItem, delivered_on: date, *, actor: User,
                  photo: tuple[str, bytes] | None = None) -> Delivery:
    """Confirm one 六建六送 item delivered (确认送达), with an optional photo."""
    if application.state is not AppState.ESTABLISHED:
        raise DomainError("党组织正式成立后才能登记“六建六送”")
    if not can_guide(application, actor):
        raise DomainError("只有该组织的党建指导员或党工委可以确认“六建六送”")
    check_date(delivered_on, "送达日期", "delivered_on", after=("党组织成立的日期", established_on(application)))
    if db.session.scalar(sa.select(Delivery.id).filter_by(application_id=application.id, item=item)):
        raise DomainError(f"“{item.label}”已确认过，无需重复登记")
    delivery = Delivery(application_id=application.id, item=item, delivered_on=delivered_on, confirmed_by=actor)
    if photo is not None:
        delivery.photo = store_upload(photo[0], photo[1], actor=actor)
        if delivery.photo.content_type == "application/pdf":
            raise DomainError("照片须为 JPG 或 PNG 图片", "photo")
    db.session.add(delivery)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:  # two confirmations at once: the unique constraint keeps one
        raise DomainError(f"“{item.label}”已确认过，无需重复登记") from None
    record_acted("tick_delivery", application, application, actor, f"{application.organisation.name}：{item.label}")
    return delivery


def checklist(application: Application) -> list[tuple[ChecklistItem, Delivery | None]]:
    """The six items in order, each with its delivery if confirmed."""
    done = {d.item: d for d in db.session.scalars(sa.select(Delivery).filter_by(application_id=application.id))}
    return [(item, done.get(item)) for item in ChecklistItem]


def visits(application: Application) -> list[GuidanceVisit]:
    return list(db.session.scalars(sa.select(GuidanceVisit).filter_by(application_id=application.id)
                                   .order_by(GuidanceVisit.visited_on.desc(), GuidanceVisit.id.desc())))


def visit_interval() -> int:
    return int(get_settings()["visit_interval_days"])


def last_visits(application_ids: list[int]) -> dict[int, date]:
    """The date of the latest visit of each application (one query)."""
    if not application_ids:
        return {}
    rows = db.session.execute(sa.select(GuidanceVisit.application_id, sa.func.max(GuidanceVisit.visited_on))
                              .where(GuidanceVisit.application_id.in_(application_ids))
                              .group_by(GuidanceVisit.application_id)).all()
    return {app_id: (date.fromisoformat(d) if isinstance(d, str) else d) for app_id, d in rows}


def delivered_counts(application_ids: list[int]) -> dict[int, int]:
    """How many of the six items each application has received (one query)."""
    if not application_ids:
        return {}
    return dict(db.session.execute(sa.select(Delivery.application_id, sa.func.count(Delivery.id))
                                   .where(Delivery.application_id.in_(application_ids))
                                   .group_by(Delivery.application_id)).all())


def visit_overdue(last_visit: date | None, assigned_on: date, interval: int, today: date | None = None) -> bool:
    """No visit within the interval, counted from the last visit or, before any, from the assignment."""
    return ((today or local_today()) - (last_visit or assigned_on)).days > interval


def checklist_totals() -> dict:
    """For the zone: established organisations, items delivered per kind, organisations complete (one query:
    three separate round trips were a tenth of the overview's time on PostgreSQL). Each count reads the index of
    items by application (ix_deliveries_item_application): complete is the applications every item's deliveries
    share, a join of the items' sorted runs rather than a grouping of every delivery by application."""
    established = (sa.select(sa.func.count()).select_from(Application).where(Application.state == AppState.ESTABLISHED)
                   .scalar_subquery())
    first, *others = list(ChecklistItem)
    run = aliased(Delivery)
    complete = sa.select(sa.func.count()).select_from(run).where(run.item == first)
    for item in others:
        other = aliased(Delivery)
        complete = complete.join(other, sa.and_(other.application_id == run.application_id, other.item == item))
    complete = complete.scalar_subquery()
    per_item = [sa.select(sa.func.count()).select_from(Delivery).where(Delivery.item == item).scalar_subquery()
                for item in ChecklistItem]
    row = db.session.execute(sa.select(established, complete, *per_item)).one()
    return {"established": row[0] or 0, "per_item": [(item, n or 0) for item, n in zip(ChecklistItem, row[2:])],
            "complete": row[1] or 0}
