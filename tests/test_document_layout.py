"""The 批复 as an organisation department files it: its wording, and its layout measured in mm on the PDF against
GB/T 9704-2012 (A4; type area 156 x 225 mm, 37 mm from the top and 28 mm from the left; 22 lines of 28 characters).

Documents are rendered straight from unsaved rows, so that many variants (names long and short, each kind of
organisation, a seal or none, a 抄送 line or none) cost a render each and no workflow.
"""
from dataclasses import dataclass
from datetime import date
from io import BytesIO

import pytest
from PIL import Image, ImageDraw

from domain.documents import WORDING, _title_pieces, member_count, render_document, signature_layout, title_lines
from domain.settings import DEFAULTS, set_seal
from models import (
    Application, Document, DocumentKind, Instructor, OrgKind, Organisation, PartyOrgKind, Role, Unit, User, db,
)
from tests.conftest import unit_by_code
from tests.pdf_measure import Page, measure

TOP, LEFT, WIDTH, HEIGHT = 37.0, 28.0, 156.0, 225.0
RIGHT, BOTTOM = LEFT + WIDTH, TOP + HEIGHT  # 184, 262
LINE, PITCH = HEIGHT / 22, WIDTH / 28
DAY = date(2026, 12, 5)
NO_LINE_START = "，。、；：？！）》”’"  # marks a line may not begin with
ORGAN = DEFAULTS["issuing_organ"]


@dataclass
class Made:
    pdf: bytes
    pages: list[Page]

    @property
    def text(self) -> str:
        return "".join(p.text.replace("\n", "") for p in self.pages)


def render(kind=DocumentKind.APPROVAL, *, name="通辽市科尔沁新材料有限公司", org_kind=PartyOrgKind.BRANCH,
           formal=5, probationary=1, partners="", committee="党员1、党员2、党员3", unit="industrial_park",
           superior=None, instructor=True, title_pieces=None, context=None, **settings) -> Made:
    unit_row = unit_by_code(unit) if superior is None else Unit(name="某单位", superior=superior)
    organisation = Organisation(name=name, credit_code="91150500MA0000000X", kind=OrgKind.ENTERPRISE)
    application = Application(
        organisation=organisation, unit=unit_row, requested_kind=org_kind, formal_members=formal,
        probationary_members=probationary, partner_organisations=partners, submitted_at=None,
        instructor=Instructor(name="巴特尔", home_organ="开发区党工委组织部") if instructor else None,
        election_date=date(2026, 12, 1), voters_expected=formal, voters_present=formal, secretary_name="党员1",
        secretary_votes=formal, committee_members=committee)
    document = Document(application=application, kind=kind, year=2026, serial=12, number="通开党工字〔2026〕12号",
                        title="".join(title_pieces or _title_pieces(application, kind)), token="t" * 43)
    pdf = render_document(document, {**DEFAULTS, **settings}, DAY, title_pieces=title_pieces, context=context)
    db.session.expunge_all()  # nothing of this reaches the database
    return Made(pdf, measure(pdf))


