"""The records of established Party organisations (党组织档案): the list for the zone and the units, each record's
page for everyone who may see it, its documents, and the committee's changes between elections."""
from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user

from domain import DomainError, party_orgs
from domain.reference import unit_choices
from domain.zone_time import local_today
from models import CommitteePost, CommitteeSeat, Document, PartyOrgKind, Role, db

from . import answer, form_version, page_arg, render_partial, role_wall, run_verb, send_download
from .forms import RecordStepForm, SeatForm
from .registry import export_name

bp = Blueprint("party_orgs", __name__, url_prefix="/orgs")
role_wall(bp)

LIST_ROLES = (Role.UNIT_REVIEWER, Role.ZONE_APPROVER, Role.ADMIN)


def load(party_org_id: int):
    """The record, or 404 for one this user may not see (the same answer as for one that does not exist)."""
    party_org = party_orgs.visible_party_org(party_org_id, current_user)
    if party_org is None:
        abort(404)
    return party_org


def record_context(party_org, failed_action: str | None = None, failed_form=None) -> dict:
    """What the record page and card show, with the step that failed and its form, if one did."""
    steps = party_orgs.available_steps(party_org, current_user)
    moving = any(step.action in ("dissolve", "merge") for step in steps)
    return {"r": party_orgs.record_of(party_org), "steps": steps, "posts": CommitteePost, "today": local_today(),
            "receiving": party_orgs.receiving_choices(party_org) if moving else [], "failed_action": failed_action,
            "failed_form": failed_form, "refusal_inline": failed_action is not None}


def org_filter() -> party_orgs.OrgFilter:
    """The list's filters from the query, for the roles that see the list (403 for the others, whom the area admits
    to their own records only): a value that is none of those offered means no filter."""
    if current_user.role not in LIST_ROLES:
        abort(403)
    unit_id = request.args.get("unit_id", type=int)
    kind, term = request.args.get("kind", ""), request.args.get("term", "")
    return party_orgs.OrgFilter(
        unit_id=unit_id if unit_id in {u.id for u in unit_choices()} else None,
        kind=PartyOrgKind(kind) if kind in PartyOrgKind._value2member_map_ else None,
        term=party_orgs.TermStatus(term) if term in party_orgs.TermStatus._value2member_map_ else None,
        page=page_arg())


@bp.get("/")
def index():
    f = org_filter()
    page = party_orgs.org_page(current_user, f)
    return render_partial("party_orgs/index.html", "party_orgs/_table.html", page=page, f=f,
                          statuses=party_orgs.term_statuses([p.id for p in page.items]), kinds=PartyOrgKind,
                          terms=party_orgs.TermStatus, units=[] if current_user.unit else unit_choices())


@bp.get("/terms.xlsx")
def terms_xlsx():
    """The filtered list as XLSX (党组织任期清单), every row: the zone's, or a unit's."""
    f = org_filter()
    unit = party_orgs.export_unit(current_user, f)
    name, day = export_name("党组织" + (f.term.label if f.term else "任期") + "清单", unit.name if unit else "")
    return send_download(party_orgs.records_xlsx(current_user, f), name, fallback=f"terms-{f.term or 'all'}-{day}")


@bp.get("/<int:party_org_id>")
def show(party_org_id: int):
    return render_template("party_orgs/show.html", **record_context(load(party_org_id)))


@bp.get("/<int:party_org_id>/documents/<int:document_id>.pdf")
def document_pdf(party_org_id: int, document_id: int):
    """A document issued for the organisation: the stored bytes, the same on every download."""
    party_org = load(party_org_id)
    document = db.first_or_404(db.select(Document).filter_by(id=document_id, party_org_id=party_org.id))
    return send_download(document.file.data, document.file.filename,
                         fallback=f"{document.kind.value}-{document.year}-{document.serial}", inline=True,
                         etag=document.file.sha256)


@bp.app_template_global()
def record_step_label(action: str) -> str:
    """The record history's words for a step: its label in the record's table."""
    if action.startswith("renewal."):  # 换届's steps (blueprints/renewals.py)
        step = party_orgs.RENEWAL_STEP_BY_ACTION.get(action.removeprefix("renewal."))
    else:
        step = party_orgs.STEP_BY_ACTION.get(action)
    return step.label if step else action


# ---------------------------------------------------------------- the committee's changes (补选, 调整)

