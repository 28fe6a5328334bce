"""No English or internal identifiers in the interface (issue 29): every page of each role's navigation, rendered
with data in it, shows Chinese words only (file kinds such as PDF and Excel excepted)."""
import re

import pytest

from blueprints.nav import NAV, NAV_MORE
import sqlalchemy as sa

from models import Role, User, db

# Words a Chinese office reads as they are: file kinds, and the hash algorithm named beside 文件指纹.
ALLOWED = {"PDF", "Excel", "XLSX", "xlsx", "CSV", "csv", "JPG", "PNG", "SHA", "QR", "Word", "A4",
           # fonts are called by their names (系统设置): Noto Serif CJK SC, 仿宋_GB2312, TrueType/OpenType files
           "Noto", "Serif", "Sans", "CJK", "_GB2312", "TrueType", "OpenType", "FandolFang", "ttf", "otf", "ttc"}
UNIT_CODES = ("industrial_park", "logistics_park", "civil_affairs", "street_north", "business_federation")


def visible_text(html: str) -> str:
    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    html = re.sub(r"(?s)<!--.*?-->", " ", html)
    return re.sub(r"(?s)<[^>]+>", " ", html)


def english_words(text: str) -> set[str]:
    words = set(re.findall(r"[A-Za-z0-9_]*[A-Za-z_]{3,}[A-Za-z0-9_]*", text))
    return {w for w in words if w not in ALLOWED}


@pytest.mark.parametrize("role", list(Role))
def test_every_page_of_a_role_speaks_chinese(app, client, login_as, make_application, role):
    make_application("submitted")
    make_application("approved")
    login_as(role)
    with app.app_context():  # an account's user name is what its holder chose, shown as typed
        usernames = set(db.session.scalars(sa.select(User.username)))
    for endpoint, _label in NAV[role] + NAV_MORE.get(role, []):
        from flask import url_for
        with client.application.test_request_context():
            url = url_for(endpoint)
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        text = visible_text(html)
        assert not english_words(text) - usernames, (url, sorted(english_words(text) - usernames))
        assert not any(code in text for code in UNIT_CODES), url


def test_counts_that_mean_different_things_say_so(client, login_as):
    login_as(Role.ZONE_APPROVER)
    home = client.get("/zone/").get_data(as_text=True)
    assert "经本系统批准成立的党组织" in home and "已建党组织（名录）" in home
    dashboard = client.get("/registry/").get_data(as_text=True)
    assert "开发区公开报道的非公企业和社会组织党组织组建率" in dashboard
