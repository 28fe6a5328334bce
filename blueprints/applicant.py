"""The applicant's pages: their own organisation, its applications and the application form (申请表), its fund.

The form's URLs stay under /applications/ (the card's), so each rule is written in full."""
from datetime import date
from uuid import uuid4

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from domain import DomainError, party_orgs
from domain import applications as verbs
from domain.accounts import registration_of
from domain.applications import ApplicationData, MemberRow, ProjectData, join_date_problem, open_application_of
from domain.funds import Payee, fund_of, set_payee
from domain.party_rules import suggested_kind
from domain.text import first_refused, refusal
from models import THREE_SYNCS, Application, Attachment, Gender, MemberStatus, PartyOrgKind, db

from . import answer, form_version, posted_file, posted_ids, role_wall, run_verb, send_download, show_domain_error
from .applications import card_page, load
from .forms import ApplicationForm, PayeeForm

bp = Blueprint("applicant", __name__)
role_wall(bp)

MEMBER_FIELDS = ("member_name", "member_gender", "member_joined", "member_status")


@bp.get("/applicant/")
def home():
    return _home()


@bp.post("/applicant/fund/payee")
def payee():
    fund = fund_of(current_user.organisation_id)
    if fund is None:
        abort(404)
    form = PayeeForm()
    status, _ = run_verb(lambda: set_payee(
        fund, Payee(form.account_name.data, form.bank_name.data, form.account_number.data), actor=current_user,
        document=posted_file(form.bank_document)), None, form)
    if status == 200:
        # The panel shows its own message (category "payee"), where the user is, not at the top of the page.
        flash("收款账户已保存，财务核验后即可编入拨付批次。", "payee")
    return _payee_answer(fund, form, status, on_card=request.args.get("on") == "card")


def _payee_answer(fund, form: PayeeForm, status: int, on_card: bool):
    """Answer the payee form where it was typed: htmx gets the fund panel back (the error beside its field, what was
    typed kept, or the saved message in the panel); a plain POST from the card (?on=card) comes back to the card at
    #fund, one from the home page to the home page."""
    def panel() -> str:
        # Saved, the form shows what was stored (the account without its spaces), as finance will see it.
        shown = form if status != 200 else PayeeForm(formdata=None, obj=fund)
        return render_template("applicant/_fund.html", fund=fund, on_card=on_card, answering=True, payee_form=shown)
    if on_card:
        return answer(status, panel, lambda: card_page(fund.application, payee_form=form, answering=True,
                                                       refusal_inline=True),
                      done=url_for("applications.show", application_id=fund.application_id, _anchor="fund"))
    return answer(status, panel, lambda: _home(payee_form=form), done=url_for(".home"))


def _home(payee_form: PayeeForm | None = None) -> str:
    """The organisation's page: its applications, its fund and payee form (with what was typed, when refused)."""
    org = current_user.organisation
    applications = db.session.scalars(
        sa.select(Application).where(Application.organisation_id == org.id).order_by(Application.id.desc())).all()
    fund = fund_of(org.id)
    return render_template("applicant/home.html", org=org, current=open_application_of(org),
                           applications=applications, fund=fund, payee_form=payee_form or PayeeForm(obj=fund),
                           record_id=party_orgs.record_ids_of(organisation_ids=[org.id]).get(org.id),
                           renewal_due=party_orgs.renewal_due_of(org.id),
                           review=None if org.verified else registration_of(current_user))


@bp.get("/applicant/fund/bank-document")
def payee_document():
    """The bank document (开户许可证/银行回单) attached to the organisation's own payee."""
    fund = fund_of(current_user.organisation_id)
    if fund is None or fund.payee_document is None:
        abort(404)
    file = fund.payee_document
    return send_download(file.data, file.filename, fallback=f"bank-document-{fund.id}", inline=True)


# ---------------------------------------------------------------- the application form

