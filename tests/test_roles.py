"""The role wall: each role's home answers to that role only; anonymous users are sent to log in."""
import pytest

from models import Role

HOMES = {
    Role.APPLICANT: "/applicant/",
    Role.UNIT_REVIEWER: "/review/",
    Role.ZONE_APPROVER: "/zone/",
    Role.INSTRUCTOR: "/instructor/",
    Role.FINANCE: "/finance/",
    Role.ADMIN: "/admin/",
}
PROTECTED = [*HOMES.values(), "/admin/users/new", "/admin/users/1/password"]


@pytest.mark.parametrize("url", PROTECTED)
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login?next=")


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("owner, url", list(HOMES.items()))
def test_role_wall(client, login_as, role, owner, url):
    login_as(role)
    response = client.get(url)
    if role is owner:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert "您没有权限访问此页面" in response.get_data(as_text=True)


LANDING = {**HOMES, Role.UNIT_REVIEWER: "/applications/", Role.ZONE_APPROVER: "/applications/"}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_lands_on_its_own_home(client, login_as, role):
    login_as(role)
    assert client.get("/").headers["Location"] == LANDING[role]
    assert client.get(LANDING[role]).status_code == 200
