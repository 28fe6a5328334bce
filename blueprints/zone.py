"""The zone committee's pages: the overview, the instructors' load, bulk assignment, startup funds."""
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from domain import funds, party_orgs
from domain.guidance import checklist_totals
from domain.instructors import bulk_assign, instructor_load_table
from domain.reference import unit_choices
from domain.sheets import capital_amount
from domain.workflow import INSTRUCTED_STATES
from domain.registry import search_organisations, unit_summary
from models import AppState, Application, FundItem, Instructor, db

from . import answer, form_version, page_arg, render_partial, role_wall, run_verb
from .forms import EmptyForm, FundConfirmForm

bp = Blueprint("zone", __name__, url_prefix="/zone")
role_wall(bp)


@bp.get("/")
def home():
    q = request.args.get("q", "")
    page = search_organisations(text=q, page=page_arg())
    return render_partial("zone/home.html", "_org_table.html", summary=unit_summary(), page=page, q=q,
                          checklist=checklist_totals(), projects_ended=party_orgs.awaiting_decision(),
                          records=party_orgs.record_ids_of(organisation_ids=[o.id for o in page.items]))


@bp.get("/instructors")
def instructors():
    """The load of every instructor, in total and per unit, sortable, with a bar per instructor."""
    sort = request.args.get("sort", "load")
    rows = instructor_load_table(sort)
    return render_template("zone/instructors.html", rows=rows, units=unit_choices(), sort=sort,
                           most=max([r["load"] for r in rows] + [r["instructor"].capacity for r in rows] + [1]))


@bp.route("/assign", methods=["GET", "POST"])
def assign():
    """Assign one instructor to several organisations at once (批量选派)."""
    unit_id = request.args.get("unit_id", type=int)
    applications = _assignable(unit_id)
    if request.method == "POST":
        chosen = [a for a in applications if str(a.id) in request.form.getlist("application_id")]
        instructor = db.session.get(Instructor, request.form.get("instructor_id", 0, type=int))
        outcome = []  # (done, skipped)
        status, _ = run_verb(lambda: outcome.extend(bulk_assign(
            chosen, instructor, actor=current_user, reason=request.form.get("reason", ""),
            replace=request.form.get("replace") == "1")), None)
        if status == 200:
            _flash_assigned(*outcome)
            return redirect(url_for("zone.assign", unit_id=unit_id or None))
    instructors = db.session.scalars(sa.select(Instructor).where(Instructor.active).order_by(Instructor.name)).all()
    loads = {r["instructor"].id: r["load"] for r in instructor_load_table()}
    return render_template("zone/assign.html", applications=applications, instructors=instructors, loads=loads,
                           units=unit_choices(), unit_id=unit_id, form=EmptyForm(), established=AppState.ESTABLISHED)


def _assignable(unit_id: int | None) -> list[Application]:
    """The applications an instructor may be assigned to, of one unit when the page asks for one."""
    query = (sa.select(Application).where(Application.state.in_(INSTRUCTED_STATES))
             .order_by(Application.unit_id, Application.id))
    if unit_id:
        query = query.where(Application.unit_id == unit_id)
    return list(db.session.scalars(query))


def _flash_assigned(done: list[Application], skipped: list[Application]) -> None:
    flash(f"已为 {len(done)} 个组织选派指导员。", "success")
    if skipped:
        flash("以下组织已有指导员，未改动（如需替换，请勾选“替换现有指导员”）："
              + "、".join(a.organisation.name for a in skipped), "warning")


# ---------------------------------------------------------------- startup funds (启动经费核定、批次审批)

@bp.get("/funds")
def funds_page():
    return _funds_page()


@bp.post("/funds/<int:item_id>/confirm")
def confirm_fund(item_id: int):
    """Two POSTs: the first shows what would be recorded (amount, payee, full account number), the second, with
    `confirmed`, records it. Both without JavaScript; with htmx each answers the row alone."""
    item, form = db.get_or_404(FundItem, item_id), FundConfirmForm()
    args = dict(actor=current_user, version=form_version(form.version.data), amount=form.amount.data or None,
                reason=form.reason.data or "")
    shown = []  # the preview's facts (核定前确认), for the row to show before the second POST
    confirmed = bool(request.form.get("confirmed"))
    if not confirmed:
        status, _ = run_verb(lambda: shown.append(funds.fund_confirmation(item, **args)), None, form, validate=False)
    else:
        status, _ = run_verb(lambda: funds.confirm_fund(item, **args), f"已核定{item.organisation.name}的启动经费。",
                             form, validate=False)
    return _fund_answer(item_id, status, form if status == 422 else None, shown[0] if shown else None,
                        done=url_for(".funds_page", page=page_arg()) if confirmed else None)


@bp.post("/batches/<int:batch_id>/<any(approve, return):decision>")
def decide_batch(batch_id: int, decision: str):
    """Returning is one POST; approving is two: the first shows every item's amount, payee and full account
    number with the total, the second (with `confirmed`) approves."""
    batch = funds.load_batch(batch_id)
    if batch is None:
        abort(404)
    version = form_version(request.form.get("version"))
    if decision == "approve" and not request.form.get("confirmed"):
        status, _ = run_verb(lambda: funds.check_batch_approval(batch, actor=current_user, version=version), None)
        return _funds_page(confirming_batch=batch.id) if status == 200 else redirect(url_for(".funds_page"))
    verb = funds.approve_batch if decision == "approve" else funds.return_batch
    run_verb(lambda: verb(batch, actor=current_user, version=version),
             f"已{'审批同意' if decision == 'approve' else '退回'}拨付批次 {batch.number}。")
    return redirect(url_for(".funds_page"))


def _funds_page(**shown) -> str:
    """The zone's fund page: the items to confirm and the batches to approve, with a preview or a refusal open."""
    return render_template("zone/funds.html", items=funds.pending_funds(page_arg()), batches=funds.batches_to_approve(),
                           form=EmptyForm(), capital_amount=capital_amount, **shown)


def _fund_answer(item_id: int, status: int, failed, confirming, done: str | None):
    """After a confirmation's first or second POST: htmx gets the item's row alone (with the flashed message in
    it), a normal request the whole page with that row open, or, once recorded, the page it was on (`done`: the
    row's form carried its ?page=)."""
    return answer(status, lambda: render_template(
        "zone/_fund_row.html", item=funds.fund_row(item_id), page=page_arg(), failed_form=failed, form=EmptyForm(),
        standalone=True, confirming=confirming), lambda: _funds_page(
        failed_form=failed, failed_id=item_id, confirming=confirming), done=done)