@bp.route("/applications/new", methods=["GET", "POST"])
def new_application():
    org = current_user.organisation
    form = ApplicationForm()
    if request.method == "GET":
        form.formal_members.data, form.probationary_members.data = org.formal_members, org.probationary_members
        form.requested_kind.data = suggested_kind(org.formal_members, org.probationary_members).value
        return _form_page(form, [], org, None, [])
    return _post_form(form, org, None, lambda data: verbs.start_application(org, data, actor=current_user))


@bp.route("/applications/<int:application_id>/edit", methods=["GET", "POST"])
def edit_application(application_id: int):
    application = load(application_id)
    if not verbs.can_edit(application, current_user):
        flash(f"申请当前为“{application.state.label}”，不能修改。", "warning")
        return redirect(url_for("applications.show", application_id=application.id))
    if request.method == "GET":
        form = ApplicationForm(obj=application)
        form.load_project(application.project)
        form.version.data = application.version
        form.requested_kind.data = application.requested_kind.value
        return _form_page(form, [_row_of(m) for m in application.members], application.organisation, application, [])
    form = ApplicationForm()
    version = form_version(form.version.data)
    return _post_form(form, application.organisation, application, lambda data: verbs.save_application(
        application, data, actor=current_user, version=version) or application)


@bp.get("/applications/member-row")
def member_row():
    """One blank row of the member list, for the "add a member" button."""
    # Only the labels need the index, to pair with their inputs: any unique one will do.
    return render_template("applicant/_member_row.html", row={}, index=f"n{uuid4().hex[:8]}")


@bp.post("/applications/<int:application_id>/attachments/<int:attachment_id>/delete")
def delete_attachment(application_id: int, attachment_id: int):
    application = load(application_id)
    item = db.get_or_404(Attachment, attachment_id)
    name = item.file.filename
    run_verb(lambda: verbs.remove_attachment(application, item, actor=current_user,
                                             version=request.form.get("version", 0, type=int)),
             f"已删除附件“{name}”。", conflicts=())
    return redirect(url_for(".edit_application", application_id=application.id))


def _posted_rows() -> list[dict]:
    columns = [request.form.getlist(name) for name in MEMBER_FIELDS]
    rows = [dict(zip(MEMBER_FIELDS, values)) for values in zip(*columns)]
    return [r for r in rows if r["member_name"].strip() or r["member_joined"].strip()]


def _row_of(member) -> dict:
    return {"member_name": member.name, "member_gender": member.gender.value,
            "member_joined": member.joined_on.isoformat(), "member_status": member.status.value}


def _rows_for_form(rows: list[dict]) -> list[dict]:
    # Two blank rows to type into, so the form works without JavaScript too.
    return rows + [{}, {}]


def _read_application(form: ApplicationForm, rows: list[dict],
                      application: Application | None = None) -> ApplicationData | None:
    """Parse the form and its member rows; put each row's problem next to it. None if anything is wrong."""
    members, ok = [], form.validate()
    for row in rows:
        # error_field: which of the row's fields the message is about, marked invalid next to it.
        row["error"] = row["error_field"] = None
        try:
            joined = date.fromisoformat(row["member_joined"])
        except ValueError:
            row["error"], row["error_field"] = "请填写入党日期，格式如 2015-07-01", "member_joined"
            ok = False
            continue
        if not row["member_name"].strip() or len(row["member_name"]) > 40:
            row["error"], row["error_field"] = "请填写姓名（不超过40个字）", "member_name"
        elif refused := first_refused(row["member_name"]):
            row["error"], row["error_field"] = refusal("姓名", refused, multiline=False), "member_name"
        elif problem := join_date_problem(joined, MemberStatus._value2member_map_.get(row["member_status"]),
                                           getattr(application, "submitted_at", None)):
            row["error"], row["error_field"] = problem, "member_joined"
        elif row["member_gender"] not in Gender._value2member_map_ or \
                row["member_status"] not in MemberStatus._value2member_map_:
            row["error"], row["error_field"] = "请选择性别和党员类别", "member_status"
        if row["error"]:
            ok = False
            continue
        members.append(MemberRow(name=row["member_name"], gender=Gender(row["member_gender"]), joined_on=joined,
                                 status=MemberStatus(row["member_status"])))
    if not ok:
        return None
    return ApplicationData(
        requested_kind=PartyOrgKind(form.requested_kind.data), formal_members=form.formal_members.data,
        probationary_members=form.probationary_members.data, proposed_secretary=form.proposed_secretary.data or "",
        partner_organisations=form.partner_organisations.data or "", work_need=form.work_need.data,
        reasons=form.reasons.data or "", members=members, project=ProjectData(
            name=form.project_name.data or "", builder=form.project_builder.data or "",
            planned_start=form.project_start.data, planned_end=form.project_end.data,
            syncs=frozenset(column for column, _ in THREE_SYNCS if form[column].data)))