@pytest.fixture
def seal(ctx, make_user):
    """A transparent PNG with a red ring, uploaded as the zone's seal."""
    image = Image.new("RGBA", (420, 420), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((10, 10, 410, 410), outline=(230, 0, 18, 255), width=16)
    out = BytesIO()
    image.save(out, "PNG")
    stored = set_seal("seal.png", out.getvalue(), actor=db.session.get(User, make_user(Role.ADMIN).id))
    return str(stored.id)


def closing_page(made: Made) -> Page:
    return next(p for p in made.pages if p.has("此复。"))


# ---------------------------------------------------------------- the words

def test_the_approval_cites_the_request_gives_the_basis_then_decides(ctx):
    text = render().text
    assert "中共通辽经济技术开发区新型工业园区委员会：" in text
    assert "你委报来的《关于成立中共通辽市科尔沁新材料有限公司支部的请示》收悉。" in text
    assert "现有党员6名，其中正式党员5名、预备党员1名。" in text
    basis = text.index("根据《中国共产党章程》第三十条和《中国共产党支部工作条例（试行）》")
    assert basis < text.index("经党工委研究，现批复如下：") < text.index("一、同意成立中共通辽市科尔沁新材料有限公司支部，"
                                                                 "隶属中共通辽经济技术开发区新型工业园区委员会领导。")
    assert "二、选派巴特尔同志（开发区党工委组织部）为该党支部党建指导员" in text
    assert "三、请你委督促指导该党支部按照有关规定及时召开党员大会，选举产生党支部书记（必要时选举副书记）" in text
    assert "该党组织" not in text and "党组织委员会" not in text


def test_a_department_party_group_is_neither_addressee_nor_superior(ctx):
    """工商联党组 reviews, but a 党组 cannot lead a branch: the 批复 goes to the unit's 上级党组织."""
    text = render(unit="federation").text
    assert "工商联党组" not in text
    assert "中共通辽经济技术开发区非公有制经济组织综合委员会：" in text
    assert "隶属中共通辽经济技术开发区非公有制经济组织综合委员会领导" in text


def test_where_the_zone_committee_leads_the_approval_answers_the_organisation(ctx):
    text = render(superior="").text
    assert "通辽市科尔沁新材料有限公司：" in text
    assert "你单位报来的" in text and f"隶属{ORGAN}领导" in text
    assert "三、请你单位按照有关规定及时召开党员大会" in text


def test_zero_counts_are_left_out():
    assert member_count(5, 0) == "正式党员5名"
    assert member_count(0, 2) == "预备党员2名"
    assert member_count(5, 1) == "党员6名，其中正式党员5名、预备党员1名"


@pytest.mark.parametrize("kind, name_end, short, elects", [
    (PartyOrgKind.JOINT_BRANCH, "等单位联合支部", "该联合党支部", "选举产生联合党支部书记（必要时选举副书记）"),
    (PartyOrgKind.BRANCH, "支部", "该党支部", "选举产生党支部书记（必要时选举副书记）"),
    (PartyOrgKind.BRANCH_COMMITTEE, "支部委员会", "该党支部",
     "选举产生党支部委员会委员，由支部委员会选举产生书记、副书记"),
    (PartyOrgKind.GENERAL_BRANCH, "总支部委员会", "该党总支",
     "选举产生党的总支部委员会委员，由总支部委员会选举产生书记、副书记"),
    (PartyOrgKind.PARTY_COMMITTEE, "委员会", "该党委",
     "选举产生党的基层委员会委员，由委员会全体会议选举产生书记、副书记"),
])
def test_each_kind_is_named_and_elected_as_the_rules_say(ctx, kind, name_end, short, elects):
    counts = {PartyOrgKind.JOINT_BRANCH: (2, 0), PartyOrgKind.BRANCH: (5, 0), PartyOrgKind.BRANCH_COMMITTEE: (9, 0),
              PartyOrgKind.GENERAL_BRANCH: (60, 0), PartyOrgKind.PARTY_COMMITTEE: (120, 0)}[kind]
    text = render(org_kind=kind, formal=counts[0], probationary=counts[1],
                  partners="科尔沁物流有限公司、通辽市绿源环保科技有限公司" if kind is PartyOrgKind.JOINT_BRANCH else "").text
    assert f"同意成立中共通辽市科尔沁新材料有限公司{name_end}，" in text or f"联合成立中共通辽市科尔沁新材料有限公司{name_end}，" in text
    assert f"为{short}党建指导员" in text and elects in text
    assert "党组织委员会" not in text and "该党组织" not in text
    if kind in (PartyOrgKind.GENERAL_BRANCH, PartyOrgKind.PARTY_COMMITTEE):
        assert "《中国共产党章程》第三十条关于“党的基层组织，根据工作需要和党员人数，经上级党组织批准" in text
        assert "支部工作条例" not in text
    if kind is PartyOrgKind.JOINT_BRANCH:
        assert "应当按照地域相邻、行业相近、规模适当、便于管理的原则，成立联合党支部" in text
        assert "与科尔沁物流有限公司、通辽市绿源环保科技有限公司联合成立" in text
        assert "委员会" not in WORDING[kind].suffix


def test_the_election_approval_names_the_committee_then_the_secretary(ctx):
    text = render(DocumentKind.ELECTION_APPROVAL, org_kind=PartyOrgKind.BRANCH_COMMITTEE, formal=9,
                  committee="党员2、党员1，党员3").text
    assert "你委报来的《关于中共通辽市科尔沁新材料有限公司支部委员会选举结果的请示》收悉。" in text
    assert "于2026年12月1日召开党员大会，选举程序符合《中国共产党基层组织选举工作条例》的规定。" in text
    assert "同意党员1、党员2、党员3同志为中共通辽市科尔沁新材料有限公司支部委员会委员，党员1同志为书记。" in text
    assert "票" not in text and "应到" not in text  # the procedure is judged, the counts are not printed


def test_a_branch_without_committee_approves_its_secretary(ctx):
    text = render(DocumentKind.ELECTION_APPROVAL, org_kind=PartyOrgKind.BRANCH, committee="").text
    assert "同意党员1同志任中共通辽市科尔沁新材料有限公司支部书记。" in text
    assert "同志为" not in text and "委员，" not in text


# ---------------------------------------------------------------- the title

def test_the_title_breaks_between_words_and_no_line_starts_with_de(ctx):
    long_name = "科尔沁新型建筑材料股份有限公司"
    assert title_lines(["关于同意成立", f"中共{long_name}", "支部委员会的批复"]) == [
        "关于同意成立", f"中共{long_name}", "支部委员会的批复"]
    assert title_lines(["关于同意成立", "中共某公司", "支部的批复"]) == ["关于同意成立中共某公司支部的批复"]
    made = render(name=long_name, org_kind=PartyOrgKind.BRANCH_COMMITTEE, formal=9)
    title = [line.text for line in made.pages[0].lines if line.size == 22]
    assert title == ["关于同意成立", f"中共{long_name}", "支部委员会的批复"]
    assert not any(line.startswith("的") for line in title)


# ---------------------------------------------------------------- the 版头

@pytest.fixture(params=["FandolFang", "Noto Serif CJK SC"])
def body_face(request, app, tmp_path):
    """The free substitute that `make` fetches, or none (an empty font folder): the system's Noto."""
    from domain.fonts import font_dir

    if request.param == "FandolFang":
        with app.app_context():
            if not (font_dir() / "FandolFang-Regular.otf").exists():
                pytest.skip("FandolFang is not in instance/fonts (make fonts)")
    else:
        app.config["FONT_DIR"] = str(tmp_path)
    return request.param.replace(" ", "-")


def test_the_organ_mark_number_and_red_rule_stand_where_the_standard_puts_them(ctx, body_face):
    made = render()
    page = made.pages[0]
    assert body_face in page.find("你委").chars[0].font  # the face the case is about
    check_head(page)


def check_head(page: Page) -> None:
    """The 版头 (GB/T 9704 7.2): the organ's red mark 35 mm into the type area, the 发文字号 centred, the red rule
    the type area's width 4 mm below it."""
    mark = page.find(ORGAN)
    assert mark.size == 24 and mark.chars[0].colour == (0.9, 0.0, 0.07)  # red
    assert mark.top == pytest.approx(TOP + 35, abs=0.3)  # its top 35 mm below the type area's
    number = page.find("通开党工字〔2026〕12号")
    assert (number.x0 + number.x1) / 2 == pytest.approx(LEFT + WIDTH / 2, abs=0.3)  # centred
    red, = [rule for rule in page.rules if rule.colour == (0.9, 0.0, 0.07)]
    assert (red.x0, red.x1) == (pytest.approx(LEFT, abs=0.1), pytest.approx(RIGHT, abs=0.1))  # the type area's width
    assert red.top - red.width / 2 - number.bottom == pytest.approx(4.0, abs=0.3)  # 4 mm below the 发文字号


# ---------------------------------------------------------------- the body

def test_body_lines_hold_28_characters_on_a_grid_of_22_lines(ctx):
    made = render(org_kind=PartyOrgKind.JOINT_BRANCH, formal=2, probationary=0,
                  partners="、".join(f"通辽市第{n}物流有限公司" for n in "一二三四五六七八九十"))
    check_grid(made, least_full=3)
    first_of_page_two = made.pages[1].lines[0]
    assert TOP <= first_of_page_two.top and first_of_page_two.bottom <= TOP + LINE  # in the grid's first line


def check_grid(made: Made, least_full: int) -> None:
    """The body (GB/T 9704 5.2.2): full lines of 28 characters at a pitch of 156/28 mm, one grid line of 225/22 mm
    apart, 22 to the page; at least `least_full` lines full."""
    # Every line that is not a paragraph's last and has no digit or Latin letter holds exactly 28 characters, but
    # for one the line-breaking rule (禁则) shortened: a mark that may not start a line took the character before it
    # to the next (现批复如 / 下：). The 27 left keep the pitch, one character short of the edge: WeasyPrint
    # justifies at spaces only, and Chinese has none.
    full = 0
    for page in made.pages:
        text = [line for line in page.lines if line.size == 16 and TOP <= line.top < BOTTOM]
        for line, after in zip(text, text[1:] + [None]):
            if line.x0 > LEFT + 1 or not all(ord(c.text) > 0x2000 for c in line.chars):
                continue  # indented (a paragraph's first), or with digits or letters of their own width
            if len(line.chars) == 27 and after is not None and after.x0 < LEFT + 1 and after.text[1:2] in NO_LINE_START:
                assert line.x1 == pytest.approx(RIGHT - PITCH, abs=0.3), line.text
            elif line.x1 > RIGHT - PITCH / 2:  # it reaches the last column
                assert len(line.chars) == 28, line.text
            else:
                continue  # a paragraph's last
            assert line.pitch() == pytest.approx(PITCH, abs=0.03)
            full += 1
    assert full >= least_full
    # Consecutive body lines are one grid line apart, 225/22 mm: 22 to the page.
    for page in made.pages:
        tops = [line.top for line in page.lines if line.size == 16 and line.top > page.find("：").top - 1
                and line.bottom < BOTTOM] if page.number == 1 else [line.top for line in page.lines if line.size == 16]
        steps = [b - a for a, b in zip(tops, tops[1:]) if b - a < 1.5 * LINE]
        assert steps and all(step == pytest.approx(LINE, abs=0.05) for step in steps)


def test_paragraphs_are_indented_two_characters(ctx):
    page = render().pages[0]
    assert page.find("你委").x0 - LEFT == pytest.approx(2 * PITCH, abs=0.15)


# ---------------------------------------------------------------- the closing

@pytest.mark.parametrize("organ", [ORGAN, "开发区党工委"])
def test_the_signature_is_centred_over_the_date_four_characters_from_the_right(ctx, organ):
    check_signature(closing_page(render(issuing_organ=organ)), organ)


def check_signature(page: Page, organ: str) -> None:
    """The signature (GB/T 9704 7.3.5.2) centred over the 成文日期, a line above it, the date four characters from
    the right where the name allows."""
    date_line = page.find("2026年12月5日")
    name = next(line for line in page.lines if line.text == organ and line.top > page.find("此复。").top)
    assert (name.x0 + name.x1) / 2 == pytest.approx((date_line.x0 + date_line.x1) / 2, abs=0.3)
    assert name.x1 <= RIGHT + 0.2
    if organ == "开发区党工委":  # short: the date stands four characters from the right
        assert RIGHT - date_line.x1 == pytest.approx(4 * PITCH, abs=0.5)
    else:  # too long to centre there: it ends at the edge, the date still under its middle
        assert name.x1 == pytest.approx(RIGHT, abs=0.2)
    assert date_line.top - name.top == pytest.approx(LINE, abs=0.05)


def test_the_seal_presses_on_the_signature_from_within_a_line_of_the_text(ctx, seal):
    page = closing_page(render(seal_file_id=seal))
    stamp, = [image for image in page.images if image.bottom - image.top > 30]
    closing, name, day = page.find("此复。"), page.find(ORGAN), page.find("2026年12月5日")
    assert 0 <= stamp.top - closing.bottom <= LINE  # its top within one line of the text
    centre = (stamp.top + stamp.bottom) / 2
    assert name.top >= centre and day.bottom <= stamp.bottom  # name and date in its lower half
    assert (stamp.x0 + stamp.x1) / 2 == pytest.approx((day.x0 + day.x1) / 2, abs=1.0)


@pytest.mark.parametrize("length", range(4, 40, 5))
def test_the_closing_never_stands_alone_on_a_page(ctx, length):
    """However far the text runs, the page with 此复 carries at least two lines of the text above it."""
    partners = "、".join(f"通辽市第{n}物流有限公司" for n in range(length))[:480]
    made = render(org_kind=PartyOrgKind.JOINT_BRANCH, formal=2, probationary=0, partners=partners)
    page = closing_page(made)
    closing = page.find("此复。")
    above = [line for line in page.lines if TOP <= line.top < closing.top and line.size == 16]
    assert len(above) >= 2, [line.text for line in page.lines]


# ---------------------------------------------------------------- the 版记 and the foot

def test_the_banji_ends_the_last_even_page_with_its_rules(ctx):
    made = render(copy_to="中共通辽市委组织部，通辽市非公有制经济组织和社会组织工作委员会")
    assert len(made.pages) % 2 == 0
    last = made.pages[-1]
    rules = [rule for rule in last.rules if rule.x1 - rule.x0 > WIDTH - 1]
    assert [round(rule.width, 2) for rule in rules] == [0.35, 0.25, 0.35]  # thick, thin, thick
    assert rules[-1].top + rules[-1].width / 2 == pytest.approx(BOTTOM, abs=0.2)  # on the type area's foot
    copy, printed = last.find("抄送："), last.find("印发")
    assert rules[0].top < copy.top < rules[1].top < printed.top < rules[2].top
    assert copy.x0 - LEFT == pytest.approx(14 * 25.4 / 72, abs=0.3)  # one 4号 character in
    copy_lines = [line for line in last.lines if rules[0].top < line.top < rules[1].top]
    assert len(copy_lines) == 2 and copy_lines[1].text.endswith("工作委员会。")
    assert copy_lines[1].x0 == pytest.approx(copy.chars[3].x0, abs=0.2)  # a second line starts under the colon's next
    assert printed.text == "中共通辽经济技术开发区工作委员会办公室2026年12月5日印发"
    office = printed.chars[0]
    day = next(c for c in printed.chars if c.text == "2")
    assert office.x0 - LEFT == pytest.approx(14 * 25.4 / 72, abs=0.3)
    assert RIGHT - printed.x1 == pytest.approx(14 * 25.4 / 72, abs=0.3) and day.x0 > office.x0 + 100
    assert not any(page.has("印发") for page in made.pages[:-1])


def test_without_a_copy_line_the_banji_has_two_thick_rules(ctx):
    check_banji(render())


def check_banji(made: Made) -> None:
    """The 版记 without a 抄送 line (GB/T 9704 7.4): on the last, even page, between two thick rules, the lower on
    the type area's foot; nowhere before."""
    last = made.pages[-1]
    assert len(made.pages) % 2 == 0 and not last.has("抄送")
    rules = [r for r in last.rules if r.x1 - r.x0 > WIDTH - 1]
    assert [round(r.width, 2) for r in rules] == [0.35, 0.35]
    assert rules[-1].top + rules[-1].width / 2 == pytest.approx(BOTTOM, abs=0.2)
    assert rules[0].top < last.find("印发").top < rules[1].top
    assert not any(page.has("印发") for page in made.pages[:-1])


def test_page_numbers_sit_7_mm_below_the_type_area_outside_edge_in(ctx, body_face):
    made = render()
    for page in made.pages:
        number = page.find(f"—{page.number}—")
        assert number.top - BOTTOM == pytest.approx(7.0, abs=0.3)
        one = 14 * 25.4 / 72
        if page.number % 2:
            assert RIGHT - number.x1 == pytest.approx(one, abs=0.5)
        else:
            assert number.x0 - LEFT == pytest.approx(one, abs=0.5)


def test_the_verification_block_is_below_the_banji_labelled_with_the_number(ctx):
    made = render()
    last = made.pages[-1]
    label = last.find("发文字号：通开党工字〔2026〕12号")
    assert label.top > BOTTOM and last.has("t" * 43)
    qr = [mark for mark in last.marks if mark.x1 - mark.x0 < 3 and mark.bottom - mark.top < 3]  # its modules
    assert len(qr) > 100 and min(mark.top for mark in qr) > BOTTOM
    assert not any(mark.bottom - mark.top < 3 and mark.x1 - mark.x0 < 3 for page in made.pages[:-1]
                   for mark in page.marks)
    for page in made.pages:  # nothing of it in the text
        assert not any("核验" in line.text for line in page.lines if line.bottom <= BOTTOM)


def test_a_banji_that_does_not_fit_goes_to_the_next_even_page_unnumbered(ctx):
    """Text that fills page 2 leaves no room for the 版记: page 3 stays blank and page 4 holds the 版记; neither
    carries a page number."""
    for length in range(10, 40):
        partners = "、".join(f"通辽市第{n}号物流有限公司" for n in range(length))[:490]
        made = render(org_kind=PartyOrgKind.JOINT_BRANCH, formal=2, probationary=0, partners=partners,
                      name="通辽经济技术开发区科尔沁新型建筑材料股份有限公司")
        if len(made.pages) == 4 and not made.pages[2].lines:
            break
    else:
        pytest.fail("no length of the text pushed the 版记 alone past page 2")
    assert made.pages[1].has("此复。") and made.pages[1].has("—2—")
    assert [line.text for line in made.pages[3].lines if line.bottom <= BOTTOM] == [
        "中共通辽经济技术开发区工作委员会办公室2026年12月5日印发"]
    assert not made.pages[3].has("—4—")


def test_the_layout_helpers():
    short = signature_layout("开发区党工委", "2026年12月5日")
    assert short.block_right == pytest.approx(4 * PITCH, abs=0.01)
    long = signature_layout(ORGAN, "2026年12月5日")
    assert long.block_right == 0.0


def test_a_long_unbroken_run_of_letters_stays_within_the_type_area(ctx):
    """Names are typed by applicants: a run of Latin letters with no break opportunity wraps inside the type area
    rather than running off the paper (seen: 2,962 mm)."""
    made = render(org_kind=PartyOrgKind.JOINT_BRANCH, formal=2, probationary=0, name="W" * 100,
                  partners="W" * 480, committee="党员1、" + "W" * 480)
    for page in made.pages:
        for line in page.lines:
            if line.size == 16:
                assert line.x1 <= RIGHT + 0.3, line.text
