"""The admin's account pages."""
import sqlalchemy as sa

from models import Role, User, db
from tests.conftest import PASSWORD


def test_admin_creates_a_unit_reviewer(client, app, login_as):
    login_as("admin")
    with app.app_context():
        unit_id = db.session.scalar(sa.text("SELECT id FROM units WHERE code = 'street_west'"))
    response = client.post("/admin/users/new", data={
        "username": "west-reviewer", "name": "西城初审", "role": "unit_reviewer", "unit_id": unit_id,
        "instructor_id": 0, "password": "westpass1"}, follow_redirects=True)
    assert "已创建账号 west-reviewer" in response.get_data(as_text=True)
    client.post("/auth/logout")
    # The password the admin chose serves one login: the reviewer's own comes first (tests/test_first_admin.py).
    assert client.post("/auth/login", data={"username": "west-reviewer", "password": "westpass1"}).headers[
        "Location"] == "/auth/password"
    assert client.post("/auth/password", data={"current": "westpass1", "password": "westown-22",
                                               "password_confirm": "westown-22"}).headers["Location"] == "/applications/"
    assert "西城街道区域党工委" in client.get("/review/").get_data(as_text=True)


def test_admin_form_refusals_are_shown_next_to_the_field(client, login_as):
    login_as("admin")
    response = client.post("/admin/users/new", data={
        "username": "r", "name": "x", "role": "unit_reviewer", "unit_id": 0, "instructor_id": 0, "password": "pw"})
    page = response.get_data(as_text=True)
    assert "用户名长度为3到40个字符" in page
    response = client.post("/admin/users/new", data={
        "username": "reviewer9", "name": "x", "role": "unit_reviewer", "unit_id": 0, "instructor_id": 0,
        "password": "longpass1"})
    assert "初审单位账号须选择所属单位" in response.get_data(as_text=True)


def test_deactivate_through_htmx_swaps_the_row(client, app, login_as, make_user):
    login_as("admin")
    target = make_user("finance")
    row = client.post(f"/admin/users/{target.id}/active", data={"active": "0"}, headers={"HX-Request": "true"})
    html = row.get_data(as_text=True)
    assert row.status_code == 200 and html.lstrip().startswith(f'<tr id="user-{target.id}"') and "已停用" in html
    assert client.post("/auth/logout").status_code == 302
    refused = client.post("/auth/login", data={"username": target.username, "password": PASSWORD})
    assert "该账号已停用" in refused.get_data(as_text=True)


def test_admin_cannot_deactivate_themselves(client, app, login_as):
    admin = login_as("admin")
    response = client.post(f"/admin/users/{admin.id}/active", data={"active": "0"}, follow_redirects=True)
    assert "不能停用自己的账号" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, admin.id).active


def test_reset_password(client, app, login_as, make_user):
    login_as("admin")
    target = make_user("zone_approver")
    weak = client.post(f"/admin/users/{target.id}/password", data={"password": "123"})
    assert "至少8位" in weak.get_data(as_text=True)
    client.post(f"/admin/users/{target.id}/password", data={"password": "fresh-pass-9"})
    client.post("/auth/logout")
    assert client.post("/auth/login", data={"username": target.username, "password": "fresh-pass-9"}).status_code == 302


def test_an_admin_changes_their_own_password_on_the_password_page(client, login_as):
    admin = login_as("admin")
    response = client.post(f"/admin/users/{admin.id}/password", data={"password": "fresh-pass-9"})
    assert "请在“修改密码”页修改自己的密码" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 200  # still logged in, password unchanged


def test_unknown_user_is_a_chinese_404(client, login_as):
    login_as("admin")
    response = client.get("/admin/users/99999/password")
    assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True)


def test_user_list_filters_by_role(client, login_as, make_user):
    login_as("admin")
    finance = make_user("finance")
    reviewer = make_user(Role.UNIT_REVIEWER)
    page = client.get("/admin/?role=finance").get_data(as_text=True)
    assert finance.username in page and reviewer.username not in page
