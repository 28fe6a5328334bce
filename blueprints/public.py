"""Pages anyone may see: the landing page, which sends a logged-in user to their own home, and the verification of
issued documents."""
import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, request
from flask_login import current_user

from domain.documents import check_signature, check_upload, log_view
from extensions import limiter
from models import Document, db

from . import posted_file, run_verb
from .forms import VerifyUploadForm
from .nav import home_url

bp = Blueprint("public", __name__)
VERIFY_LIMIT = "30 per minute"  # per address: each page checks a signature
# Per address, over both upload forms together: each upload reads up to 10 MB and checks it in a child process for up
# to 5 s (domain/signing.py, verify_upload), so that one address keeps at most a sixth of a core busy, not 2.5 cores.
UPLOAD_LIMIT = limiter.shared_limit("10 per minute", scope="verify-upload", methods=["POST"])


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    return render_template("public/index.html")


@bp.route("/verify/<token>", methods=["GET", "POST"])
@limiter.limit(VERIFY_LIMIT)
@UPLOAD_LIMIT
def verify(token: str):
    """The public verification page behind each document's QR code: no login, rate-limited. An uploaded file is
    compared with this document."""
    document = db.session.scalar(sa.select(Document).filter_by(token=token))
    if document is None:
        # Whoever scanned a code or typed a link should learn that the document could not be verified, not
        # that a page is missing: a forged document's code leads here.
        return render_template("public/verify_unknown.html"), 404
    form, status, upload = _checked_upload(document)
    if request.method == "GET":
        log_view(document, request.remote_addr or "")
        db.session.commit()
    return render_template("public/verify.html", document=document, form=form, upload=upload,
                           signature=check_signature(document)), status


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit(VERIFY_LIMIT)
@UPLOAD_LIMIT
def verify_upload():
    """Check a PDF against the register without its code: anyone uploads it and learns which issued document it is
    byte for byte, if any, and whether its signature holds."""
    form, status, upload = _checked_upload(None)
    return render_template("public/verify_upload.html", form=form, upload=upload), status


def _checked_upload(document: Document | None):
    """The upload form, its status, and on a POST the check of the file it carried (None when refused)."""
    form, checked = VerifyUploadForm(), []
    if request.method != "POST":
        return form, 200, None
    status, _ = run_verb(lambda: checked.append(check_upload(*posted_file(form.file), request.remote_addr or "",
                                                             document)), None, form)
    return form, status, checked[0] if checked else None
