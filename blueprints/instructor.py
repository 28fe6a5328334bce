"""The instructor's workspace."""
from flask import Blueprint, render_template
from flask_login import current_user

from models import Role

from . import role_wall

bp = Blueprint("instructor", __name__, url_prefix="/instructor")
role_wall(bp, Role.INSTRUCTOR)


@bp.get("/")
def home():
    return render_template("instructor/home.html", instructor=current_user.instructor)
