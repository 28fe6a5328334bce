"""Pages anyone may see: the landing page, which sends a logged-in user to their own home."""
import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request
from flask_login import current_user

from domain.documents import check_file, check_signature, log_view
from extensions import limiter
from models import Document, db

from .nav import home_url

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    return render_template("public/index.html")


@bp.route("/verify/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute")
def verify(token: str):
    """The public verification page behind each document's QR code: no login, rate-limited."""
    document = db.session.scalar(sa.select(Document).filter_by(token=token))
    if document is None:
        # Whoever scanned a code or typed a link should learn that the document could not be verified, not
        # that a page is missing: a forged document's code leads here.
        return render_template("public/verify_unknown.html"), 404
    matched = None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash("请选择要核验的 PDF 文件。", "warning")
        else:
            matched = check_file(document, upload.read(), request.remote_addr or "")
    else:
        log_view(document, request.remote_addr or "")
    db.session.commit()
    return render_template("public/verify.html", document=document, matched=matched,
                           signature=check_signature(document))
