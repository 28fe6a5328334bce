"""The dashboard and to-do exports (XLSX) as an office prints them: title and as-of line, frozen header repeated on
every page, A4, autofilter, per cent as per cent, columns wide enough for every unit name and credit code."""
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from domain.dashboard import TodoFilter
from domain.todo_exports import todo_xlsx
from models import Organisation, OrgKind, Role, TodoExport, db
from tests.conftest import export_todo, unit_by_code, valid_credit_code, zone_today
from tests.test_dashboard import registry  # noqa: F401 - a fixture

LONGEST_UNIT = "市场监管部门个体私营经济党委"  # the longest of the nine units' names
LONG_NAME = "通辽经济技术开发区" + "新材料科技研发与产业化应用" * 3 + "有限责任公司"


def today() -> str:
    day = zone_today()
    return f"{day.year}年{day.month}月{day.day}日"


def workbook(client, url):
    response = export_todo(client, url.split("?", 1)[1]) if url.startswith("/registry/todo.xlsx") else client.get(url)
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.data))


def printed_mm(ws) -> float:
    """The columns' printed width at 100 %: a width unit is 7 px of the default font, at 96 px to the inch."""
    return sum(int(ws.column_dimensions[get_column_letter(n)].width * 7) for n in range(1, ws.max_column + 1)) \
        * 25.4 / 96


def assert_prints_as_a_list(ws, columns: str, last_row: int):
    """Frozen under the header, the header on every page, A4 at 100 % with room for the columns, page numbers,
    a filter over every row."""
    assert ws.freeze_panes == "A4"
    assert ws.print_title_rows == "$3:$3"
    assert ws.auto_filter.ref == f"A3:{columns}{last_row}"
    assert ws.page_setup.paperSize == 9  # A4 in OOXML's numbering
    assert ws.page_setup.scale == 100 and not ws.sheet_properties.pageSetUpPr.fitToPage
    paper = 297 if ws.page_setup.orientation == "landscape" else 210
    assert printed_mm(ws) <= paper - 2 * ws.page_margins.left * 25.4
    assert ws.oddFooter.center.text == "第 &P 页，共 &N 页"
    assert {str(r) for r in ws.merged_cells.ranges} == {f"A1:{columns}1", f"A2:{columns}2"}
    assert ws["A3"].font.b and ws["A3"].font.name == "宋体"


def test_a_filtered_todo_list_says_what_it_is_as_of_when(client, login_as, make_org):
    make_org(name="乙公司", formal_members=4)
    make_org(name=LONG_NAME, formal_members=7, unit_code="market_regulation", address="通辽市开发区辽河大街" * 4)
    make_org(name="丙协会", kind=OrgKind.SOCIAL_ORG, formal_members=3)
    login_as(Role.ZONE_APPROVER)
    with client.application.app_context():
        park_id = unit_by_code("industrial_park").id
    ws = workbook(client, f"/registry/todo.xlsx?list=build&unit_id={park_id}&kind=enterprise&q=公司").active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "通辽经济技术开发区应建未建组织清单"
    assert rows[1][0] == f"截至{today()}　初审单位：新型工业园区党委；组织类别：非公企业；名称或代码含：公司"
    assert rows[2] == ("组织名称", "统一社会信用代码", "组织类别", "初审单位", "地址", "正式党员", "预备党员", "联系人",
                       "联系电话")
    assert [r[0] for r in rows[3:]] == ["乙公司"]
    assert_prints_as_a_list(ws, "I", 4)
    assert ws.page_setup.orientation == "portrait"  # short rows fit it; the next test's long ones do not


def test_every_unit_name_and_credit_code_fits_its_column(client, login_as, make_org):
    make_org(name=LONG_NAME, formal_members=7, unit_code="market_regulation", address="通辽市开发区辽河大街" * 4)
    make_org(name="乙公司", formal_members=4)
    login_as(Role.ADMIN)
    ws = workbook(client, "/registry/todo.xlsx?list=build").active
    assert ws["A2"].value == f"截至{today()}　初审单位：全部；组织类别：全部"
    widths = {letter: ws.column_dimensions[letter].width for letter in "ABDE"}
    # A Chinese character needs two of Excel's width units, a digit or Latin letter one.
    assert widths["D"] >= 2 * len(LONGEST_UNIT) and widths["B"] >= 18
    assert ws["D4"].value == LONGEST_UNIT
    # The long organisation name and address wrap, in columns narrowed alike until the list fits A4 landscape.
    assert widths["A"] == widths["E"] < len(LONG_NAME)
    assert ws.page_setup.orientation == "landscape" and printed_mm(ws) <= 297 - 2 * ws.page_margins.left * 25.4
    assert ws["A4"].value == LONG_NAME and ws["A4"].alignment.wrap_text and ws["E4"].alignment.wrap_text


