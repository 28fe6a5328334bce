"""The application pages every role shares: the inbox, the application card, its steps and files (the applicant's
form to write one is in applicant.py).

A step is one POST to /applications/<id>/steps/<action>. htmx swaps the card in place and fires
`counts-changed` so the navigation's counters refresh; without JavaScript the same POST redirects.
"""
import sqlalchemy as sa
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from domain import applications as verbs
from domain.applications import Elected, ElectionReport
from domain.documents import documents_of, render_dossier
from domain.funds import fund_of
from domain import guidance
from domain.instructors import assignment_history, reassign_instructor, suggest_instructors
from domain.inbox import InboxFilter, inbox, is_overdue, mark_read, notifications_of, overdue_ids, waiting_renewals
from domain.party_orgs import party_org_of
from domain.party_rules import COMMITTEE_SIZE
from domain.reference import list_units, unit_choices
from domain.revisions import resubmission_of
from domain.workflow import STEP_BY_ACTION
from domain.zone_time import local_today
from models import (
    AppState, Application, Attachment, ChecklistItem, Delivery, Document, DocumentKind, Instructor, OrgKind, Role, Unit,
    VisitForm, db,
)

from . import answer, form_version, page_arg, render_partial, role_wall, run_verb, send_download
from .forms import DeliveryForm, ElectionForm, GuidanceVisitForm, PayeeForm, ReassignForm, StepForm, options

bp = Blueprint("applications", __name__, url_prefix="/applications")
role_wall(bp)


@bp.app_template_global()
def step_label(action: str) -> str:
    """The history's words for a step: its label in the workflow table."""
    return "创建申请" if action == "create" else STEP_BY_ACTION[action].label


def load(application_id: int) -> Application:
    """The application, or 404 for one this user may not see (the same answer as for one that does not exist)."""
    # The history comes in the same query: the card always shows it, and it is the one collection joined
    # (joining a second would multiply the rows).
    application = verbs.visible_application(application_id, current_user, joinedload(Application.history))
    if application is None:
        abort(404)
    return application


# ---------------------------------------------------------------- inbox and counters

@bp.get("/")
def inbox_page():
    if current_user.role is Role.APPLICANT:
        return redirect(url_for("applicant.home"))
    f = InboxFilter(state=request.args.get("state", ""), unit_id=request.args.get("unit_id", type=int),
                    kind=request.args.get("kind", ""), q=request.args.get("q", ""),
                    page=page_arg())
    page = inbox(current_user, f, per_page=current_app.config["PAGE_SIZE"])
    overdue_days = current_app.config["OVERDUE_DAYS"]
    overdue = overdue_ids(page.items, overdue_days)
    return render_partial("applications/inbox.html", "applications/_inbox_table.html", page=page, f=f,
                          overdue=overdue, overdue_days=overdue_days, states=AppState, kinds=OrgKind,
                          page_only=lambda: dict(renewals=waiting_renewals(current_user) if f.waiting_on_me else [],
                                                 units=unit_choices()
                                                 if current_user.role is not Role.UNIT_REVIEWER else []))


@bp.get("/badges")
def badges():
    """The navigation's counters, swapped out of band after each action."""
    return render_template("applications/_badges.html", standalone=True)  # the counts come from nav_context


# ---------------------------------------------------------------- the card and its steps

@bp.get("/<int:application_id>")
def show(application_id: int):
    application = load(application_id)
    # ?reassign=1: the 改派 form with its instructors already listed, for a browser without JavaScript (with it,
    # htmx fetches them from reassign_options when the form is opened).
    return render_partial("applications/show.html", "applications/_card.html",
                          **_card(application, reassign_open=request.args.get("reassign") == "1"))


@bp.post("/<int:application_id>/steps/<action>")
def step(application_id: int, action: str):
    application = load(application_id)
    if action not in STEP_VERBS:
        abort(404)
    form = ElectionForm() if action == "report_election" else StepForm()
    _fill_step_choices(form)
    status, failed = run_verb(lambda: STEP_VERBS[action](application, form),
                              f"已{STEP_BY_ACTION[action].label}。", form)
    return _card_response(application_id, status, action if failed else None, form)


