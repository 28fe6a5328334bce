"""The administrator's pages: officials' accounts, deactivation, password resets, fund standards."""
import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from domain import DomainError, outbox, party_orgs
from domain.accounts import create_official, reset_password, set_account_active, set_contact
from domain.documents import revoke_document
from domain.fonts import ROLE_LABELS, ROLES, fonts_in_use, remove_document_font, set_document_font
from domain.funds import set_fund_standard, standards_history
from domain.instructors import (
    IMPORT_COLUMNS, InstructorData, create_instructor, current_loads, import_instructors, set_instructor_active,
    update_instructor,
)
from domain.paging import paginate
from domain.reference import list_units, update_unit
from domain.settings import DEFAULTS, LABELS, get_settings, set_seal, update_settings
from models import Document, Instructor, PartyOrgKind, Role, Unit, User, db

from . import answer, page_arg, posted_file, role_wall, run_verb, send_download
from .forms import (
    ContactForm, EmptyForm, FontUploadForm, FundStandardForm, InstructorForm, OfficialForm, PasswordResetForm,
    TermLengthForm, UnitForm, options,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")
role_wall(bp)


@bp.get("/")
def home():
    role = request.args.get("role", "")
    query = sa.select(User).order_by(User.role, User.username)
    if role in Role._value2member_map_:
        query = query.where(User.role == Role(role))
    page = paginate(query, page_arg())
    return render_template("admin/home.html", page=page, role=role, roles=Role, form=EmptyForm())


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    form = _official_form()
    if form.validate_on_submit():
        status, _ = run_verb(lambda: create_official(
            username=form.username.data, name=form.name.data, role=Role(form.role.data),
            password=form.password.data, actor=current_user,
            unit=db.session.get(Unit, form.unit_id.data) if form.unit_id.data else None,
            instructor=db.session.get(Instructor, form.instructor_id.data) if form.instructor_id.data else None,
            email=form.email.data or "", mobile=form.mobile.data or "",
        ), f"已创建账号 {form.username.data}。", form, validate=False)
        if status == 200:
            return redirect(url_for("admin.home"))
    return render_template("admin/new_user.html", form=form)


def _official_form() -> OfficialForm:
    """The new official's form, its unit and instructor lists filled (（不适用） for roles without one)."""
    form = OfficialForm()
    form.unit_id.choices = options([(0, "（不适用）")] + [(u.id, u.name) for u in list_units()])
    instructors = db.session.scalars(sa.select(Instructor).where(Instructor.active).order_by(Instructor.name))
    form.instructor_id.choices = options(
        [(0, "（不适用）")] + [(i.id, f"{i.name}（{i.home_organ}）") for i in instructors])
    return form


@bp.post("/users/<int:user_id>/active")
def toggle_active(user_id: int):
    user = db.get_or_404(User, user_id)
    active = request.form.get("active") == "1"
    status, _ = run_verb(lambda: set_account_active(user, active, actor=current_user),
                         f"已{'启用' if active else '停用'}账号 {user.username}。")
    return answer(status, lambda: render_template("admin/_user_row.html", user=user, form=EmptyForm()),
                  done=url_for("admin.home"))


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
def reset_user_password(user_id: int):
    user = db.get_or_404(User, user_id)
    form = PasswordResetForm()
    if form.validate_on_submit() and run_verb(lambda: reset_password(user, form.password.data, actor=current_user),
                                              f"已重置 {user.username} 的密码，请通知本人登录后修改。", form,
                                              validate=False)[0] == 200:
        return redirect(url_for("admin.home"))
    return render_template("admin/password.html", form=form, user=user)


@bp.route("/users/<int:user_id>/contact", methods=["GET", "POST"])
def user_contact(user_id: int):
    user = db.get_or_404(User, user_id)
    form = ContactForm(obj=user)
    if form.validate_on_submit() and run_verb(
            lambda: set_contact(user, email=form.email.data or "", mobile=form.mobile.data or "", actor=current_user),
            f"已保存 {user.username} 的通知邮箱和手机号码。", form, validate=False)[0] == 200:
        return redirect(url_for("admin.home"))
    return render_template("admin/contact.html", form=form, user=user)


@bp.get("/documents")
def documents():
    page = paginate(sa.select(Document).order_by(Document.id.desc()), page_arg())
    return render_template("admin/documents.html", page=page, form=EmptyForm())


@bp.get("/outbox")
def outbox_page():
    page = paginate(outbox.listing(), page_arg())
    return render_template("admin/outbox.html", page=page)


@bp.post("/documents/<int:document_id>/revoke")
def revoke(document_id: int):
    document = db.get_or_404(Document, document_id)
    run_verb(lambda: revoke_document(document, request.form.get("reason", ""), actor=current_user),
             f"已撤销{document.number}。")
    return redirect(url_for("admin.documents"))


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    values, status = get_settings(), 200
    if request.method == "POST":
        posted, seal = {key: request.form.get(key, "") for key in LABELS}, request.files.get("seal")
        status, _ = run_verb(lambda: _save_settings(posted, seal), "设置已保存，新印发的文件将使用新设置；已印发的文件不变。")
        if status == 200:
            return redirect(url_for("admin.settings"))
        values.update(posted)
    return _settings_page(values), status


def _save_settings(values: dict[str, str], seal) -> None:
    """The settings page's one save: its values, and the seal when one was chosen."""
    update_settings(values, actor=current_user)
    if seal is not None and seal.filename:
        set_seal(seal.filename, seal.read(), actor=current_user)


@bp.post("/settings/fonts/<any(body, title):role>")
def upload_font(role: str):
    form = FontUploadForm()
    status, _ = run_verb(lambda: set_document_font(role, *posted_file(form.font), actor=current_user), lambda done: (
        f"已上传{ROLE_LABELS[role]}字体“{done[0].filename.rsplit('.', 1)[0]}”，新印发的文件将使用该字体；"
        f"已印发的文件不变。{done[1]}"), form)
    if status == 200:
        return redirect(url_for("admin.settings"))
    return _settings_page(get_settings(), {role: form}), status


@bp.post("/settings/fonts/<any(body, title):role>/remove")
def remove_font(role: str):
    run_verb(lambda: remove_document_font(role, actor=current_user),
             f"已停用上传的{ROLE_LABELS[role]}字体，新印发的文件将使用替代字体。", EmptyForm())
    return redirect(url_for("admin.settings"))


def _settings_page(values: dict[str, str], font_forms: dict | None = None):
    font_forms = {role: FontUploadForm(formdata=None) for role in ROLES} | (font_forms or {})
    return render_template("admin/settings.html", values=values, labels=LABELS, defaults=DEFAULTS, form=EmptyForm(),
                           fonts=fonts_in_use(values), font_forms=font_forms, role_labels=ROLE_LABELS)


# ---------------------------------------------------------------- units

@bp.get("/units")
def units():
    return render_template("admin/units.html", units=list_units(), issuing_organ=get_settings()["issuing_organ"])


@bp.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
def unit_form(unit_id: int):
    unit = db.get_or_404(Unit, unit_id)
    form = UnitForm(obj=unit)
    status, _ = 200, False
    if request.method == "POST":
        status, _ = run_verb(lambda: update_unit(unit, form.name.data or "", form.superior.data or "",
                                                 actor=current_user), "已保存初审单位。", form)
        if status == 200:
            return redirect(url_for("admin.units"))
    return render_template("admin/unit_form.html", form=form, unit=unit,
                           issuing_organ=get_settings()["issuing_organ"]), status


# ---------------------------------------------------------------- instructors

@bp.get("/instructors")
def instructors():
    q = request.args.get("q", "").strip()
    query = sa.select(Instructor).options(selectinload(Instructor.units)).order_by(Instructor.active.desc(),
                                                                                   Instructor.name)
    if q:
        query = query.where(sa.or_(Instructor.name.contains(q, autoescape=True),
                                   Instructor.home_organ.contains(q, autoescape=True)))
    page = paginate(query, page_arg())
    # The loads of this page's instructors only: the full load table (per unit, every instructor again) was
    # two queries and 61 more objects for one number per row.
    loads = current_loads([i.id for i in page.items])
    return render_template("admin/instructors.html", page=page, q=q, loads=loads, form=EmptyForm())


@bp.route("/instructors/new", methods=["GET", "POST"])
@bp.route("/instructors/<int:instructor_id>/edit", methods=["GET", "POST"])
def instructor_form(instructor_id: int | None = None):
    instructor = db.get_or_404(Instructor, instructor_id) if instructor_id else None
    units = list_units()
    form = _instructor_form(instructor, units)
    if form.validate_on_submit():
        data = InstructorData(name=form.name.data, home_organ=form.home_organ.data, phone=form.phone.data or "",
                              capacity=form.capacity.data, units=[u for u in units if u.id in form.unit_ids.data])
        verb = (lambda: create_instructor(data, actor=current_user)) if instructor is None else \
            (lambda: update_instructor(instructor, data, actor=current_user))
        status, _ = run_verb(verb, f"已保存党建指导员{data.name.strip()}。", form, validate=False)
        if status == 200:
            return redirect(url_for("admin.instructors"))
    return render_template("admin/instructor_form.html", form=form, instructor=instructor)


def _instructor_form(instructor: Instructor | None, units: list[Unit]) -> InstructorForm:
    """The instructor's form: on a GET, their units ticked, or a new one's capacity the zone's default."""
    form = InstructorForm(obj=instructor)
    form.unit_ids.choices = options((u.id, u.name) for u in units)
    if request.method == "GET":
        form.unit_ids.data = [u.id for u in instructor.units] if instructor else []
        if instructor is None:
            form.capacity.data = int(get_settings()["instructor_capacity"])
    return form


@bp.post("/instructors/<int:instructor_id>/active")
def instructor_active(instructor_id: int):
    instructor = db.get_or_404(Instructor, instructor_id)
    active = request.form.get("active") == "1"
    run_verb(lambda: set_instructor_active(instructor, active, actor=current_user),
             f"已{'启用' if active else '停用'}{instructor.name}。")
    return redirect(url_for("admin.instructors"))


@bp.route("/instructors/import", methods=["GET", "POST"])
def import_instructors_page():
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise DomainError("请选择要导入的 XLSX 或 CSV 文件")
            count = import_instructors(upload.filename, upload.read(), list_units(),
                                       int(get_settings()["instructor_capacity"]), actor=current_user)
            db.session.commit()
            flash(f"已导入 {count} 名党建指导员。", "success")
            return redirect(url_for("admin.instructors"))
        except DomainError as error:
            db.session.rollback()
            problems = [error.message, *getattr(error, "problems", [])]
            return render_template("admin/instructor_import.html", problems=problems, columns=IMPORT_COLUMNS,
                                   form=EmptyForm()), 422
    return render_template("admin/instructor_import.html", problems=[], columns=IMPORT_COLUMNS, form=EmptyForm())


@bp.get("/instructors/template.xlsx")
def instructor_template():
    from io import BytesIO

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "党建指导员"
    sheet.append(IMPORT_COLUMNS)
    sheet.append(["王建国", "开发区党群工作部", "13904751234", "新型工业园区党委、综合物流园区党委", 3])
    for column, width in zip("ABCDE", (12, 24, 16, 40, 16)):
        sheet.column_dimensions[column].width = width
    out = BytesIO()
    book.save(out)
    return send_download(out.getvalue(), "党建指导员导入模板.xlsx", fallback="instructor-template")


@bp.route("/term-lengths", methods=["GET", "POST"])
def term_lengths():
    form, status = TermLengthForm(), 200
    if form.is_submitted():
        status, _ = run_verb(lambda: party_orgs.set_term_length(
            PartyOrgKind(form.party_org_kind.data), form.years.data, actor=current_user),
            lambda row: f"已将{row.kind.label}的每届任期设为{row.years}年。", form)
        if status == 200:
            return redirect(url_for("admin.term_lengths"))
    return render_template("admin/term_lengths.html", form=form, lengths=party_orgs.term_lengths()), status


@bp.route("/fund-standards", methods=["GET", "POST"])
def fund_standards():
    form, status = FundStandardForm(), 200
    if form.is_submitted():
        status, _ = run_verb(lambda: set_fund_standard(
            PartyOrgKind(form.party_org_kind.data), form.amount.data, form.effective_from.data, actor=current_user,
            note=form.note.data or ""), lambda standard: f"已设定{standard.party_org_kind.label}的经费标准："
            f"自 {standard.effective_from:%Y-%m-%d} 起 {standard.amount} 元。", form)
        if status == 200:
            return redirect(url_for("admin.fund_standards"))
    return render_template("admin/fund_standards.html", form=form, standards=standards_history()), status
