"""Registration, login and logout through the Flask client, and CSRF on every POST."""
import io
import re

import pytest
import sqlalchemy as sa

from models import Organisation, db
from tests.conftest import PASSWORD, valid_credit_code


def certificate():
    """A business licence to upload (a file object is read once: each post needs its own)."""
    return io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32), "营业执照.png"


def register_form(**overrides):
    form = dict(org_name="通辽测试物流有限公司", credit_code=valid_credit_code(), kind="enterprise", unit_id="0",
                address="物流园区1号", contact_name="李丽娜", position="办公室主任", contact_phone="0475-8123456",
                employees="30", formal_members="3", probationary_members="0", username="lilina", password="goodpass1",
                password_confirm="goodpass1", certificate=certificate())
    form.update(overrides)
    return form


def test_register_logs_in_and_lands_on_the_organisation_page(client, app):
    form = register_form()
    response = client.post("/auth/register", data=form, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.request.path == "/applicant/"
    assert "注册成功" in page and "通辽测试物流有限公司" in page
    with app.app_context():
        org = db.session.scalar(sa.select(Organisation).filter_by(credit_code=form["credit_code"]))
        assert org.unit.code == "industrial_park"  # suggested from the kind when none was chosen


def test_register_with_a_bad_check_digit_keeps_what_was_typed(client):
    form = register_form(credit_code="91150500MA0000001A")
    response = client.post("/auth/register", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "校验位不正确" in page
    assert 'value="通辽测试物流有限公司"' in page and 'value="0475-8123456"' in page


def test_register_twice_with_one_code_waits_as_a_claim_until_verified(client, app, make_org, make_user):
    """A registration still waiting holds nothing: a second one of the code is a claim, for the unit to decide; an
    organisation whose contact is settled is taken."""
    form = register_form()
    client.post("/auth/register", data=form)
    client.post("/auth/logout")
    claim = client.post("/auth/register", data={**form, "username": "another", "certificate": certificate()},
                        follow_redirects=True)
    assert "账号已创建，待核实后开通" in claim.get_data(as_text=True)
    taken = make_org()
    make_user("applicant", organisation=taken)
    response = client.post("/auth/register", data=register_form(credit_code=taken.credit_code, username="third"))
    assert "该统一社会信用代码已注册" in response.get_data(as_text=True)


def test_register_form_errors_are_inline_in_chinese(client):
    response = client.post("/auth/register", data=register_form(org_name="", password_confirm="different1",
                                                                 formal_members="-1"))
    page = response.get_data(as_text=True)
    assert "此项为必填项" in page and "两次输入的密码不一致" in page and "0 到 100000" in page


def test_an_htmx_action_after_logout_keeps_the_page_and_says_why(client, login_as, make_application):
    """Logged out in another tab: a card's action must not swap the login page into the card (and lose what was
    typed); it gets a 401 alert, which htmx shows above the page (static/js/app.js), leaving the form alone."""
    application = make_application("submitted")
    login_as("unit_reviewer")
    client.post("/auth/logout")
    response = client.post(f"/applications/{application.id}/steps/pass", data={"comment": "材料齐全"},
                           headers={"HX-Request": "true"})
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "登录已过期" in page and "已填写的内容仍在本页" in page
    assert "<form" not in page and 'class="alert' in page
    # Without htmx, the same request still goes to the login page.
    assert client.get("/applications/").headers["Location"].startswith("/auth/login")


def test_register_shows_every_field_error_in_one_round(client, make_user):
    """Format and policy errors of every field come back together, not one more each time the form is sent."""
    make_user("applicant", username="taken_name")
    response = client.post("/auth/register", data=register_form(
        credit_code="91150500MA0000001A", contact_phone="12345", password="short", password_confirm="short",
        username="taken_name", formal_members="-1"))
    page = response.get_data(as_text=True)
    for message in ("校验位不正确", "手机号", "密码至少8位", "该用户名已被使用", "0 到 100000"):
        assert message in page, message


def test_login_logout(client, make_user):
    from blueprints.auth import LOGIN_TOKEN

    user = make_user("finance")
    response = client.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert response.headers["Location"] == "/finance/"
    with client.session_transaction() as session:  # the login (session_user)
        assert session[LOGIN_TOKEN]
    assert client.get("/finance/").status_code == 200
    client.post("/auth/logout")
    with client.session_transaction() as session:
        assert LOGIN_TOKEN not in session
    assert client.get("/finance/").headers["Location"].startswith("/auth/login")


def test_login_wrong_password_and_deactivated_account(client, make_user):
    user = make_user("zone_approver")
    bad = client.post("/auth/login", data={"username": user.username, "password": "nope-1234"})
    assert "用户名或密码错误" in bad.get_data(as_text=True)
    off = make_user("finance", active=False)
    refused = client.post("/auth/login", data={"username": off.username, "password": PASSWORD})
    assert "该账号已停用" in refused.get_data(as_text=True)


def test_deactivation_ends_an_open_session(client, app, login_as):
    user = login_as("finance")
    assert client.get("/finance/").status_code == 200
    with app.app_context():
        db.session.execute(sa.text("UPDATE users SET active = false WHERE id = :id"), {"id": user.id})
        db.session.commit()
    assert client.get("/finance/").status_code == 302


def test_login_follows_only_local_next(client, make_user):
    user = make_user("admin")
    data = {"username": user.username, "password": PASSWORD}
    assert client.post("/auth/login?next=/admin/users/new", data=data).headers["Location"] == "/admin/users/new"
    client.post("/auth/logout")
    assert client.post("/auth/login?next=//evil.example/", data=data).headers["Location"] == "/admin/"


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_csrf_is_required_on_every_post(client, app, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    user = make_user("admin")
    data = {"username": user.username, "password": PASSWORD}
    missing = client.post("/auth/login", data=data)
    assert missing.status_code == 400 and "CSRF" in missing.get_data(as_text=True)
    wrong = client.post("/auth/login", data={**data, "csrf_token": "forged"})
    assert wrong.status_code == 400
    token = _token(client.get("/auth/login").get_data(as_text=True))
    assert client.post("/auth/login", data={**data, "csrf_token": token}).status_code == 302
    # htmx sends the token in a header that the layout puts on <body>.
    home = client.get("/admin/").get_data(as_text=True)
    header_token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', home).group(1)
    url = f"/admin/users/{user.id}/active"
    assert client.post(url, data={"active": "1"}, headers={"HX-Request": "true"}).status_code == 400
    ok = client.post(url, data={"active": "1"}, headers={"HX-Request": "true", "X-CSRFToken": header_token})
    assert ok.status_code == 200


def _second_browser(app, client):
    """Another client holding a copy of this client's session cookie (a stolen cookie, another tab's answer that
    arrived after the logout, a shared computer's saved session)."""
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    return copy


def _log_in(app, user, password=PASSWORD):
    browser = app.test_client()
    assert browser.post("/auth/login", data={"username": user.username, "password": password}).status_code == 302
    return browser


def test_logging_out_ends_the_login_for_every_copy_of_its_cookie(client, app, login_as):
    login_as("zone_approver")
    copy = _second_browser(app, client)
    assert copy.get("/applications/").status_code == 200  # the copy works while the login stands
    client.post("/auth/logout")
    refused = copy.get("/applications/")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/auth/login")
    # htmx gets the 401 alert instead, as after any logout
    assert copy.get("/applications/badges", headers={"HX-Request": "true"}).status_code == 401


def test_logging_out_in_one_browser_leaves_the_others_logged_in(app, make_user):
    user = make_user("finance")
    office, laptop = _log_in(app, user), _log_in(app, user)
    office.post("/auth/logout")
    assert office.get("/finance/").status_code == 302
    assert laptop.get("/finance/").status_code == 200


def test_a_new_password_ends_every_other_login_and_every_copy_of_this_one(app, make_user):
    user = make_user("unit_reviewer")
    mine, other = _log_in(app, user), _log_in(app, user)
    copy_of_mine = _second_browser(app, mine)  # copied before the change: the reason one changes a password
    done = mine.post("/auth/password", data={"current": PASSWORD, "password": "new-pass-77",
                                             "password_confirm": "new-pass-77"}, follow_redirects=True)
    assert "其他浏览器或设备上的登录已退出" in done.get_data(as_text=True)
    assert mine.get("/applications/").status_code == 200  # this browser carries on, under a new login
    assert other.get("/applications/").status_code == 302
    assert copy_of_mine.get("/applications/").status_code == 302
    assert _log_in(app, user, "new-pass-77").get("/applications/").status_code == 200


def test_a_logged_in_browser_is_not_offered_registration(client, login_as):
    login_as("zone_approver")
    response = client.get("/auth/register")
    assert response.status_code == 302 and response.headers["Location"] == "/applications/"


def test_a_password_reset_and_a_deactivation_end_every_login(client, app, login_as, make_user):
    reset, parked = make_user("zone_approver"), make_user("instructor")
    reset_browser, parked_browser = _log_in(app, reset), _log_in(app, parked)
    login_as("admin")
    client.post(f"/admin/users/{reset.id}/password", data={"password": "fresh-pass-9"})
    assert reset_browser.get("/applications/").status_code == 302
    client.post(f"/admin/users/{parked.id}/active", data={"active": "0"})
    client.post(f"/admin/users/{parked.id}/active", data={"active": "1"})
    # Reactivated, the account must log in again: its old login does not come back with it.
    assert parked_browser.get("/instructor/").status_code == 302
    assert _log_in(app, parked).get("/instructor/").status_code == 200


def test_a_session_that_names_no_login_signs_nobody_in(client, make_user):
    # As a cookie signed before logins had rows: the user's id alone is not enough.
    user = make_user("admin")
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = str(user.id), True
    assert client.get("/admin/").status_code == 302
