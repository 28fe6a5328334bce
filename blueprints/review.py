"""The unit reviewer's pages: organisations routed to their unit."""
from flask import Blueprint, request
from flask_login import current_user

from domain import party_orgs
from domain.registry import search_organisations

from . import page_arg, render_partial, role_wall

bp = Blueprint("review", __name__, url_prefix="/review")
role_wall(bp)


@bp.get("/")
def home():
    q = request.args.get("q", "")
    page = search_organisations(unit=current_user.unit, text=q, page=page_arg())
    return render_partial("review/home.html", "_org_table.html", page=page, q=q,
                          records=party_orgs.record_ids_of(organisation_ids=[o.id for o in page.items]))
