"""The instructor records a visit and two deliveries in Chromium; the zone's overview shows the progress."""
import pytest
from playwright.sync_api import Page, expect

from models import Role
from tests.browser.helpers import log_in

pytestmark = pytest.mark.browser


def test_instructor_visit_and_checklist(page: Page, live_server, app, make_application, make_user):
    made = make_application("established")
    instructor = make_user(Role.INSTRUCTOR, username="journey-instructor")
    zone = make_user(Role.ZONE_APPROVER, username="journey-zone")
    from models import User, db

    with app.app_context():  # make this account the organisation's instructor
        db.session.get(User, instructor.id).instructor_id = made.instructor_id
        db.session.commit()

    log_in(page, live_server, instructor.username)
    expect(page.get_by_role("heading", name="我指导的组织")).to_be_visible()
    page.get_by_role("link", name=made.organisation.name).click()
    page.evaluate("window.__sameDocument = true")
    card = page.locator("#application-card")
    card.get_by_text("记录一次指导").click()
    card.get_by_label("指导内容").fill("指导制定党支部工作制度")
    card.get_by_label("发现的问题").fill("缺少活动阵地")
    card.get_by_role("button", name="保存指导记录").click()
    expect(card.get_by_text("已记录指导情况。")).to_be_visible()
    expect(card).to_contain_text("指导制定党支部工作制度")
    for label in ("建党组织送牌匾", "建阵地送党旗"):
        card.locator(f"[data-item] >> text={label}").locator("xpath=..").get_by_text("确认送达").click()
        card.get_by_role("button", name=f"确认“{label}”").click()
        expect(card.get_by_text(f"已确认“{label}”。")).to_be_visible()
    expect(card.get_by_text("“六建六送”（已完成 2/6）")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True

    log_in(page, live_server, zone.username)
    page.goto(live_server + "/zone/")
    row = page.locator("tr", has_text="建阵地送党旗")
    expect(row).to_contain_text("1 / 1")
    expect(page.get_by_text("经本系统批准成立的党组织 1 个", exact=False)).to_be_visible()
