"""Control and invisible characters in typed text (domain/text.py): refused with a Chinese message in every
single-line field, kept as newlines and tabs only in multi-line ones; forms keep what was typed."""
import pytest
import sqlalchemy as sa

from domain import DomainError, funds
from domain.settings import get_settings
from domain.text import check_text
from models import Application, AppState, FundItem, Organisation, Role, User, db
from tests.test_application_routes import application_form
from tests.test_auth_routes import register_form

REFUSED_EVERYWHERE = ["\x00", "\x07", "\x1b[31m", "\x7f", "\x85", "\u202e", "\u2066", "\u200f", "\u2028", "\u2029",
                      "\ufffe", "\U0010ffff", "\ufdd0"]
# Invisible in a name (zero-width, fillers that look blank, variation selectors, a BOM), but what emoji typed on a
# phone are made of, so a comment keeps them.
REFUSED_ON_ONE_LINE = ["\t", "\n", "\r", "\u200b", "\u200d", "\ufeff", "\u3164", "\u115f", "\uffa0", "\u034f",
                       "\ufe0f", "\U000e0100", "\u00ad"]


@pytest.mark.parametrize("ch", REFUSED_EVERYWHERE + REFUSED_ON_ONE_LINE)
def test_a_single_line_value_refuses_every_control_character(ch):
    with pytest.raises(DomainError, match="“组织名称”中含有.*此项只能填一行") as refused:
        check_text(f"长川{ch}制靴", "组织名称", "org_name")
    assert refused.value.field == "org_name"


@pytest.mark.parametrize("ch", REFUSED_EVERYWHERE)
def test_a_multi_line_value_refuses_all_but_newlines_and_tabs(ch):
    with pytest.raises(DomainError, match=f"不可见的控制字符（U\\+{ord(ch[0]):04X}）"):
        check_text(f"第一行{ch}第二行", "意见", multiline=True)


def test_what_people_type_passes():
    assert check_text("长川制靴有限公司（通辽）A-1 №5", "组织名称") == "长川制靴有限公司（通辽）A-1 №5"
    assert check_text("张\ue000明", "姓名") == "张\ue000明"  # a rare character some input methods type as private use
    text = "第一行\r\n\t第二行 ❤️ 👨\u200d👩\u200d👧\n"
    assert check_text(text, "意见", multiline=True) == text


@pytest.mark.parametrize("ch", REFUSED_ON_ONE_LINE)
def test_a_multi_line_value_keeps_line_breaks_tabs_and_emoji_parts(ch):
    assert check_text(f"甲{ch}乙", "意见", multiline=True) == f"甲{ch}乙"


def test_an_uploaded_file_name_loses_what_the_rule_refuses():
    from domain.files import clean_filename

    assert clean_filename("\u202egpj.\x1b[31m\u200b摸底表\u2028.csv", ".csv") == "gpj.[31m摸底表.csv"


def test_registration_refuses_a_tab_in_the_name_and_keeps_what_was_typed(client, app):
    form = register_form(org_name="通辽测试物流有限公司\t", contact_name="李\u202e丽娜")
    response = client.post("/auth/register", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "“组织名称”中含有换行或制表符，此项只能填一行" in page
    assert "“联系人”中含有不可见的控制字符（U+202E）" in page
    assert 'value="0475-8123456"' in page and 'value="物流园区1号"' in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 0


def test_a_comment_keeps_its_lines_and_refuses_a_control_character(client, app, login_as, make_application):
    refused, kept = make_application("submitted"), make_application("submitted")
    login_as(Role.UNIT_REVIEWER, unit_code="industrial_park")
    response = client.post(f"/applications/{refused.id}/steps/return", data={"version": 1, "comment": "请补充\x07材料"})
    assert "“意见”中含有不可见的控制字符（U+0007）" in response.get_data(as_text=True)
    client.post(f"/applications/{kept.id}/steps/return", data={"version": 1, "comment": "请补充：\n\t1. 组织关系证明"})
    with app.app_context():
        assert db.session.get(Application, refused.id).state is AppState.SUBMITTED
        returned = db.session.get(Application, kept.id)
        assert returned.state is AppState.RETURNED and returned.history[-1].comment == "请补充：\n\t1. 组织关系证明"


def test_a_member_name_with_a_newline_is_named_beside_its_row(client, app, login_as, make_org):
    login_as(Role.APPLICANT, organisation=make_org(formal_members=4, probationary_members=1))
    form = application_form()
    form["member_name"] = ["党员1\n党员2", *form["member_name"][1:]]
    response = client.post("/applications/new", data=form)
    page = response.get_data(as_text=True)
    assert "“姓名”中含有换行或制表符，此项只能填一行" in page and "党员人数符合条件" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == 0


def test_settings_refuse_control_characters_and_font_names_css_would_read(client, app, login_as):
    login_as(Role.ADMIN)
    fields = {"doc_prefix": "", "issuing_organ": "", "body_font": "", "title_font": ""}
    organ = client.post("/admin/settings", data={**fields, "issuing_organ": "中共某某\n工作委员会"}, follow_redirects=True)
    assert "中含有换行或制表符" in organ.get_data(as_text=True)
    font = client.post("/admin/settings", data={**fields, "body_font": 'X"; } @import url(x); {'}, follow_redirects=True)
    assert "字体名称只能包含文字、数字、空格、点、下划线和连字符" in font.get_data(as_text=True)
    with app.app_context():
        settings = get_settings()
        assert settings["issuing_organ"] == "中共通辽经济技术开发区工作委员会"
        assert settings["body_font"] == "Noto Serif CJK SC"


def test_a_batch_note_posted_without_a_form_is_checked_too(ctx, make_fund):
    item = make_fund("checked")
    finance = db.session.get(User, make_fund.finance_id[0])
    with pytest.raises(DomainError, match="“备注”中含有不可见的控制字符（U\\+001B）"):
        funds.create_batch([db.session.get(FundItem, item.id)], actor=finance, note="\x1b]8;;http://x\x1b\\")
