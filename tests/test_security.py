"""Accounts and headers: lockout, rate limits, passwords, sessions, CSP, no-store, HSTS, the database going away."""
import re
import time
from pathlib import Path
from unittest.mock import patch

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from domain.accounts import DEMO_PASSWORD
from models import LoginFailure, Role, db
from tests.conftest import PASSWORD, make_test_app
from tests.test_access_matrix import DOWNLOADS, _urls, world  # noqa: F401 - world is a fixture

TEMPLATES = Path(__file__).parents[1] / "templates"


HTMX_CDN_FILE = "https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js"


def csp_directives(response) -> dict[str, str]:
    return dict(d.strip().partition(" ")[::2] for d in response.headers["Content-Security-Policy"].split(";"))


def test_security_headers(client):
    response = client.get("/auth/login")
    csp = csp_directives(response)
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'" and csp["default-src"] == "'self'"
    assert "unsafe-eval" not in csp["script-src"] and "unsafe-inline" not in csp["script-src"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_csp_allows_the_htmx_file_on_the_cdn_not_the_whole_cdn(app, client):
    """The script tag and the policy name the same file, so that nothing else on jsDelivr may run here."""
    app.config["HTMX_LOCAL_ONLY"] = False
    response = client.get("/auth/login")
    assert csp_directives(response)["script-src"] == f"'self' {HTMX_CDN_FILE}"
    assert f'<script src="{HTMX_CDN_FILE}"' in response.get_data(as_text=True)
    app.config["HTMX_LOCAL_ONLY"] = True  # served from static/ alone: no CDN in the policy either
    assert csp_directives(client.get("/auth/login"))["script-src"] == "'self'"


@pytest.mark.parametrize("role", list(Role))
def test_every_page_of_a_logged_in_user_is_no_store(client, login_as, role):
    login_as(role)
    home = client.get("/", follow_redirects=True)  # the landing page sends each role to its own page
    assert home.status_code == 200 and home.request.path != "/"
    assert home.headers["Cache-Control"] == "no-store"
    # An htmx fragment, an error page and a refusal are answers to a logged-in user too.
    assert client.get("/applications/badges", headers={"HX-Request": "true"}).headers["Cache-Control"] == "no-store"
    assert client.get("/applications/999999").headers["Cache-Control"] == "no-store"


def test_the_login_answer_is_no_store_and_the_anonymous_pages_are_left_to_the_browser(client, make_user):
    """Decided: the public pages (home, login, registration) hold nothing of anyone's and carry no Cache-Control;
    from the login on, every answer is no-store; after the logout the login page is public again."""
    for url in ("/", "/auth/login", "/auth/register"):
        assert "Cache-Control" not in client.get(url).headers
    user = make_user(Role.FINANCE)
    login = client.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert login.status_code == 302 and login.headers["Cache-Control"] == "no-store"
    client.post("/auth/logout")
    assert "Cache-Control" not in client.get("/auth/login").headers


def test_static_files_keep_their_caching_for_a_logged_in_user(client, login_as):
    login_as(Role.ZONE_APPROVER)
    assert "no-store" not in client.get("/static/css/app.css").headers["Cache-Control"]


DISPOSITION = re.compile(r"(attachment|inline); filename=\"[A-Za-z0-9_-]+\.[a-z]+\"; "
                         r"filename\*=UTF-8''[A-Za-z0-9%!#$&+.^_`|~-]+")


def test_every_page_and_download_for_every_actor_is_no_store(app, world, monkeypatch):
    """Every GET route of the URL map, as every logged-in actor of the access matrix (allowed or not, so error
    pages count too): each answer is no-store, and so is every file, which the walk meets in each kind; every file
    is named as RFC 6266 says, an ASCII fallback beside the UTF-8 name."""
    from blueprints.web.headers import DOWNLOAD_TYPES

    # The dossier's rendering is the PDF module's business (tests/test_documents.py); here only its headers are.
    monkeypatch.setattr("blueprints.applications.render_dossier", lambda application: b"%PDF-1.7 dossier")
    ids, logins = world
    app.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    cached, files, named = [], set(), []
    for actor, username in logins.items():
        if username is None:
            continue
        client = app.test_client()
        assert client.post("/auth/login", data={"username": username, "password": DEMO_PASSWORD}).status_code == 302
        for endpoint, method, url in _urls(app, ids):
            if method != "GET" or endpoint == "static":
                continue
            response = client.get(url)
            if response.headers.get("Cache-Control") != "no-store":
                cached.append(f"{url} as {actor}: {response.status_code} {response.headers.get('Cache-Control')}")
            if response.status_code == 200 and ("Content-Disposition" in response.headers
                                                or response.mimetype in DOWNLOAD_TYPES):
                files.add(endpoint)
                # Each through blueprints.send_download: an ASCII fallback and the real name, RFC 6266 and 5987.
                if not DISPOSITION.fullmatch(response.headers.get("Content-Disposition", "")):
                    named.append(f"{url}: {response.headers.get('Content-Disposition')}")
    assert cached == [] and files == DOWNLOADS and named == []


def test_a_file_is_no_store_whoever_asks(app):
    """A download needs no login to be no-store: the rule reads the answer too (a disposition, or a file's type)."""
    from io import BytesIO

    from flask import Response, send_file

    application = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    application.add_url_rule("/__sheet.xlsx", "sheet", lambda: send_file(
        BytesIO(b"PK"), as_attachment=True, download_name="表.xlsx",
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    application.add_url_rule("/__bare.pdf", "bare", lambda: Response(b"%PDF-1.7", mimetype="application/pdf"))
    client = application.test_client()
    assert client.get("/__sheet.xlsx").headers["Cache-Control"] == "no-store"
    assert client.get("/__bare.pdf").headers["Cache-Control"] == "no-store"
    with application.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("env, hsts", [
    ("production", "max-age=31536000; includeSubDomains"), ("development", None), ("testing", None),
])
def test_hsts_only_in_production(app, production_env, env, hsts):
    application = create_app({"ENV_NAME": env, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    assert application.test_client().get("/auth/login").headers.get("Strict-Transport-Security") == hsts
    with application.app_context():
        db.engine.dispose()


def test_no_template_has_inline_script_or_handlers():
    """The CSP bars inline scripts: a template that adds one would break in the browser, so fail here."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        if path.parent.name == "pdf":
            continue
        text = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\son[a-z]+=\"", text) or "js:" in text:
            offenders.append(path.name)
    assert offenders == []


def test_session_cookie_flags(client, make_user, app):
    user = make_user("finance")
    response = client.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert app.permanent_session_lifetime.total_seconds() == 8 * 3600
    # The working day counts from the last request: a page renews the cookie once SESSION_RENEW_SECONDS have
    # passed since it last was, and not before. A static file never sends it, so that a favicon answered after a
    # logout cannot bring the old session back.
    client.get("/finance/")  # the first page adds the CSRF token to the session, a change that is sent
    assert "Set-Cookie" not in client.get("/finance/").headers
    renewed = time.time() + app.config["SESSION_RENEW_SECONDS"]
    with patch("blueprints.web.requests.time.time", return_value=renewed):
        assert "Set-Cookie" not in client.get("/static/favicon.svg").headers
        cookie = client.get("/finance/").headers["Set-Cookie"]
        assert "Expires=" in cookie
        assert "Set-Cookie" not in client.get("/finance/").headers


def test_production_cookies_are_secure(production_env):
    from config import ProductionConfig

    production_env.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379")
    assert ProductionConfig().SESSION_COOKIE_SECURE is True and not getattr(ProductionConfig(), "DEBUG", False)


def test_lockout_after_five_wrong_passwords(client, app, make_user):
    user = make_user("zone_approver")
    for _ in range(5):
        page = client.post("/auth/login", data={"username": user.username, "password": "wrong-pass-1"})
        assert "用户名或密码错误" in page.get_data(as_text=True)
    locked = client.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert "此用户名已暂停从您当前的网络地址登录，请 15 分钟后再试" in locked.get_data(as_text=True)
    with app.app_context():
        db.session.execute(sa.update(LoginFailure).values(locked_until=None))  # the quarter hour has passed
        db.session.commit()
    assert client.post("/auth/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def test_login_is_rate_limited_per_address(client, app):
    app.config["LOGIN_RATE_LIMIT"] = "20 per minute"  # production's figure
    codes = [client.post("/auth/login", data={"username": "nobody", "password": "x"}).status_code for _ in range(21)]
    assert codes[:20] == [200] * 20 and codes[20] == 429


def test_the_verification_upload_is_rate_limited_per_address(client):
    """Anyone may upload up to 10 MB to /verify, and each upload is hashed and its signature checked in a child for
    up to 5 s: 10 a minute over both forms, the page itself still opening."""
    codes = [client.post(path, data={}, content_type="multipart/form-data").status_code
             for path in ["/verify", "/verify/no-such-token"] * 5 + ["/verify"]]
    assert codes[:10] == [422, 404] * 5 and codes[10] == 429
    assert client.get("/verify").status_code == 200


def test_password_change(client, login_as):
    user = login_as("instructor")
    wrong = client.post("/auth/password", data={"current": "nope", "password": "newpass-22",
                                                "password_confirm": "newpass-22"})
    assert "当前密码不正确" in wrong.get_data(as_text=True)
    weak = client.post("/auth/password", data={"current": PASSWORD, "password": "short", "password_confirm": "short"})
    assert "至少8位" in weak.get_data(as_text=True)
    assert client.post("/auth/password", data={"current": PASSWORD, "password": "newpass-22",
                                               "password_confirm": "newpass-22"}).status_code == 302
    client.post("/auth/logout")
    assert client.post("/auth/login", data={"username": user.username, "password": "newpass-22"}).status_code == 302


def test_database_down_gives_a_chinese_503_and_recovers(tmp_path):
    folder = tmp_path / "not-yet"
    app = make_test_app(f"sqlite:///{folder / 'zone.db'}")
    client = app.test_client()
    down = client.get("/auth/register")
    assert down.status_code == 503 and "暂时无法连接数据库" in down.get_data(as_text=True)
    assert "Traceback" not in down.get_data(as_text=True)
    folder.mkdir()
    with app.app_context():
        upgrade()
        from domain.reference import ensure_units

        ensure_units()
        db.session.commit()
    assert client.get("/auth/register").status_code == 200  # the same app, without a restart
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("url", ["/auth/login", "/auth/register"])
def test_public_pages_render_under_the_csp(client, url):
    page = client.get(url).get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)


def test_control_characters_are_removed_from_query_arguments_and_left_in_form_values(app):
    """A query argument loses them; a form value keeps them, for its form to refuse with a message
    (tests/test_control_characters.py)."""
    from flask import request

    with app.test_request_context("/?q=a%00b&n=1%07&n=2%E2%80%AE", method="POST", data={"name": "x\x00y\tw"}):
        assert request.args["q"] == "ab" and request.args.getlist("n") == ["1", "2"]
        assert request.form["name"] == "x\x00y\tw"


def test_behind_a_trusted_proxy_the_client_address_is_the_forwarded_one(app):
    from flask import request

    from app import create_app

    def seen(application) -> str:
        application.add_url_rule("/__addr", "addr", lambda: request.remote_addr)
        return application.test_client().get("/__addr", headers={"X-Forwarded-For": "203.0.113.7"}).get_data(
            as_text=True)

    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    assert seen(create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": uri})) == "127.0.0.1"  # not believed
    assert seen(create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": uri, "TRUSTED_PROXIES": 1})) == \
        "203.0.113.7"
