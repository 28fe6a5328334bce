"""The administrator's pages: officials' accounts, deactivation, password resets, fund standards."""
import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from domain import DomainError
from domain.accounts import create_official, reset_password, set_account_active
from domain.funds import set_fund_standard, standards_history
from domain.reference import list_units
from models import Instructor, PartyOrgKind, Role, Unit, User, db

from . import role_wall, show_domain_error
from .forms import EmptyForm, FundStandardForm, OfficialForm, PasswordResetForm, options

bp = Blueprint("admin", __name__, url_prefix="/admin")
role_wall(bp, Role.ADMIN)


@bp.get("/")
def home():
    role = request.args.get("role", "")
    query = sa.select(User).order_by(User.role, User.username)
    if role in Role._value2member_map_:
        query = query.where(User.role == Role(role))
    page = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=50, error_out=False)
    return render_template("admin/home.html", page=page, role=role, roles=Role, form=EmptyForm())


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    form = OfficialForm()
    form.unit_id.choices = options([(0, "（不适用）")] + [(u.id, u.name) for u in list_units()])
    instructors = db.session.scalars(sa.select(Instructor).where(Instructor.active).order_by(Instructor.name))
    form.instructor_id.choices = options(
        [(0, "（不适用）")] + [(i.id, f"{i.name}（{i.home_organ}）") for i in instructors])
    if form.validate_on_submit():
        try:
            user = create_official(
                username=form.username.data, name=form.name.data, role=Role(form.role.data),
                password=form.password.data, actor=current_user,
                unit=db.session.get(Unit, form.unit_id.data) if form.unit_id.data else None,
                instructor=db.session.get(Instructor, form.instructor_id.data) if form.instructor_id.data else None,
            )
        except DomainError as error:
            db.session.rollback()
            show_domain_error(error, form)
        else:
            db.session.commit()
            flash(f"已创建账号 {user.username}。", "success")
            return redirect(url_for("admin.home"))
    return render_template("admin/new_user.html", form=form)


@bp.post("/users/<int:user_id>/active")
def toggle_active(user_id: int):
    user = db.get_or_404(User, user_id)
    try:
        set_account_active(user, request.form.get("active") == "1", actor=current_user)
        db.session.commit()
    except DomainError as error:
        show_domain_error(error)
    if not request.headers.get("HX-Request"):
        return redirect(url_for("admin.home"))
    return render_template("admin/_user_row.html", user=user, form=EmptyForm())


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
def reset_user_password(user_id: int):
    user = db.get_or_404(User, user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            reset_password(user, form.password.data, actor=current_user)
        except DomainError as error:
            show_domain_error(error, form)
        else:
            db.session.commit()
            flash(f"已重置 {user.username} 的密码，请通知本人登录后修改。", "success")
            return redirect(url_for("admin.home"))
    return render_template("admin/password.html", form=form, user=user)


@bp.route("/fund-standards", methods=["GET", "POST"])
def fund_standards():
    form = FundStandardForm()
    if form.validate_on_submit():
        try:
            standard = set_fund_standard(PartyOrgKind(form.party_org_kind.data), form.amount.data,
                                         form.effective_from.data, actor=current_user, note=form.note.data or "")
        except DomainError as error:
            db.session.rollback()
            show_domain_error(error, form)
        else:
            db.session.commit()
            flash(f"已设定{standard.party_org_kind.label}的经费标准：自 {standard.effective_from:%Y-%m-%d} 起 "
                  f"{standard.amount} 元。", "success")
            return redirect(url_for("admin.fund_standards"))
    return render_template("admin/fund_standards.html", form=form, standards=standards_history()), \
        422 if form.is_submitted() else 200
