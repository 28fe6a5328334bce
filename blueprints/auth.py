"""Login, logout and an organisation's self-registration."""
import re
from urllib.parse import unquote, urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from domain import DomainError
from domain.accounts import (
    LoginLimits, Registration, authenticate, change_password, end_session, register_organisation, session_user,
    set_contact, start_session,
)
from domain.preferences import EVENTS, PERSONAL_CHANNELS, choice_value, parse_choice, preferences_of, set_preferences
from domain.reference import list_units, suggest_unit
from extensions import limiter, login_manager
from models import OrgKind, Role, db

from . import run_verb, show_domain_error
from .forms import LoginForm, NoticeSettingsForm, PasswordChangeForm, RegistrationForm, options
from .nav import home_url

bp = Blueprint("auth", __name__, url_prefix="/auth")
LOGIN_TOKEN = "login_token"  # the session cookie's key for its login's row (LoginSession)


@login_manager.user_loader
def _load_user(user_id: str):
    # The signed cookie is not enough: its login must not have ended (logout, a new password, deactivation).
    return session_user(int(user_id), session.get(LOGIN_TOKEN))


def sign_in(user) -> None:
    """Log this browser in: a login row of its own, named in the signed session cookie. A login the browser
    still had ends here. The session's CSRF token stays: a page left open in another tab while the user logged in
    again can still send what was typed in it (the 401 alert tells them to do just that)."""
    end_session(session.get(LOGIN_TOKEN))
    token = start_session(user)
    db.session.commit()
    session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME without a request
    session[LOGIN_TOKEN] = token
    login_user(user)


def _safe_next(target: str | None) -> str | None:
    """`target` if it is a path of this site, else None (the caller then goes to the role's home).

    An open redirect would let a phishing link pass through our login page, and browsers read more as another
    origin than "//host": a backslash as a slash, tabs and newlines dropped, "https:host" without slashes, and
    each of these percent-encoded, once or more. So the path (before any ? or #) must start with one slash and hold
    printable ASCII only (no look-alike such as the full-width solidus), in every decoding of it; and nowhere in the
    target, decoded or not, may there be a backslash or a control character."""
    if not target or not target.startswith("/"):
        return None
    forms, text = [target], target
    for _ in range(4):  # %252F%252F is %2F%2F once decoded, and // twice
        text = unquote(text)
        if text == forms[-1]:
            break
        forms.append(text)
    else:
        return None  # still changing: encoded more deeply than any link of ours
    for form in forms:
        path = re.split(r"[?#]", form, maxsplit=1)[0]
        if (not path.startswith("/") or path[1:2] in ("/", "\\") or not _PLAIN_PATH.fullmatch(path)
                or "\\" in form or _CONTROL.search(form)):
            return None
        parts = urlsplit(form)
        if parts.scheme or parts.netloc:
            return None
    return target


_PLAIN_PATH = re.compile(r"[!-~]*")  # printable ASCII, no space
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@bp.before_app_request
def _own_password_first():
    """An account whose password an administrator set (a new account, a reset) opens nothing but the password change
    and the logout until its owner has chosen their own."""
    if request.endpoint in ("static", "auth.password", "auth.logout") or not current_user.is_authenticated:
        return None
    if not current_user.must_change_password:
        return None
    message = "管理员为您设置的密码只能使用一次，请先设置您自己的新密码，再继续使用系统。"
    if request.headers.get("HX-Request"):
        return render_template("errors/_alert.html", code=403, message=message), 403
    flash(message, "warning")
    return redirect(url_for("auth.password"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])  # per address, besides the lockout
