"""The applicant's pages: their own organisation and its applications only."""
import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import current_user

from domain.applications import open_application_of
from models import Application, Role, db

from . import role_wall

bp = Blueprint("applicant", __name__, url_prefix="/applicant")
role_wall(bp, Role.APPLICANT)


@bp.get("/")
def home():
    org = current_user.organisation
    applications = db.session.scalars(
        sa.select(Application).where(Application.organisation_id == org.id).order_by(Application.id.desc())).all()
    return render_template("applicant/home.html", org=org, current=open_application_of(org),
                           applications=applications)
