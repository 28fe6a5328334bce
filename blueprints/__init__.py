"""One blueprint per actor or area. Each is walled off to its roles by `role_wall`, as nav.py's AREAS declares."""
import mimetypes
import re
from collections.abc import Callable
from io import BytesIO
from urllib.parse import quote

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, send_file
from flask_login import current_user
from flask_wtf import FlaskForm

from domain import DomainError, StaleError
from domain.files import clean_filename
from extensions import db, login_manager

from .nav import AREAS


def role_wall(bp: Blueprint) -> None:
    """Let only logged-in users of the roles bp's area admits (nav.py, AREAS) into any route of bp (the outer wall)."""
    roles = frozenset(AREAS[bp.name].roles)

    @bp.before_request
    def _wall():
        if not current_user.is_authenticated:
            if request.headers.get("HX-Request"):
                # htmx would follow the redirect to the login page and swap that whole page into the card,
                # dropping what was typed. A 401 leaves the page as it is and shows why (errors/_alert.html).
                abort(401)
            return login_manager.unauthorized()
        if current_user.role not in roles:
            abort(403)


def show_domain_error(error: DomainError, form: FlaskForm | None = None) -> None:
    """Put a refusal next to its field when the form has one, otherwise in a flash message."""
    field = getattr(form, error.field, None) if form is not None and error.field else None
    if field is not None:
        if error.message not in field.errors:  # a form's own error raised again as a refusal shows once
            field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "danger")


def page_arg() -> int:
    """The page of a list this request asks for (?page=; 1 when absent or not a number). A page past the last, or a
    number too large for the database, is each list's to handle (domain/paging.py, web/errors.py's DataError
    handler)."""
    return request.args.get("page", 1, type=int)


def answer(status: int, fragment: Callable[[], str], page: Callable[[], str] | None = None, *,
           done: str | None = None, trigger: str | None = None):
    """The one answer to "htmx or not": an htmx request gets `fragment()`, the part of the page that changed, with
    `status`; any other request is redirected to `done` when it succeeded (reload-safe), or always when there is no
    `page`; else it gets `page()`, the full page (a refusal with what was typed), with `status`. `trigger` is the
    HX-Trigger event that follows an action (counts-changed refreshes the navigation's counters)."""
    htmx = bool(request.headers.get("HX-Request"))
    if not htmx and done is not None and (status == 200 or page is None):
        return redirect(done)
    response = make_response((fragment if htmx else page)(), status)
    response.vary.add("HX-Request")  # caches must not serve the fragment for the page, or back
    if trigger:
        response.headers["HX-Trigger"] = trigger
    return response


def render_partial(full: str, partial: str, page_only: Callable[[], dict] | None = None, **context):
    """An htmx request gets the partial alone; a normal one the full page that includes it. `page_only()` gives what
    only the full page shows (a filter's choices, a panel above the table): the partial does not query it."""
    return answer(200, lambda: render_template(partial, **context),
                  lambda: render_template(full, **context, **(page_only() if page_only else {})))


def posted_ids(values: list[str]) -> list[int]:
    """The ids a form posted (checkboxes, kept files). Anything but a plausible id is not one: ASCII digits only
    ("²" and full-width digits pass isdigit), and short enough for a 64-bit column."""
    return [int(v) for v in values if v.isascii() and v.isdigit() and len(v) <= 18]


def form_version(value) -> int:
    """The version a page posted back; garbage counts as a stale page, never as a crash."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def posted_file(field) -> tuple[str, bytes] | None:
    """A file field's upload as (filename, data), or None when nothing was chosen."""
    upload = field.data
    return (upload.filename, upload.read()) if upload and upload.filename else None


def run_verb(verb, done: str | Callable | None, form: FlaskForm | None = None, conflicts: tuple = (StaleError,),
             validate: bool = True) -> tuple[int, bool]:
    """Validate the form, run one domain verb, commit, and say how it went, for every action route:
    (200, False) done; (409, False) someone acted first; (422, True) refused, the form keeps what was typed.
    `done` is what to say once committed, or a function of what the verb returned that says it. A check that
    changes nothing (a confirmation's preview) runs here too, with no `done` to say."""
    if validate and form is not None and not form.validate():
        return 422, True
    try:
        result = verb()
        db.session.commit()
        if done:
            flash(done(result) if callable(done) else done, "success")
        return 200, False
    except conflicts as error:
        db.session.rollback()
        flash(error.message, "warning")
        return 409, False
    except DomainError as error:
        db.session.rollback()
        show_domain_error(error, form)
        return 422, True


def content_disposition(name: str, fallback: str, *, inline: bool = False) -> str:
    """The Content-Disposition of a file called `name` (RFC 6266): `fallback` plus name's extension as the ASCII
    `filename` for old clients, and the real, Chinese name as RFC 5987's `filename*`. Parts of a name come from
    what users typed (an organisation's name, an uploaded file's): quotes, slashes, control characters and line
    breaks never reach the header."""
    match = re.search(r"\.[A-Za-z0-9]{1,5}$", name)
    extension = match.group() if match else ""
    name = clean_filename(re.sub(r"[\\/]", "_", name), extension)
    fallback = (re.sub(r"[^A-Za-z0-9_-]+", "_", fallback).strip("_") or "download") + extension
    # RFC 5987's attr-chars stay as they are; everything else (Chinese, %, ;, space) is percent-encoded UTF-8.
    encoded = quote(name, safe="!#$&+-.^_`|~")
    return f"{'inline' if inline else 'attachment'}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def send_download(data: bytes, name: str, *, fallback: str, mimetype: str | None = None, inline: bool = False,
                  etag: str | None = None):
    """Send bytes as the file `name` (Chinese is welcome): every download of the app goes through here. `fallback`
    is an ASCII stem for clients that cannot read `filename*`; `inline` lets a browser show the file in place."""
    mimetype = mimetype or mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = send_file(BytesIO(data), mimetype=mimetype, etag=etag or False)
    response.headers["Content-Disposition"] = content_disposition(name, fallback, inline=inline)
    return response