def _card_response(application_id: int, status: int = 200, failed: str | None = None, form=None):
    """After an action on the card: htmx gets the fresh card and a counts-changed event; a plain POST that
    succeeded is redirected (reload-safe), one that failed gets the page with the form still filled."""
    def render(template: str) -> str:
        application = load(application_id)  # fresh after a commit or a rollback
        return render_template(template, **_card(application, failed_action=failed,
                                                 failed_form=form if failed else None))
    return answer(status, lambda: render("applications/_card.html"), lambda: render("applications/show.html"),
                  done=url_for(".show", application_id=application_id), trigger="counts-changed")


def _step_args(form) -> dict:
    return {"version": form_version(form.version.data)}


def _with_reason(verb):
    def run(application, form):
        verb(application, actor=current_user, comment=form.comment.data or "",
             internal_note=form.internal_note.data or "", **_step_args(form))
    return run


STEP_VERBS = {
    "submit": lambda a, f: verbs.submit_application(a, actor=current_user, **_step_args(f)),
    "withdraw": lambda a, f: verbs.withdraw_application(a, actor=current_user, comment=f.comment.data or "",
                                                        **_step_args(f)),
    "pass": _with_reason(verbs.pass_application),
    "return": _with_reason(verbs.return_application),
    "zone_return": _with_reason(verbs.return_application),
    "reject": _with_reason(verbs.reject_application),
    "establish": _with_reason(verbs.establish_organisation),
    "return_election": _with_reason(verbs.return_election),
    "forward": lambda a, f: verbs.forward_application(
        a, actor=current_user, unit=db.session.get(Unit, f.unit_id.data or 0),
        comment=f.comment.data or "", internal_note=f.internal_note.data or "", **_step_args(f)),
    "approve": lambda a, f: verbs.approve_application(
        a, actor=current_user, instructor=db.session.get(Instructor, f.instructor_id.data or 0),
        comment=f.comment.data or "", internal_note=f.internal_note.data or "", capacity_reason=f.reason.data or "",
        **_step_args(f)),
    "report_election": lambda a, f: verbs.report_election(a, ElectionReport(
        election_date=f.election_date.data, voters_expected=f.voters_expected.data,
        voters_present=f.voters_present.data, secretary_name=f.secretary_name.data,
        secretary_votes=f.secretary_votes.data, committee=_elected_rows()),
        actor=current_user, **_step_args(f)),
}


def _committee_rows(application: Application) -> list[tuple[str, str]]:
    """The election form's 委员 rows: what was typed (after a refusal) or reported (a report sent back), then blank
    ones up to the most the kind's committee may have, so the form works without JavaScript."""
    if not application.requested_kind.has_committee or application.state is not AppState.APPROVED:
        return []
    if request.method == "POST":
        typed = [(n, v) for n, v in zip(request.form.getlist("committee_name"), request.form.getlist("committee_votes"))
                 if n.strip() or v.strip()]
    else:  # a report sent back comes with what it said
        typed = [(e["name"], str(e["votes"])) for e in application.committee_votes or []]
    return typed + [("", "")] * max(0, COMMITTEE_SIZE[application.requested_kind][1] - len(typed))


def _elected_rows() -> tuple[Elected, ...]:
    """The 委员 rows of the election form (name, votes); blank rows dropped, votes that are no number None (the
    domain names the row)."""
    rows = zip(request.form.getlist("committee_name"), request.form.getlist("committee_votes"))
    return tuple(Elected(name.strip(), int(votes) if _a_number(votes.strip()) else None)
                 for name, votes in rows if name.strip())


def _a_number(votes: str) -> bool:
    """ASCII digits only ("²" and full-width digits pass isdigit), and few enough for the column."""
    return votes.isascii() and votes.isdigit() and len(votes) < 7


def _fill_step_choices(form) -> None:
    if isinstance(form, StepForm):
        form.unit_id.choices = options([(0, "请选择")] + [(u.id, u.name) for u in list_units()])
        form.instructor_id.choices = options([(0, "请选择")])