def _seat_change(form: SeatForm, *, ending: bool) -> party_orgs.SeatChange:
    """The form as the verbs read it. A post that is none of those offered is no post (the verb says so); for 调整,
    "end" (免去职务) is the one other choice, and it must be chosen, not fallen into."""
    post = form.post.data or ""
    if ending and post not in CommitteePost._value2member_map_ and post != "end":
        raise DomainError("请选择调整后的职务，或“免去职务”", "post")
    return party_orgs.SeatChange(day=form.day.data, reason=form.reason.data or "", name=form.name.data or "",
                                 post=CommitteePost(post) if post in CommitteePost._value2member_map_ else None)


def _fill(party_org, form: SeatForm) -> None:
    party_orgs.fill_seat(party_org, _seat_change(form, ending=False), actor=current_user,
                         version=form_version(form.version.data))


def _adjust(party_org, form: SeatForm) -> None:
    seat = db.session.get(CommitteeSeat, form.seat_id.data or 0)
    party_orgs.adjust_seat(party_org, seat, _seat_change(form, ending=True), actor=current_user,
                           version=form_version(form.version.data))


@bp.post("/<int:party_org_id>/seats/fill")
def fill_seat(party_org_id: int):
    return _step(party_org_id, "fill_seat", _fill)


@bp.post("/<int:party_org_id>/seats/adjust")
def adjust_seat(party_org_id: int):
    return _step(party_org_id, "adjust_seat", _adjust)


def _step(party_org_id: int, action: str, verb, form_class=SeatForm):
    """Run one of the record's steps from its form. A role the step is not for is refused before the form is read."""
    party_org = load(party_org_id)
    step = party_orgs.STEP_BY_ACTION[action]
    if current_user.role is not step.role:
        abort(403)
    form = form_class()
    status, failed = run_verb(lambda: verb(party_org, form), f"已{step.label}。", form)
    return _record_response(party_org_id, status, action if failed else None, form)


def _record_response(party_org_id: int, status: int, failed: str | None, form):
    """After a step: htmx gets the fresh record card; a plain POST that succeeded is redirected (reload-safe), one
    that failed gets the page with the form still filled."""
    def render(template: str) -> str:
        # Loaded again after the commit or the rollback.
        return render_template(template, **record_context(load(party_org_id), failed, form if failed else None))
    return answer(status, lambda: render("party_orgs/_record.html"), lambda: render("party_orgs/show.html"),
                  done=url_for(".show", party_org_id=party_org_id), trigger="counts-changed")


# ---------------------------------------------------------------- 撤销, 调整, 更名, 合并; a project's end and 保留

def _receiving(form: RecordStepForm):
    """The branch named to take the members in, if one this user may see is named; 0 (none) is None."""
    return party_orgs.visible_party_org(form.receiving_id.data, current_user) if form.receiving_id.data else None


def _dissolve(party_org, form: RecordStepForm) -> None:
    party_orgs.dissolve_party_org(party_org, actor=current_user, version=form_version(form.version.data),
                                  reason=form.reason.data or "", receiving=_receiving(form))


def _merge(party_org, form: RecordStepForm) -> None:
    party_orgs.merge_party_org(party_org, actor=current_user, version=form_version(form.version.data),
                               reason=form.reason.data or "", into=_receiving(form))


def _rename(party_org, form: RecordStepForm) -> None:
    party_orgs.rename_party_org(party_org, actor=current_user, version=form_version(form.version.data),
                                reason=form.reason.data or "", new_name=form.new_name.data or "")


def _report_end(party_org, form: RecordStepForm) -> None:
    party_orgs.report_project_end(party_org, actor=current_user, version=form_version(form.version.data),
                                  ended_on=form.ended_on.data, reason=form.reason.data or "")


def _keep(party_org, form: RecordStepForm) -> None:
    party_orgs.keep_branch(party_org, actor=current_user, version=form_version(form.version.data),
                           reason=form.reason.data or "", review_on=form.review_on.data)


@bp.post("/<int:party_org_id>/dissolve")
def dissolve(party_org_id: int):
    return _step(party_org_id, "dissolve", _dissolve, RecordStepForm)


@bp.post("/<int:party_org_id>/merge")
def merge(party_org_id: int):
    return _step(party_org_id, "merge", _merge, RecordStepForm)


@bp.post("/<int:party_org_id>/rename")
def rename(party_org_id: int):
    return _step(party_org_id, "rename", _rename, RecordStepForm)


@bp.post("/<int:party_org_id>/project/end")
def report_project_end(party_org_id: int):
    return _step(party_org_id, "report_project_end", _report_end, RecordStepForm)


@bp.post("/<int:party_org_id>/project/keep")
def keep_branch(party_org_id: int):
    return _step(party_org_id, "keep_branch", _keep, RecordStepForm)
