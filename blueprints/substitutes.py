"""代理: an official names a substitute for the days they are away, and sees whom they stand in for."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from domain import DomainError
from domain.substitutes import SubstituteData, back_on, candidates, first_day, name_substitute, spans_of
from extensions import db

from . import role_wall, show_domain_error
from .forms import SubstituteForm, options

bp = Blueprint("substitutes", __name__, url_prefix="/substitutes")
role_wall(bp)


@bp.route("/", methods=["GET", "POST"])
def home():
    form = SubstituteForm()
    form.substitute_id.choices = options([(0, "请选择"), *((u.id, u.name) for u in candidates(current_user))])
    if form.validate_on_submit():
        try:
            name_substitute(current_user, SubstituteData(form.substitute_id.data or None, form.starts_on.data,
                                                         form.ends_on.data, form.reason.data or ""))
        except DomainError as error:
            db.session.rollback()
            show_domain_error(error, form)
        else:
            db.session.commit()
            flash("代理人已指定。", "success")
            return redirect(url_for("substitutes.home"))
    mine, standing_in = spans_of(current_user)
    return render_template("substitutes/home.html", form=form, mine=mine, standing_in=standing_in,
                           first_day=first_day, back_on=back_on)
