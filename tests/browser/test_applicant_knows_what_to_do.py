"""The applicant knows what to do, and the card's panels stay put (issue 29): the return reason on top of the card
and the form, the member list following the declared counts, the phone home leading with the state and the next
action, the notices' count outside the folded menu; one action panel open at a time, opening below the buttons."""
import pytest
from playwright.sync_api import expect

from domain import applications as verbs
from models import Application, Role, User, db
from tests.browser.helpers import log_in

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 812}
DESK = {"width": 1366, "height": 768}


def returned_application(app, make_application, make_user, reason="请补充党员组织关系转接证明"):
    made = make_application("submitted")
    reviewer = make_user(Role.UNIT_REVIEWER)
    applicant = make_user(Role.APPLICANT, organisation=made.organisation)
    with app.app_context():
        application = db.session.get(Application, made.id)
        verbs.return_application(application, actor=db.session.get(User, reviewer.id), comment=reason,
                                 internal_note="", version=application.version)
        db.session.commit()
    return made, applicant


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["375", "1366"])
def test_a_returned_application_leads_with_its_reason(browser, live_server, app, make_application, make_user,
                                                      viewport, shots):
    made, applicant = returned_application(app, make_application, make_user)
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    log_in(page, live_server, applicant.username)
    # The home: state and next action above the organisation's details; the notice count in sight.
    apply, details = page.locator("#apply-heading"), page.locator("#org-heading")
    assert apply.bounding_box()["y"] < details.bounding_box()["y"]
    if viewport is PHONE:
        assert apply.bounding_box()["y"] < PHONE["height"]  # on the first screen
        expect(page.get_by_role("button", name="展开导航")).to_be_visible()
    expect(page.locator("#bell-count")).to_be_visible()
    expect(page.locator("#bell-count")).to_have_text("未读通知1")
    page.screenshot(path=shots / f"home-returned-{viewport['width']}.png")
    page.get_by_role("link", name="查看和办理申请").click()
    reason = page.get_by_role("note", name="退回理由")
    expect(reason).to_contain_text("请补充党员组织关系转接证明")
    assert reason.bounding_box()["y"] < page.locator("#application-card dl").bounding_box()["y"]
    page.screenshot(path=shots / f"card-returned-{viewport['width']}.png")
    page.get_by_role("link", name="修改申请").click()
    expect(page.get_by_role("note", name="退回理由")).to_contain_text("请补充党员组织关系转接证明")
    page.context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["375", "1366"])
def test_the_member_list_follows_the_declared_counts(browser, live_server, make_org, make_user, viewport, shots):
    org = make_org(formal_members=3, probationary_members=0)
    applicant = make_user(Role.APPLICANT, organisation=org)
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    log_in(page, live_server, applicant.username)
    page.goto(live_server + "/applications/new")
    rows = page.locator(".member-row")
    expect(rows).to_have_count(3)
    page.get_by_label("预备党员人数").fill("2")
    expect(rows).to_have_count(5)
    expect(rows.nth(4).locator("select[name=member_status]")).to_have_value("probationary")
    expect(rows.nth(2).locator("select[name=member_status]")).to_have_value("formal")
    rows.nth(0).locator("input[name=member_name]").fill("张三")
    page.get_by_label("正式党员人数").fill("1")
    page.get_by_label("预备党员人数").fill("0")
    expect(rows).to_have_count(1)  # the blank rows go; the filled one stays
    expect(rows.nth(0).locator("input[name=member_name]")).to_have_value("张三")
    page.get_by_label("正式党员人数").fill("2")
    expect(rows).to_have_count(2)
    rows.nth(0).get_by_role("button", name="删除").click()
    expect(rows).to_have_count(1)
    expect(page.locator("input[name=member_name][value='张三']")).to_have_count(0)
    page.screenshot(path=shots / f"members-{viewport['width']}.png", full_page=True)
    page.context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["375", "1366"])
def test_one_action_panel_at_a_time_and_the_buttons_stay(browser, live_server, make_application, make_user,
                                                        viewport, shots):
    made = make_application("submitted")
    reviewer = make_user(Role.UNIT_REVIEWER)
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    log_in(page, live_server, reviewer.username)
    page.goto(f"{live_server}/applications/{made.id}")
    summaries = page.locator("#application-card summary")
    assert summaries.count() >= 3
    where = ("els => els.map(e => { const r = e.getBoundingClientRect();"
             " return [r.x, r.y + scrollY, r.bottom + scrollY]; })")  # on the page, whatever the scroll
    before = summaries.evaluate_all(where)
    for i in range(summaries.count()):
        summaries.nth(i).click()
        expect(page.locator("#application-card details[open]")).to_have_count(1)
        assert summaries.evaluate_all(where) == before  # nothing moved sideways (or down)
        panel_top = page.locator("#application-card details[open] form").evaluate_all(where)[0][1]
        assert panel_top >= max(bottom for _, _, bottom in before)  # below the whole row
    page.screenshot(path=shots / f"panel-open-{viewport['width']}.png")
    page.context.close()
