"""代理: an official names a substitute for the days they are away, sees whom they stand in for, and may end a span
early; the admin sees every span and may end any."""
from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user

from domain.substitutes import (
    SubstituteData, all_running_or_planned, back_on, can_end, candidates, end_substitution, first_day, has_begun,
    name_substitute, spans_of,
)
from extensions import db
from models import Role, Substitution

from . import role_wall, run_verb
from .forms import SubstituteForm, options

bp = Blueprint("substitutes", __name__, url_prefix="/substitutes")
role_wall(bp)


@bp.route("/", methods=["GET", "POST"])
def home():
    if current_user.role is Role.ADMIN:
        return render_template("substitutes/home.html", everyone=all_running_or_planned(), first_day=first_day,
                               back_on=back_on, has_begun=has_begun)
    form = SubstituteForm()
    form.substitute_id.choices = options([(0, "请选择"), *((u.id, u.name) for u in candidates(current_user))])
    if form.is_submitted() and run_verb(lambda: name_substitute(current_user, SubstituteData(
            form.substitute_id.data or None, form.starts_on.data, form.ends_on.data, form.reason.data or "")),
            "代理人已指定。", form)[0] == 200:
        return redirect(url_for("substitutes.home"))
    mine, standing_in = spans_of(current_user)
    return render_template("substitutes/home.html", form=form, mine=mine, standing_in=standing_in,
                           first_day=first_day, back_on=back_on, has_begun=has_begun)


@bp.post("/<int:substitution_id>/end")
def end(substitution_id: int):
    substitution = db.session.get(Substitution, substitution_id)
    if substitution is None or not can_end(substitution, current_user):
        abort(404)  # another official's span is none of this one's business
    run_verb(lambda: end_substitution(substitution, actor=current_user), "代理已结束。")
    return redirect(url_for("substitutes.home"))