def _form_page(form: ApplicationForm, rows: list[dict], org, application: Application | None, kept: list,
               status: int = 200):
    return render_template("applicant/application_form.html", form=form, rows=_rows_for_form(rows), org=org,
                           application=application, kept=kept), status


def _post_form(form: ApplicationForm, org, application: Application | None, save):
    """The form's POST: `save` (start or save) what was read, attach the uploads, commit, and submit when asked;
    or the form again, 422, with everything typed and every acceptable file kept."""
    rows, files, kept_ids = _posted_rows(), _uploaded(form), posted_ids(request.form.getlist("kept_file"))
    if (data := _read_application(form, rows, application)) is not None:
        saved = []
        # A stale version is refused like any other problem here: the form, with what was typed, says why.
        status, _ = run_verb(lambda: saved.append(_attach_uploads(save(data), files, kept_ids)), None, form,
                             conflicts=(), validate=False)
        if status == 200:
            return _after_save(saved[0])
    return _form_page(form, rows, org, application, _keep_uploads(form, files, kept_ids), 422)


def _uploaded(form: ApplicationForm) -> list[tuple[str, bytes]]:
    """The files sent with this form, read once: a failed save keeps them after its rollback."""
    return [(upload.filename, upload.read()) for upload in form.attachments.data or [] if upload and upload.filename]


def _attach_uploads(application: Application, files: list[tuple[str, bytes]], kept_ids: list[int]) -> Application:
    for stored in verbs.kept_uploads(kept_ids, actor=current_user):
        verbs.attach_kept_upload(application, stored, actor=current_user, version=application.version)
    for filename, content in files:
        verbs.add_attachment(application, filename, content, actor=current_user, version=application.version)
    return application


def _keep_uploads(form: ApplicationForm, files: list[tuple[str, bytes]], kept_ids: list[int]) -> list:
    """After a failed save, keep every acceptable file sent (and those kept before), to list in the form again.

    A form with errors keeps everything typed, and a browser cannot refill a file input: without this the
    applicant would have to find and choose each file again."""
    kept = verbs.kept_uploads(kept_ids, actor=current_user)
    for filename, content in files:
        try:
            stored = verbs.keep_upload(filename, content, actor=current_user)
            if stored not in kept:  # the same file kept before comes back as that one
                kept.append(stored)
        except DomainError as error:
            if error.message not in form.attachments.errors:
                show_domain_error(error, form)
    db.session.commit()
    return kept


def _after_save(application: Application):
    """After the saved draft's commit: with the submit button, submit it too."""
    if "submit" not in request.form:
        flash("已保存草稿。", "success")
        return redirect(url_for("applications.show", application_id=application.id))
    try:
        verbs.submit_application(application, actor=current_user, version=application.version)
    except DomainError as error:
        db.session.rollback()  # the draft stays saved; say what still stands in the way
        flash("已保存。" + error.message, "warning")
        return redirect(url_for(".edit_application", application_id=application.id))
    db.session.commit()
    flash("申请已提交，请等待初审单位审核。", "success")
    return redirect(url_for("applications.show", application_id=application.id))