def test_a_reviewers_todo_list_names_their_unit(client, login_as, registry):  # noqa: F811
    login_as(Role.UNIT_REVIEWER, unit_code="civil_affairs")
    ws = workbook(client, "/registry/todo.xlsx?list=join").active
    assert ws["A1"].value == "通辽经济技术开发区应联未联组织清单"
    assert ws["A2"].value == f"截至{today()}　初审单位：民政部门社会组织党委；组织类别：全部"
    assert [r[0] for r in ws.iter_rows(min_row=4, values_only=True)] == ["庚协会"]


@pytest.mark.parametrize("role, scope", [(Role.ZONE_APPROVER, "全区"), (Role.UNIT_REVIEWER, "新型工业园区党委")])
def test_the_dashboard_export_shows_rates_as_per_cent(client, login_as, registry, role, scope):  # noqa: F811
    login_as(role)
    book = workbook(client, "/registry/dashboard.xlsx")
    for ws in book.worksheets:
        assert ws["A1"].value == f"通辽经济技术开发区党组织组建率看板：{ws.title}"
        assert ws["A2"].value == f"截至{today()}　范围：{scope}"
        assert_prints_as_a_list(ws, get_column_letter(ws.max_column), ws.max_row)
    rate = book["组建率"]
    assert [c.value for c in rate[3]][4:6] == ["组建率", "名录覆盖率"]
    first = rate[4]
    assert first[0].value == scope and first[4].number_format == first[5].number_format == "0.0%"
    expected = (0.5, 3 / 7) if role is Role.ZONE_APPROVER else (2 / 4, 2 / 5)
    assert (first[4].value, first[5].value) == pytest.approx(expected)
    overview = book["概况"]
    assert [(r[0].value, r[1].value, r[1].number_format) for r in overview.iter_rows(min_row=4)][2] == \
        ("参考值", pytest.approx(0.848), "0.0%")
    if role is Role.ZONE_APPROVER:
        units = book["按初审单位"]
        assert units.column_dimensions["A"].width >= 2 * len(LONGEST_UNIT)
        assert LONGEST_UNIT in {r[0] for r in units.iter_rows(min_row=4, values_only=True)}
        empty = next(r for r in units.iter_rows(min_row=4) if r[0].value == "东城街道区域党工委")
        assert empty[4].value is None  # no organisation with members: no rate, not 0%


def test_eleven_thousand_organisations_export_whole(ctx):
    """The size of the zone's registry (the bench seeds 11,000): every row arrives, the filter covers them all."""
    park = unit_by_code("industrial_park")
    db.session.execute(sa.insert(Organisation), [
        dict(name=f"企业{n:05d}", credit_code=valid_credit_code(100000 + n), kind=OrgKind.ENTERPRISE, unit_id=park.id,
             address="通辽市开发区", contact_name="联系人", contact_phone="13800000000", employees=20,
             formal_members=3 + n % 5) for n in range(11000)])
    ws = load_workbook(io.BytesIO(todo_xlsx(TodoFilter(list="build"), None))).active
    names = [row[0] for row in ws.iter_rows(min_row=4, values_only=True)]
    assert len(names) == 11000 and len(set(names)) == 11000
    assert ws.auto_filter.ref == "A3:I11003"


@pytest.mark.parametrize("query, message", [
    ("list=nope", "清单应为“应建未建”或“应联未联”"),
    ("list=build&unit_id=999999", "初审单位不存在"),
    ("list=build&kind=robot", "组织类别无法识别"),
    ("list=build&q=" + "长" * 101, "名称或代码不超过100个字"),
])
def test_an_export_of_filter_values_the_page_does_not_offer_is_refused(client, login_as, make_org, query, message):
    """The list page shows an unknown unit, kind or list as no filter; an export asked for one (a hand-made URL:
    the page's button carries only the values it shows) is refused in words, and nothing is queued."""
    make_org(name="乙公司", formal_members=4)
    login_as(Role.ZONE_APPROVER)
    response = client.post(f"/registry/todo/exports?{query}")
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    with client.application.app_context():
        assert db.session.scalar(sa.select(sa.func.count(TodoExport.id))) == 0
    page = client.get("/registry/todo?unit_id=999999&kind=robot").get_data(as_text=True)
    assert "乙公司" in page
