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


# ---------------------------------------------------------------- one declaration: the walls and the navigation

def test_every_walled_blueprint_is_an_area_and_every_area_is_walled(app):
    from blueprints.nav import AREAS

    walled = {name for name, functions in app.before_request_funcs.items() if name
              and any(function.__name__ == "_wall" for function in functions)}
    assert walled == set(AREAS)


def test_each_page_is_declared_in_its_own_blueprint_area(app):
    """A page declared under another area would be shown to roles its own wall refuses."""
    from blueprints.nav import AREAS

    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    for name, area in AREAS.items():
        for page in area.pages:
            assert page.endpoint.split(".")[0] == name and page.endpoint in endpoints, page


def test_an_area_refuses_a_page_for_a_role_it_does_not_admit():
    from blueprints.nav import Area, Page

    with pytest.raises(ValueError):
        Area((Role.ADMIN,), (Page("admin.home", "账号管理", roles=(Role.ZONE_APPROVER,)),))
    with pytest.raises(ValueError):
        Area((Role.ADMIN,), (Page("admin.home", "账号管理", more=(Role.FINANCE,)),))


@pytest.mark.parametrize("role", list(Role))
def test_a_role_lands_on_the_first_page_of_its_navigation_and_may_open_every_page_of_it(app, client, login_as, role):
    from flask import url_for

    from blueprints.nav import NAV, NAV_MORE

    login_as(role)
    with app.test_request_context():
        urls = [url_for(endpoint) for endpoint, _label in NAV[role] + NAV_MORE[role]]
    assert client.get("/").headers["Location"] == urls[0]
    assert [client.get(url).status_code for url in urls] == [200] * len(urls)