def login():
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        config = current_app.config
        try:
            # remote_addr is the client's own address behind TRUSTED_PROXIES (ProxyFix), the proxy's otherwise
            user = authenticate(form.username.data, form.password.data, address=request.remote_addr, limits=LoginLimits(
                max_failures=config["LOGIN_LOCKOUT_FAILURES"], lock_minutes=config["LOGIN_LOCKOUT_MINUTES"],
                max_delay_seconds=config["LOGIN_DELAY_MAX_SECONDS"]))
        except DomainError as error:
            db.session.commit()  # keep the failure count
            show_domain_error(error)
        else:
            sign_in(user)
            if user.must_change_password:
                return redirect(url_for("auth.password"))  # _own_password_first says why
            return redirect(_safe_next(request.args.get("next")) or home_url(user))
    return render_template("auth/login.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        tokens = []  # this browser's new login; the old cookie is worth nothing now
        status, _ = run_verb(lambda: tokens.append(change_password(current_user, form.current.data,
                                                                   form.password.data)),
                             "密码已修改。本账号在其他浏览器或设备上的登录已退出，需用新密码重新登录。", form, validate=False)
        if status == 200:
            session[LOGIN_TOKEN] = tokens[0]
            return redirect(home_url(current_user))
    return render_template("auth/password.html", form=form)


@bp.route("/notices", methods=["GET", "POST"])
@login_required
def notice_settings():
    """通知设置: which notices reach the person by e-mail or SMS; a contact also sets their own addresses here."""
    own_contact = current_user.role is Role.APPLICANT  # an official's addresses are set by the administrator
    form = _notice_form(own_contact)
    if form.validate_on_submit():
        status, _ = run_verb(lambda: _save_notice_settings(form, own_contact), "通知设置已保存。", form, validate=False)
        if status == 200:
            return redirect(url_for("auth.notice_settings"))
    return render_template("auth/notices.html", form=form, events=EVENTS, channels=PERSONAL_CHANNELS,
                           chosen=set(form.wanted.data or []), choice_value=choice_value, own_contact=own_contact,
                           mail_on=bool(current_app.config["MAIL_SERVER"]))


def _notice_form(own_contact: bool) -> NoticeSettingsForm:
    """The notice settings' form: one box per event and channel, ticked as chosen on a GET; the address fields
    only for a person who sets their own."""
    form = NoticeSettingsForm(obj=current_user if request.method == "GET" else None)
    if not own_contact:
        del form.email, form.mobile
    chosen = preferences_of(current_user)
    form.wanted.choices = options((choice_value(*key), "") for key in chosen)
    if request.method == "GET":
        form.wanted.data = [choice_value(*key) for key, on in chosen.items() if on]
    return form


def _save_notice_settings(form: NoticeSettingsForm, own_contact: bool) -> None:
    if own_contact:
        set_contact(current_user, email=form.email.data or "", mobile=form.mobile.data or "", actor=current_user)
    set_preferences(current_user, {parse_choice(value) for value in form.wanted.data or []})


@bp.post("/logout")
@login_required
def logout():
    end_session(session.get(LOGIN_TOKEN))
    db.session.commit()  # first: if it fails, the browser stays logged in rather than only looking logged out
    session.pop(LOGIN_TOKEN, None)
    logout_user()
    flash("您已退出登录。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["REGISTER_RATE_LIMIT"], methods=["POST"])  # per address, like the login
def register():
    if current_user.is_authenticated:  # registering would replace the login this browser has
        return redirect(home_url(current_user))
    form = RegistrationForm()
    units = list_units()
    form.unit_id.choices = options([(0, "按组织类别自动分配")] + [(u.id, u.name) for u in units])
    if form.validate_on_submit():
        users = []
        status, _ = run_verb(lambda: users.append(register_organisation(_registration(form, units))), None, form,
                             validate=False)
        if status == 200:
            return _registered(users[0])
    return render_template("auth/register.html", form=form)


def _registration(form: RegistrationForm, units) -> Registration:
    """What the registration form posted; no unit chosen means the one the organisation's kind suggests."""
    kind = OrgKind(form.kind.data)
    return Registration(
        org_name=form.org_name.data, credit_code=form.credit_code.data, kind=kind,
        unit=next((u for u in units if u.id == form.unit_id.data), None) or suggest_unit(kind),
        address=form.address.data or "", contact_name=form.contact_name.data,
        contact_phone=form.contact_phone.data, employees=form.employees.data,
        formal_members=form.formal_members.data, probationary_members=form.probationary_members.data,
        has_party_org=form.has_party_org.data, username=form.username.data, password=form.password.data,
        position=form.position.data, certificate=(form.certificate.data.filename, form.certificate.data.read()),
        email=form.email.data or "", mobile=form.mobile.data or "",
    )


def _registered(user):
    """After a registration: an organisation the zone already lists waits for its unit to check the papers; any
    other is logged in."""
    if not user.active:
        flash("账号已创建，待核实后开通：该组织已在开发区的摸底名录中，为防止他人冒用，"
              "须由所属初审单位对照您上传的证照核实后开通账号。", "info")
        return redirect(url_for("auth.login"))
    sign_in(user)
    flash(f"注册成功，欢迎您，{user.name}。所属初审单位核实您上传的证照后，即可提交申请。", "success")
    return redirect(home_url(user))
