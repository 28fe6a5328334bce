"""The term lists as Excel (党组织任期清单, GET /orgs/terms.xlsx): the zone's every unit, a unit reviewer's own unit
only, filtered as the list is, every row rather than a page."""
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from models import PartyOrg, Role, db
from tests.conftest import PASSWORD, zone_today


@pytest.fixture
def terms(app, make_application, make_user):
    """Three established organisations: two of the industrial park, expired and current, one of the east street,
    expired; a client each for the zone and the park's reviewer."""
    ends = {"industrial_park": (-30, 400), "street_east": (-60,)}
    names = []
    for unit_code, days in ends.items():
        for n, from_today in enumerate(days):
            made = make_application("established", unit_code=unit_code)
            with app.app_context():
                party_org = db.session.scalar(sa.select(PartyOrg).where(PartyOrg.application_id == made.id))
                party_org.term_end = zone_today() + timedelta(days=from_today)
                party_org.established_on = party_org.term_start = party_org.term_end - timedelta(days=3 * 365)
                names.append(party_org.name)
                db.session.commit()
    clients = {}
    for role in (Role.ZONE_APPROVER, Role.UNIT_REVIEWER):
        user = make_user(role)
        clients[role] = app.test_client()
        clients[role].post("/auth/login", data={"username": user.username, "password": PASSWORD})
    return names, clients


def rows(response) -> tuple[str, list[list]]:
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    return values[0][0], values[1][0], values[2], values[3:]


def test_the_zone_exports_the_expired_terms_of_every_unit(app, terms):
    names, clients = terms
    response = clients[Role.ZONE_APPROVER].get("/orgs/terms.xlsx?term=expired")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    title, as_of, header, body = rows(response)
    assert title.endswith("党组织届满未换届清单")
    assert as_of.endswith("初审单位：全部；类别：全部；任期状态：届满未换届")
    assert header == ["党组织名称", "类别", "初审单位", "本届任期开始", "本届任期届满", "任期状态"]
    assert sorted(row[0] for row in body) == sorted([names[0], names[2]])
    assert {row[5] for row in body} == {"届满未换届"}


def test_a_unit_reviewer_exports_only_their_units_terms(app, terms):
    names, clients = terms
    _, as_of, _, body = rows(clients[Role.UNIT_REVIEWER].get("/orgs/terms.xlsx?unit_id=99999"))
    assert "任期状态：全部" in as_of and "初审单位：全部" not in as_of
    assert sorted(row[0] for row in body) == sorted(names[:2])
    assert sorted(row[5] for row in body) == ["在届", "届满未换届"]


def test_the_list_links_its_export_with_its_filters(app, terms):
    _, clients = terms
    page = clients[Role.ZONE_APPROVER].get("/orgs/?term=due").get_data(as_text=True)
    assert "没有符合条件的党组织" in page  # nothing due: no table, no export
    page = clients[Role.ZONE_APPROVER].get("/orgs/?term=expired").get_data(as_text=True)
    assert "/orgs/terms.xlsx?unit_id=&amp;kind=&amp;term=expired" in page
    assert "共 2 个届满未换届的党组织，按名称排列。" in page
