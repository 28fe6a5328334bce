"""Pages anyone may see: the landing page, which sends a logged-in user to their own home."""
from flask import Blueprint, redirect, render_template
from flask_login import current_user

from .nav import home_url

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    return render_template("public/index.html")
