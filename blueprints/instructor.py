"""The instructor's workspace: the organisations assigned to them."""
from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from domain.inbox import InboxFilter, inbox
from models import Role

from . import role_wall

bp = Blueprint("instructor", __name__, url_prefix="/instructor")
role_wall(bp, Role.INSTRUCTOR)


@bp.get("/")
def home():
    page = inbox(current_user, InboxFilter(state="all", page=request.args.get("page", 1, type=int)),
                 per_page=current_app.config["PAGE_SIZE"])
    return render_template("instructor/home.html", instructor=current_user.instructor, page=page)
