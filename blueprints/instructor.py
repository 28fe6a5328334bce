"""The instructor's workspace: the organisations assigned to them, their visits and checklists."""

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from domain import guidance, party_orgs
from domain.inbox import InboxFilter, inbox
from domain.instructors import assigned_since
from domain.zone_time import local_date, local_today
from models import AppState

from . import page_arg, role_wall

bp = Blueprint("instructor", __name__, url_prefix="/instructor")
role_wall(bp)


@bp.get("/")
def home():
    page = inbox(current_user, InboxFilter(state="all", page=page_arg()),
                 per_page=current_app.config["PAGE_SIZE"])
    ids = [a.id for a in page.items]
    last, delivered, interval = guidance.last_visits(ids), guidance.delivered_counts(ids), guidance.visit_interval()
    since = assigned_since(ids)
    overdue = {a.id for a in page.items
               if a.id in since and guidance.visit_overdue(last.get(a.id), local_date(since[a.id]), interval)}
    return render_template("instructor/home.html", instructor=current_user.instructor, page=page, last=last,
                           delivered=delivered, overdue=overdue, interval=interval, today=local_today(),
                           established=AppState.ESTABLISHED, records=party_orgs.record_ids_of(application_ids=ids))