def _card(application: Application, failed_action: str | None = None, failed_form=None,
          reassign_open: bool = False) -> dict:
    steps = verbs.available_steps(application, current_user)
    guide = _guidance(application, reassign_open or failed_action == "reassign")
    # A refused step whose panel is on the card shows its refusal beside its button; any other refusal on top.
    panels = {s.action for s in steps if s.action not in ("submit", "withdraw")}
    panels |= ({"reassign"} if guide["can_reassign"] else set()) | ({"visit"} if guide.get("can_visit") else set())
    inline = failed_action in panels or (failed_action or "").startswith("deliver-") and guide["can_guide"]
    return {
        "application": application,
        "refusal_inline": bool(inline),
        "steps": steps,
        "can_edit": verbs.can_edit(application, current_user),
        "suggestions": suggest_instructors(application) if any(s.action == "approve" for s in steps) else [],
        "units": [u for u in list_units() if u.id != application.unit_id]
        if any(s.action == "forward" for s in steps) else [],
        "failed_action": failed_action,
        "failed_form": failed_form,
        "today": local_today(),
        "overdue": is_overdue(application, current_app.config["OVERDUE_DAYS"]),
        "documents": documents_of(application),
        "party_org": party_org_of(application.id) if application.state is AppState.ESTABLISHED else None,
        "resubmission": resubmission_of(application) if current_user.is_official else None,
        # The election date's earliest day (the date picker's min): the meeting comes after the approval 批复.
        "election_earliest": verbs.approval_issued_on(application)
        if any(s.action == "report_election" for s in steps) else None,
        "committee_rows": _committee_rows(application),
        **_fund_panel(application),
        "committee_size": COMMITTEE_SIZE.get(application.requested_kind),
        **guide,
    }


def card_page(application: Application, **context) -> str:
    """The card's full page after a refusal of a form another blueprint owns (the fund panel's payee form), with
    `context` (the refused form) over the card's own."""
    return render_template("applications/show.html", **{**_card(application), **context})


def _fund_panel(application: Application) -> dict:
    """The applicant's startup fund and payee form on the card of the application it was granted for: where its
    notices (confirmed, payee returned, paid) open the card."""
    fund = fund_of(application.organisation_id) if current_user.role is Role.APPLICANT else None
    if fund is None or fund.application_id != application.id:
        return {"fund": None}
    return {"fund": fund, "payee_form": PayeeForm(obj=fund), "on_card": True}


def _guidance(application: Application, reassign_open: bool = False) -> dict:
    """The instructor part of the card: assignments, visits, the checklist, and who may add to them. The ranked
    instructors of the 改派 form only when it is shown open (reassign_options below says why)."""
    if application.instructor_id is None:
        return {"assignments": [], "visits": [], "checklist": [], "can_guide": False, "can_reassign": False}
    zone = current_user.role is Role.ZONE_APPROVER
    return {
        "assignments": assignment_history(application) if current_user.is_official else [],
        "visits": guidance.visits(application) if current_user.is_official else [],
        "checklist": guidance.checklist(application) if application.state is AppState.ESTABLISHED else [],
        "can_guide": guidance.can_guide(application, current_user),
        "can_visit": current_user.role is Role.INSTRUCTOR and guidance.can_guide(application, current_user),
        "can_reassign": zone,
        "reassign_options": suggest_instructors(application) if zone and reassign_open else None,
        "visit_forms": VisitForm,
    }


# ---------------------------------------------------------------- the instructor's work on the card

@bp.post("/<int:application_id>/reassign")
def reassign(application_id: int):
    application = load(application_id)
    if current_user.role is not Role.ZONE_APPROVER:
        abort(403)
    form = ReassignForm()
    return _guided_action(application, form, "reassign", lambda: reassign_instructor(
        application, db.session.get(Instructor, form.instructor_id.data or 0), actor=current_user,
        reason=form.reason.data), "已改派指导员。")


