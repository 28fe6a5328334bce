"""The over-capacity reason of the approval panel shows only when the chosen instructor is full (issue 29, words);
without JavaScript it shows always, with its hint, and the server still asks for it."""
import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from models import Application, Assignment, Instructor, Role, db
from tests.browser.helpers import log_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 812}
DESK = {"width": 1366, "height": 768}


def full_and_free(app, make_application, make_instructor):
    """An application waiting for the zone; 满额甲 guides one organisation of a capacity of one, 空闲乙 none."""
    guided = make_application("approved")
    with app.app_context():
        full = db.session.get(Instructor, db.session.get(Application, guided.id).instructor_id)
        full.name, full.capacity = "满额甲", 1
        db.session.commit()
    make_instructor(name="空闲乙", capacity=5)
    return make_application("unit_approved")


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["375", "1366"])
def test_the_reason_shows_only_for_a_full_instructor(browser, live_server, app, make_application, make_instructor,
                                                     make_user, viewport, shots):
    made = full_and_free(app, make_application, make_instructor)
    zone = make_user(Role.ZONE_APPROVER)
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    log_in(page, live_server, zone.username)
    page.goto(f"{live_server}/applications/{made.id}")
    page.locator("summary", has_text="批准成立").click()
    instructor, reason = page.get_by_label("选派党建指导员"), page.locator("#approve-reason")
    expect(instructor.locator("option:checked")).to_contain_text("空闲乙")  # the free one ranks first
    expect(reason).to_be_hidden()
    instructor.select_option(label=instructor.locator("option", has_text="满额甲").inner_text())
    expect(page.get_by_label("超额选派理由")).to_be_visible()
    page.screenshot(path=shots / f"capacity-reason-{viewport['width']}.png")
    page.get_by_role("button", name="确认批准成立").click()  # no reason: refused beside the field
    expect(page.locator("#approve-reason-error")).to_contain_text("满额甲已指导 1/1 个组织，已满额")
    expect(page.get_by_label("超额选派理由")).to_be_visible()  # the refused panel keeps it open
    page.get_by_label("超额选派理由").fill("该企业与其派出单位同处一园，便于指导")
    page.get_by_role("button", name="确认批准成立").click()
    expect(page.locator("#application-card .badge").first).to_have_text("已批复")
    with app.app_context():
        assert db.session.get(Application, made.id).instructor.name == "满额甲"
    page.context.close()


def test_a_reason_typed_then_left_is_not_sent(browser, live_server, app, make_application, make_instructor, make_user):
    made = full_and_free(app, make_application, make_instructor)
    zone = make_user(Role.ZONE_APPROVER)
    page = browser.new_context(viewport=DESK, locale="zh-CN").new_page()
    log_in(page, live_server, zone.username)
    page.goto(f"{live_server}/applications/{made.id}")
    page.locator("summary", has_text="批准成立").click()
    instructor = page.get_by_label("选派党建指导员")
    instructor.select_option(label=instructor.locator("option", has_text="满额甲").inner_text())
    page.get_by_label("超额选派理由").fill("先填了理由")
    instructor.select_option(label=instructor.locator("option", has_text="空闲乙").inner_text())
    expect(page.locator("#approve-reason")).to_be_hidden()
    page.get_by_role("button", name="确认批准成立").click()
    expect(page.locator("#application-card .badge").first).to_have_text("已批复")
    with app.app_context():
        reason = db.session.scalar(sa.select(Assignment.reason).where(Assignment.application_id == made.id))
    assert reason == ""
    page.context.close()


def test_without_javascript_the_reason_shows_with_its_hint(browser, live_server, app, make_application,
                                                            make_instructor, make_user):
    made = full_and_free(app, make_application, make_instructor)
    zone = make_user(Role.ZONE_APPROVER)
    page = browser.new_context(viewport=DESK, java_script_enabled=False).new_page()
    page.goto(live_server + "/auth/login")
    page.get_by_label("用户名").fill(zone.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{live_server}/applications/{made.id}")
    page.locator("summary", has_text="批准成立").click()
    expect(page.get_by_label("超额选派理由")).to_be_visible()
    expect(page.locator("#approve-reason-hint")).to_contain_text("已满额")
    page.get_by_label("选派党建指导员").select_option(index=2)  # 满额甲, ranked after the free one
    page.get_by_role("button", name="确认批准成立").click()
    expect(page.locator("#approve-reason-error")).to_contain_text("已满额")
    page.context.close()
