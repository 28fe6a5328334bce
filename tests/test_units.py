"""The units' 上级党组织 (初审单位与上级党组织): the admin names it, and the 批复 is addressed to it."""
import sqlalchemy as sa

from domain.reference import UNITS
from models import AuditEvent, Document, Role, Unit, db
from tests.conftest import unit_by_code
from tests.test_documents import approve


def _unit_id(app, code: str) -> int:
    with app.app_context():
        return unit_by_code(code).id


def test_every_seeded_unit_has_a_party_committee_for_superior(ctx):
    for code, name, _, superior in UNITS:
        unit = unit_by_code(code)
        assert unit.superior == superior and superior.startswith("中共") and superior.endswith("委员会")
        assert "党组" not in superior


def test_the_admin_sees_and_edits_a_units_superior(app, client, login_as):
    login_as(Role.ADMIN)
    page = client.get("/admin/units").get_data(as_text=True)
    assert "工商联党组" in page and "中共通辽经济技术开发区非公有制经济组织综合委员会" in page
    unit_id = _unit_id(app, "federation")
    form = client.get(f"/admin/units/{unit_id}/edit").get_data(as_text=True)
    assert 'value="中共通辽经济技术开发区非公有制经济组织综合委员会"' in form
    done = client.post(f"/admin/units/{unit_id}/edit", data={"name": "工商联党组", "superior": "中共某某综合委员会"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/units")
    with app.app_context():
        assert db.session.get(Unit, unit_id).superior == "中共某某综合委员会"
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "update_unit"))
        assert event.data["previous_superior"] == "中共通辽经济技术开发区非公有制经济组织综合委员会"


def test_a_blank_superior_means_the_zone_committee(app, client, login_as):
    login_as(Role.ADMIN)
    unit_id = _unit_id(app, "street_east")
    assert client.post(f"/admin/units/{unit_id}/edit", data={"name": "东城街道区域党工委", "superior": " "}).status_code == 302
    page = client.get("/admin/units").get_data(as_text=True)
    assert "中共通辽经济技术开发区工作委员会（党工委直接领导）" in page


def test_bad_unit_values_are_refused_and_kept(app, client, login_as):
    login_as(Role.ADMIN)
    unit_id, other = _unit_id(app, "federation"), _unit_id(app, "civil_affairs")
    cases = [({"name": "", "superior": "x"}, "此项为必填项"),
             ({"name": "民政部门社会组织党委", "superior": "x"}, "已有名为“民政部门社会组织党委”的初审单位"),
             ({"name": "工商联党组", "superior": "中" * 81}, "不超过80个字"),
             ({"name": "工商联党组", "superior": "中共\u202e某委员会"}, "上级党组织")]
    for data, message in cases:
        response = client.post(f"/admin/units/{unit_id}/edit", data=data)
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and message in page, (data, page[:200])
    with app.app_context():
        assert db.session.get(Unit, unit_id).superior == "中共通辽经济技术开发区非公有制经济组织综合委员会"
        assert db.session.get(Unit, other).name == "民政部门社会组织党委"


def test_the_approval_is_addressed_to_the_superior_the_admin_set(app, client, login_as, make_application,
                                                                 make_instructor, make_user, tmp_path):
    login_as(Role.ADMIN)
    unit_id = _unit_id(app, "federation")
    client.post(f"/admin/units/{unit_id}/edit", data={"name": "工商联党组", "superior": "中共通辽经济技术开发区综合党委"})
    made = make_application("unit_approved", unit_code="federation")
    approve(app, made, make_user(Role.ZONE_APPROVER).id, make_instructor().id)
    from tests.pdf_measure import measure

    with app.app_context():
        pdf = db.session.scalar(sa.select(Document).filter_by(application_id=made.id)).file.data
    text = "".join(page.text.replace("\n", "") for page in measure(pdf))
    assert "中共通辽经济技术开发区综合党委：" in text and "隶属中共通辽经济技术开发区综合党委领导" in text
    assert "工商联党组" not in text
