"""The application factory: `flask --app app run`, or `gunicorn 'app:create_app()'`."""
import time
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from dotenv import load_dotenv
from flask import Flask, Request, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFError, CSRFProtect
from markupsafe import Markup, escape
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, NoSuchTableError, OperationalError, ProgrammingError
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Config, load_config
from domain.pdf import css_string
from domain.text import without_refused
from models import AppState, Role, User, db

login_manager = LoginManager()
csrf = CSRFProtect()
migrate = Migrate()
# In memory by default; RATELIMIT_STORAGE_URI=redis://... shares the counts between workers.
limiter = Limiter(key_func=get_remote_address)

ERROR_MESSAGES = {
    400: "请求有误，请返回上一页重试。",
    401: "登录已过期或已在别处退出，本次操作未执行。请在新的标签页中重新登录，再回到本页提交，已填写的内容仍在本页。",
    403: "您没有权限访问此页面。",
    404: "页面不存在，或您无权查看该内容。",
    405: "不支持此操作方式。",
    409: "该事项已被他人处理，请刷新后查看最新状态。",
    413: "上传的内容过大：一次提交的文件合计不能超过 32 MB（每个附件不超过 10 MB），请减少或压缩文件后重试。",
    429: "请求过于频繁，请稍后再试。",
    500: "系统出现错误，已记录，请稍后重试。",
    503: "系统暂时无法连接数据库，请稍后重试。",
}


class QueryValues(ImmutableMultiDict):
    """Query arguments (a search term, a filter, a link's next=) without the characters the one-line text rule
    refuses (domain/text.py), once, for every route: they have no use for them. Form values are left as they came:
    a form refuses such text with a message beside the field, rather than change it unseen."""

    def __init__(self, mapping=None):
        if isinstance(mapping, list):
            mapping = [(k, without_refused(v) if isinstance(v, str) else v) for k, v in mapping]
        super().__init__(mapping)


class CleanRequest(Request):
    parameter_storage_class = QueryValues

    def make_form_data_parser(self):
        parser = super().make_form_data_parser()
        parser.cls = ImmutableMultiDict  # form values as typed: the forms check them (domain/text.py)
        return parser


class SessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, with two changes.

    - A permanent session's cookie (every login's) is renewed once SESSION_RENEW_SECONDS have passed since it
      last was, not with every answer (SESSION_REFRESH_EACH_REQUEST is off). The day still counts from the last
      request, to within those minutes; signing and compressing the session anew for every answer, and the
      browser storing it, cost a tenth of the least a logged-in request costs.
    - Static files never send it back. A browser fetches the favicon, styles and scripts alongside a page; one
      such answer arriving after the logout's would otherwise set the old session cookie again and undo the
      logout (seen in Chromium: the favicon's answer logged the user back in)."""

    RENEWED = "renewed"  # the session's key: when its cookie was last renewed, in seconds since the epoch

    def save_session(self, app: Flask, session, response) -> None:
        now = int(time.time())
        if session.permanent and now - session.get(self.RENEWED, 0) >= app.config["SESSION_RENEW_SECONDS"]:
            session[self.RENEWED] = now  # a change, so the cookie goes out with a new expiry
        super().save_session(app, session, response)

    def should_set_cookie(self, app: Flask, session) -> bool:
        return request.endpoint != "static" and super().should_set_cookie(app, session)


def create_app(config: str | Config | dict[str, Any] | None = None) -> Flask:
    """Build the app; config is a name (development/testing/production), a Config, or overrides."""
    load_dotenv()
    app = Flask(__name__)
    app.request_class = CleanRequest
    app.session_interface = SessionInterface()
    if isinstance(config, dict):
        base = load_config(config.get("ENV_NAME"))
        app.config.from_object(base)
        app.config.update(config)
    else:
        app.config.from_object(config if isinstance(config, Config) else load_config(config))

    if proxies := app.config.get("TRUSTED_PROXIES", 0):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    db.init_app(app)
    migrate.init_app(app, db, compare_type=True, render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "warning"

    _register_blueprints(app)
    _register_errors(app)
    _register_security_headers(app)
    _register_templating(app)
    if app.config["ENV_NAME"] == "production":
        _refuse_demo_accounts(app)
    return app


def _demo_accounts_found(app: Flask) -> list[str] | None:
    """The accounts seed-demo made, or None when the database cannot say yet: not reachable, or not migrated as far
    as users.demo (a fresh install's `flask db upgrade` builds this very app before the column exists)."""
    from domain.accounts import demo_accounts

    with app.app_context():
        try:
            if "demo" not in {column["name"] for column in sa.inspect(db.engine).get_columns("users")}:
                return None
            return demo_accounts()
        except (NoSuchTableError, OperationalError):
            return None
        finally:
            db.session.remove()
            db.engine.dispose()  # a worker forked from here must open its own connections


def _demo_accounts_message(names: list[str]) -> str:
    shown = "、".join(names[:20]) + (f" 等 {len(names)} 个" if len(names) > 20 else "")
    return (f"生产环境的数据库中有演示数据创建的账号（密码公开在说明文档中）：{shown}。请改用未写入演示数据的数据库，"
            f"用 flask create-admin 创建管理员 (the production database holds accounts made by seed-demo, whose "
            f"password is published: {', '.join(names[:20])}; use a database without demo data)")


def _refuse_demo_accounts(app: Flask) -> None:
    """A production app refuses to start while an account made by seed-demo exists: anyone who read the README could
    log in with it. Checked here, at start-up, where an operator sees it at once. When the database cannot say yet
    (_demo_accounts_found), every request checks instead until it can, and while such an account exists the site
    answers 503 and the log names the accounts (the page does not: the names and the password are a way in)."""
    found = _demo_accounts_found(app)
    if found:
        raise RuntimeError(_demo_accounts_message(found))
    if found is not None:
        return
    from domain.accounts import demo_accounts

    checked = []

    @app.before_request
    def _no_demo_accounts():
        if checked:
            return None
        try:
            names = demo_accounts()
        except (ProgrammingError, OperationalError):
            db.session.rollback()
            return None  # not migrated or not reachable yet: the page's own error says so
        if names:
            app.logger.error(_demo_accounts_message(names))
            return render_template("errors/unavailable.html", message=ERROR_MESSAGES[503]), 503
        checked.append(True)
        return None


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    # The signed cookie is not enough: its login must not have ended (logout, a new password, deactivation).
    from blueprints.auth import LOGIN_ROLE, LOGIN_TOKEN
    from domain.accounts import session_user

    return session_user(int(user_id), session.get(LOGIN_TOKEN), Role._value2member_map_.get(session.get(LOGIN_ROLE)))


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()


def _register_blueprints(app: Flask) -> None:
    from blueprints import (
        admin, applicant, applications, auth, cli, finance, instructor, public, registry, review, verifications, zone,
    )

    for module in (public, auth, applications, applicant, review, verifications, zone, registry, instructor, finance,
                   admin, cli):
        app.register_blueprint(module.bp)


def _register_errors(app: Flask) -> None:
    from domain.pdf import PdfRenderError

    def render_error(code: int, message: str | None = None):
        message = message or ERROR_MESSAGES.get(code, ERROR_MESSAGES[500])
        template = "errors/_alert.html" if request.headers.get("HX-Request") else "errors/error.html"
        return render_template(template, code=code, message=message), code

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(400, "页面已过期或来源无效（CSRF 校验失败），请刷新页面后重试。")

    @app.errorhandler(HTTPException)
    def http_error(error):
        return render_error(error.code or 500)

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def out_of_range(error):
        # An id or page number too large for the database's integers names nothing that exists. Any other value
        # the database refuses should never get this far (the forms limit lengths): log it to be fixed.
        if not isinstance(error, OverflowError) and "out of range" not in str(error):
            app.logger.warning("database refused a value: %s", error)
        db.session.rollback()
        return render_error(404)

    @app.errorhandler(OperationalError)
    def database_down(error):
        # The layout would ask the database for the current user; this page asks nothing. The pool's
        # pre-ping reconnects by itself once the database is back.
        app.logger.error("database unavailable: %s", error)
        db.session.rollback()
        return render_template("errors/unavailable.html", message=ERROR_MESSAGES[503]), 503, {"Retry-After": "30"}

    @app.errorhandler(PdfRenderError)
    def pdf_failed(error):
        # A PDF rendered in a child process (domain/pdf.py) that failed, died or ran out of time: its message says
        # which, in Chinese, and the worker itself is fine.
        app.logger.error("PDF render failed: %s", error)
        db.session.rollback()
        return render_error(503, str(error))

    @app.errorhandler(Exception)
    def unexpected(error):
        # Never a stack trace on a page: log it, roll back, answer in Chinese.
        app.logger.exception("unhandled error")
        db.session.rollback()
        return render_error(500)


# What the app sends as a file (attachments, photos, issued PDFs, sheets, exports), with or without a
# Content-Disposition: never kept by a browser or a proxy, whoever asked for it.
DOWNLOAD_TYPES = frozenset({"application/pdf", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            "text/csv", "image/png", "image/jpeg", "application/octet-stream"})


def _register_security_headers(app: Flask) -> None:
    from blueprints.auth import LOGIN_TOKEN

    # Scripts only from here and the one htmx file on the CDN (a path, not the whole host: anything else on
    # jsDelivr could be loaded otherwise); none from elsewhere once htmx is served locally. Inline styles stay
    # allowed for the few width bars. Picked per response: tests switch HTMX_LOCAL_ONLY on a running app.
    policies = {local_only: (
        f"default-src 'self'; script-src 'self'{'' if local_only else ' ' + app.config['HTMX_CDN_URL']}; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'") for local_only in (False, True)}
    production = app.config["ENV_NAME"] == "production"

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", policies[bool(app.config["HTMX_LOCAL_ONLY"])])
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Nothing a logged-in user sees, and no file, stays in a browser's cache or a proxy's: after the logout,
        # Back or the next user of a shared computer must not bring it up. The login is read from the cookie, not
        # the database (the user may not be loaded, or the database be down). Static files keep their caching;
        # anonymous pages (home, login, verification) hold nothing of anyone's and get no Cache-Control.
        if request.endpoint != "static" and (LOGIN_TOKEN in session or "Content-Disposition" in response.headers
                                             or response.mimetype in DOWNLOAD_TYPES):
            response.headers["Cache-Control"] = "no-store"  # replaces send_file's no-cache
        if production:  # served over HTTPS only (README, Production); development runs on plain http
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        return response


# Stands for the row's value while url_for_each builds the URL: an id no table reaches.
_ROW_MARKER = 918273645546372819


def url_for_each(endpoint: str, key: str, **values) -> Callable[[int], str]:
    """url_for(endpoint, **values) with the integer `key` (an id, a page number) left open, as a function of its
    value. A list links each of its rows to one route: url_for per row was an eighth of the inbox page's CPU (50
    rows), this a string join."""
    url = url_for(endpoint, **values, **{key: _ROW_MARKER})
    head, _, tail = url.partition(str(_ROW_MARKER))
    if url.count(str(_ROW_MARKER)) != 1:  # a search typed as the marker's digits: that list pays for url_for
        return lambda value: url_for(endpoint, **values, **{key: int(value)})
    return lambda value: f"{head}{int(value)}{tail}"


def _register_templating(app: Flask) -> None:
    tz = ZoneInfo(app.config["DISPLAY_TIMEZONE"])

    @app.template_filter("local")
    def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(tz).strftime(fmt) if value else ""

    app.add_template_filter(css_string)  # the PDFs' font names (domain/pdf.py)

    @app.template_filter("filesize")
    def filesize(size: int) -> str:
        return f"{size} 字节" if size < 1024 else f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / 1048576:.1f} MB"

    # An application's state as a coloured badge. Built once per state: the lists show one on every row, and a
    # Jinja macro call per row cost more than the rest of the row.
    badges = {state: Markup(f'<span class="badge text-bg-{state.badge}">{escape(state.label)}</span>')
              for state in AppState}
    app.add_template_global(badges.__getitem__, "state_badge")
    app.add_template_global(url_for_each)

    # A list's rows rendered once per content: `row` of `template`, a macro whose output depends on its arguments
    # alone (a query's row and flags, not the time or the user), memoized on them and on the mount point of its
    # links. The inbox's 50 rows were half of its page's rendering (0.9 of 1.7 ms); a row that changes is a new key,
    # rendered anew, and the old one ages out. Per app, as its filters (the display time zone) are.
    @lru_cache(maxsize=app.config["ROW_CACHE_SIZE"])
    def _row(template: str, script_root: str, args: tuple) -> Markup:
        return app.jinja_env.get_template(template).module.row(*args)

    def cached_rows(template: str) -> Callable[..., Markup]:
        if app.jinja_env.auto_reload:  # debug: an edit of the row shows on the next request
            return app.jinja_env.get_template(template).module.row
        script_root = request.script_root  # once a list, not once a row
        return lambda *args: _row(template, script_root, args)

    app.add_template_global(cached_rows)

    from blueprints.nav import nav_context

    app.context_processor(nav_context)
