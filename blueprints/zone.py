"""The zone committee's pages."""
from flask import Blueprint, request

from domain.registry import search_organisations, unit_summary
from models import Role

from . import render_partial, role_wall

bp = Blueprint("zone", __name__, url_prefix="/zone")
role_wall(bp, Role.ZONE_APPROVER)


@bp.get("/")
def home():
    q = request.args.get("q", "")
    page = search_organisations(text=q, page=request.args.get("page", 1, type=int))
    return render_partial("zone/home.html", "_org_table.html", summary=unit_summary(), page=page, q=q)
