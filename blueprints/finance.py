"""Finance: startup-fund disbursement."""
from flask import Blueprint, render_template

from models import Role

from . import role_wall

bp = Blueprint("finance", __name__, url_prefix="/finance")
role_wall(bp, Role.FINANCE)


@bp.get("/")
def home():
    return render_template("finance/home.html")
