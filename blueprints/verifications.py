"""注册核实: the unit reviewer's (and the admin's) queue of self-registrations, each decided beside its certificate;
and the admin's detaching of a contact."""

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user

from domain.registrations import detach_contact, refuse_registration, verification_queue, verify_registration
from models import RegistrationReview, Role, User, db

from . import role_wall, run_verb, send_download
from .forms import EmptyForm

bp = Blueprint("verifications", __name__, url_prefix="/verifications")
role_wall(bp)


def _load(review_id: int) -> RegistrationReview:
    """A registration this official may see: their unit's (any, for the admin); another's is not found."""
    review = db.get_or_404(RegistrationReview, review_id)
    if current_user.role is Role.UNIT_REVIEWER and review.organisation.unit_id != current_user.unit_id:
        abort(404)
    return review


@bp.get("/")
def queue():
    return render_template("verifications/queue.html", reviews=verification_queue(current_user), form=EmptyForm())


@bp.get("/<int:review_id>/certificate")
def certificate(review_id: int):
    """The certificate as uploaded, shown inline beside the queue (a PDF or an image, checked by its content)."""
    stored = _load(review_id).certificate
    if stored is None:
        abort(404)
    return send_download(stored.data, stored.filename, fallback=f"certificate-{review_id}",
                         mimetype=stored.content_type, inline=True, etag=stored.sha256)


@bp.post("/<int:review_id>/verify")
def verify(review_id: int):
    review = _load(review_id)
    run_verb(lambda: verify_registration(review, actor=current_user), f"已核实通过：{review.organisation.name}。",
             EmptyForm())
    return redirect(url_for("verifications.queue"))


@bp.post("/<int:review_id>/refuse")
def refuse(review_id: int):
    review = _load(review_id)
    run_verb(lambda: refuse_registration(review, request.form.get("reason", ""), actor=current_user),
             f"已记录核实不通过：{review.organisation.name}。", EmptyForm())
    return redirect(url_for("verifications.queue"))


@bp.post("/contacts/<int:user_id>/detach")
def detach(user_id: int):
    if current_user.role is not Role.ADMIN:
        abort(403)
    contact = db.get_or_404(User, user_id)
    run_verb(lambda: detach_contact(contact, request.form.get("reason", ""), actor=current_user),
             f"已解除联系人 {contact.username}。", EmptyForm())
    return redirect(url_for("admin.home", role="applicant"))
