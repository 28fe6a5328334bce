"""Accounts and headers: lockout, rate limits, password change, sessions, CSP, and the database going away."""
import re
import time
from pathlib import Path
from unittest.mock import patch

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from models import User, db
from tests.conftest import PASSWORD, make_test_app

TEMPLATES = Path(__file__).parents[1] / "templates"


def test_security_headers(client):
    response = client.get("/auth/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self' https://cdn.jsdelivr.net;" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp and "script-src 'self' 'unsafe-inline'" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


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
    with patch("app.time.time", return_value=renewed):
        assert "Set-Cookie" not in client.get("/static/favicon.svg").headers
        cookie = client.get("/finance/").headers["Set-Cookie"]
        assert "Expires=" in cookie
        assert "Set-Cookie" not in client.get("/finance/").headers


def test_production_cookies_are_secure(monkeypatch):
    from config import ProductionConfig

    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    assert ProductionConfig().SESSION_COOKIE_SECURE is True and not getattr(ProductionConfig(), "DEBUG", False)


def test_lockout_after_five_wrong_passwords(client, app, make_user):
    user = make_user("zone_approver")
    for _ in range(5):
        page = client.post("/auth/login", data={"username": user.username, "password": "wrong-pass-1"})
        assert "用户名或密码错误" in page.get_data(as_text=True)
    locked = client.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert "账号已暂时锁定" in locked.get_data(as_text=True)
    with app.app_context():
        db.session.execute(sa.update(User).values(locked_until=None))  # the quarter hour has passed
        db.session.commit()
    assert client.post("/auth/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def test_login_is_rate_limited_per_address(client, app):
    app.config["LOGIN_RATE_LIMIT"] = "20 per minute"  # production's figure
    codes = [client.post("/auth/login", data={"username": "nobody", "password": "x"}).status_code for _ in range(21)]
    assert codes[:20] == [200] * 20 and codes[20] == 429


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


def test_control_characters_are_removed_from_every_form_value_and_argument(app):
    from flask import request

    with app.test_request_context("/?q=a%00b", method="POST", data={"name": "x\x00y\x1bz\tw\r\n", "n": ["1\x07", "2\u202e"]}):
        assert request.args["q"] == "ab"
        assert request.form["name"] == "xyz\tw\r\n" and request.form.getlist("n") == ["1", "2"]


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
