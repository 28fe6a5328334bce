"""The applicant's journey on a phone (375 x 812): apply with attachments, get through a failed save, submit,
and follow the progress. No page may be wider than the screen: wide tables scroll inside their own wrapper.
"""
import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from domain import applications as verbs
from models import AppState, Application, Instructor, Role, User, db
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 812}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%proof\n"

# What sticks out past the right edge, leaving out what scrolls inside a .table-responsive wrapper.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.body.querySelectorAll('*')].filter(e => {
    if (e.closest('.table-responsive, .visually-hidden, .visually-hidden-focusable')) return false;
    const box = e.getBoundingClientRect();
    return box.width > 0 && box.right > width + 0.5;
  }).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string'
    ? '.' + e.className.trim().split(/\\s+/).join('.') : ''));
  return {scrollWidth: document.documentElement.scrollWidth, wide: wide.slice(0, 10)};
}"""


def fits_the_phone(page: Page, shots, name: str) -> None:
    """Nothing wider than 375 px, nothing serious for axe at this width; a screenshot of the page to look at."""
    page.screenshot(path=shots / f"{name}.png", full_page=True)
    result = page.evaluate(OVERFLOW)
    assert result["scrollWidth"] <= PHONE["width"] and not result["wide"], f"{name} overflows: {result}"
    # A button just clicked may still be fading between its colours; axe would measure the colour in between.
    page.evaluate("document.getAnimations().forEach(a => a.finish())")
    serious = [(v["id"], [n["target"] for n in v["nodes"]]) for v in Axe().run(page).response["violations"]
               if v["impact"] in ("serious", "critical")]
    assert not serious, f"{name}: {serious}"


def test_the_applicant_applies_and_follows_on_a_phone(browser, live_server, app, make_org, make_user,
                                                      make_instructor, shots):
    org = make_org(name="通辽手机测试机械制造有限责任公司", formal_members=4, probationary_members=1)
    contact = make_user(Role.APPLICANT, organisation=org, username="phone-contact")
    reviewer = make_user(Role.UNIT_REVIEWER, unit_code="industrial_park")
    zone = make_user(Role.ZONE_APPROVER)
    make_instructor(name="乌云其木格", home_organ="开发区党群工作部")
    context = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=1, has_touch=True,
                                  is_mobile=True)
    page = context.new_page()

    page.goto(live_server + "/auth/register")
    fits_the_phone(page, shots, "01-register")
    page.goto(live_server + "/auth/login")
    fits_the_phone(page, shots, "02-login")
    page.get_by_label("用户名").fill(contact.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name=org.name)).to_be_visible()
    fits_the_phone(page, shots, "03-home")

    # The notices stay in sight; the rest of the navigation folds into the menu button, and opens.
    expect(page.get_by_role("link", name="通知")).to_be_visible()
    expect(page.get_by_role("link", name="我的组织")).to_be_hidden()
    page.get_by_role("button", name="展开导航").click()
    expect(page.get_by_role("link", name="我的组织")).to_be_visible()
    expect(page.locator("#nav-main.collapse.show")).to_be_visible()  # the opening animation is over
    fits_the_phone(page, shots, "04-menu")
    page.get_by_role("button", name="展开导航").click()
    expect(page.get_by_role("link", name="我的组织")).to_be_hidden()

    page.get_by_role("link", name="申请成立党组织").click()
    expect(page.get_by_role("heading", name="申请成立党组织")).to_be_visible()  # the form has loaded
    expect(page.locator(".member-row")).to_have_count(5)  # the list follows the declared 4 + 1 members
    page.get_by_role("button", name="添加一行").click()  # one more by hand, from the server
    expect(page.locator(".member-row")).to_have_count(6)
    members = [("张海军", "正式党员"), ("李秀英", "正式党员"), ("王立新", "正式党员"), ("赵春生", "正式党员"),
               ("刘晓东", "预备党员")]
    for i, (name, status) in enumerate(members):
        row = page.locator(".member-row").nth(i)
        row.locator("input[name=member_name]").fill(name)
        if i != 4:  # the last date is left out: the first save fails on it
            row.locator("input[name=member_joined]").fill(f"201{i}-07-01")
        row.locator("select[name=member_status]").select_option(label=status)
    page.get_by_label("拟任书记").fill("张海军")
    page.get_by_label("申请理由").fill("公司现有正式党员4名、预备党员1名，申请成立党支部。")
    page.get_by_label("附件").set_input_files([
        {"name": "党员名册（2026年度，含组织关系转接情况说明）.png", "mimeType": "image/png", "buffer": PNG},
        {"name": "组织关系证明.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    fits_the_phone(page, shots, "05-form")

    # The save fails on the missing date: what was typed and both files are still there.
    page.get_by_role("button", name="保存并提交").click()
    expect(page.get_by_text("请填写入党日期，格式如 2015-07-01", exact=True)).to_be_visible()
    expect(page.locator(".error-summary")).to_be_focused()  # the summary at the top links to the row
    # The field the message is about is marked, and a screen reader reads the message with it.
    missing = page.locator(".member-row").nth(4).get_by_label("入党日期")
    expect(missing).to_have_attribute("aria-invalid", "true")
    expect(missing).to_have_accessible_description("请填写入党日期，格式如 2015-07-01")
    expect(page.get_by_label("申请理由")).to_have_value("公司现有正式党员4名、预备党员1名，申请成立党支部。")
    kept = page.locator("#kept-files")
    expect(kept.get_by_label("组织关系证明.pdf")).to_be_checked()
    expect(kept.get_by_label("党员名册（2026年度，含组织关系转接情况说明）.png")).to_be_checked()
    fits_the_phone(page, shots, "06-form-with-errors")

    page.locator(".member-row").nth(4).locator("input[name=member_joined]").fill("2020-07-01")
    page.get_by_role("button", name="保存并提交").click()
    expect(page.get_by_text("申请已提交，请等待初审单位审核。")).to_be_visible()
    expect(page.get_by_role("link", name="组织关系证明.pdf")).to_be_visible()
    fits_the_phone(page, shots, "07-submitted")

    # The unit passes it and the zone approves (their desks are desktop ones; tested elsewhere).
    with app.app_context():
        application = db.session.scalar(sa.select(Application))
        assert len(application.attachments) == 2
        verbs.pass_application(application, actor=db.session.get(User, reviewer.id), version=application.version,
                               comment="材料齐全，同意上报")
        verbs.approve_application(application, actor=db.session.get(User, zone.id), version=application.version,
                                  instructor=db.session.scalar(sa.select(Instructor)))
        db.session.commit()
        assert application.state is AppState.APPROVED

    page.goto(live_server + "/applicant/")
    progress = page.get_by_label("办理进度")
    expect(progress.locator("[aria-current=step]")).to_contain_text("召开党员大会选举")
    fits_the_phone(page, shots, "08-home-approved")
    page.get_by_role("link", name="查看和办理申请").click()
    expect(page.locator("#application-card .badge").first).to_have_text("已批复")
    expect(page.locator("#application-card")).to_contain_text("乌云其木格")
    fits_the_phone(page, shots, "09-application-approved")
    page.goto(live_server + "/applications/notifications")
    fits_the_phone(page, shots, "10-notifications")
    context.close()