@bp.get("/<int:application_id>/reassign/options")
def reassign_options(application_id: int):
    """The instructors to reassign to, ranked, as the options of the 改派 form: htmx asks for them when the zone
    opens the form. Ranking every active instructor by their load on every view of a card was a large share of the
    card's time on PostgreSQL (bench/RESULTS.md), and reassigning is rare."""
    application = load(application_id)
    if current_user.role is not Role.ZONE_APPROVER:
        abort(403)
    return render_template("applications/_reassign_options.html", application=application,
                           reassign_options=suggest_instructors(application))


@bp.post("/<int:application_id>/visits")
def add_visit(application_id: int):
    application = load(application_id)
    form = GuidanceVisitForm()
    return _guided_action(application, form, "visit", lambda: guidance.record_visit(application, guidance.VisitData(
        visited_on=form.visited_on.data, form=VisitForm(form.form.data), topics=form.topics.data,
        problems=form.problems.data or "", follow_up=form.follow_up.data or ""), actor=current_user), "已记录指导情况。")


@bp.post(f"/<int:application_id>/deliveries/<any({', '.join(i.value for i in ChecklistItem)}):item>")
def tick(application_id: int, item: str):
    application = load(application_id)
    form = DeliveryForm()
    photo = form.photo.data
    return _guided_action(application, form, f"deliver-{item}", lambda: guidance.tick_delivery(
        application, ChecklistItem(item), form.delivered_on.data, actor=current_user,
        photo=(photo.filename, photo.read()) if photo and photo.filename else None),
        f"已确认“{ChecklistItem(item).label}”。")


def _guided_action(application: Application, form, name: str, run, done: str):
    status, failed = run_verb(run, done, form)
    return _card_response(application.id, status, name if failed else None, form)


@bp.get("/<int:application_id>/deliveries/<int:delivery_id>/photo")
def delivery_photo(application_id: int, delivery_id: int):
    application = load(application_id)
    delivery = db.get_or_404(Delivery, delivery_id)
    if delivery.application_id != application.id or delivery.photo is None:
        abort(404)
    return send_download(delivery.photo.data, delivery.photo.filename, fallback=f"delivery-{delivery.id}",
                         mimetype=delivery.photo.content_type, inline=True)


# ---------------------------------------------------------------- documents

@bp.get("/<int:application_id>/<any(approval, election_approval):kind>.pdf")
def document_pdf(application_id: int, kind: str):
    """An issued document: the stored bytes, the same on every download."""
    application = load(application_id)
    document = db.first_or_404(sa.select(Document).filter_by(application_id=application.id, kind=DocumentKind(kind)))
    # The ASCII name says which 批复 it is, as its number does: pifu-2026-7.pdf for 通开党工字〔2026〕7号.
    stem = "pifu" if document.kind is DocumentKind.APPROVAL else "xuanju-pifu"
    return send_download(document.file.data, document.file.filename,
                         fallback=f"{stem}-{document.year}-{document.serial}",
                         inline=True, etag=document.file.sha256)


@bp.get("/<int:application_id>/dossier.pdf")
def dossier_pdf(application_id: int):
    """The application dossier, rendered now (it follows the timeline)."""
    application = load(application_id)
    if not current_user.is_official:
        abort(404)
    return send_download(render_dossier(application), f"{application.organisation.name}-申请档案.pdf",
                         fallback=f"dossier-{application.id}", inline=True)


# ---------------------------------------------------------------- attachments

@bp.get("/<int:application_id>/attachments/<int:attachment_id>/<path:filename>")
def attachment(application_id: int, attachment_id: int, filename: str):
    application = load(application_id)
    item = db.get_or_404(Attachment, attachment_id)
    if item.application_id != application.id:
        abort(404)
    return send_download(item.file.data, item.file.filename, fallback=f"attachment-{item.id}",
                         mimetype=item.file.content_type, etag=item.file.sha256)


# ---------------------------------------------------------------- notifications

@bp.get("/notifications")
def notifications():
    page = notifications_of(current_user, page_arg())
    return render_template("applications/notifications.html", page=page)


@bp.post("/notifications/read")
def read_notifications():
    mark_read(current_user, request.form.get("id", type=int))
    db.session.commit()
    return redirect(url_for(".notifications"))
