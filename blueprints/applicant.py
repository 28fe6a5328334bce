"""The applicant's pages: their own organisation only."""
from flask import Blueprint, render_template
from flask_login import current_user

from models import Role

from . import role_wall

bp = Blueprint("applicant", __name__, url_prefix="/applicant")
role_wall(bp, Role.APPLICANT)


@bp.get("/")
def home():
    return render_template("applicant/home.html", org=current_user.organisation)
