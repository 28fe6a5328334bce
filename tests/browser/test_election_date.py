"""The election date keeps between the approval 批复 and today (issue 29): the picker's range, and a date typed past
it refused in the app's Chinese words, whatever the browser's language."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from domain import applications as verbs
from models import Application, Document, Instructor, Role, User, db, utcnow
from tests.browser.helpers import log_in
from tests.conftest import zone_today

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 812}
DESK = {"width": 1366, "height": 768}


def approved_ten_days_ago(app, make_application, make_user, make_instructor):
    made = make_application("unit_approved")
    zone = make_user(Role.ZONE_APPROVER)
    instructor = make_instructor()
    with app.app_context():
        application = db.session.get(Application, made.id)
        verbs.approve_application(application, actor=db.session.get(User, zone.id), version=application.version,
                                  instructor=db.session.get(Instructor, instructor.id))
        document = db.session.scalar(db.select(Document).filter_by(application_id=made.id))
        document.issued_at = utcnow() - timedelta(days=10)
        db.session.commit()
    return made


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["375", "1366"])
def test_the_election_date_keeps_between_the_approval_and_today(browser, live_server, app, make_application,
                                                               make_user, make_instructor, viewport, shots):
    made = approved_ten_days_ago(app, make_application, make_user, make_instructor)
    applicant = make_user(Role.APPLICANT, organisation=made.organisation)
    # An English browser: whatever it would say itself, the app answers in Chinese.
    page = browser.new_context(viewport=viewport, locale="en-US").new_page()
    log_in(page, live_server, applicant.username)
    page.goto(f"{live_server}/applications/{made.id}")
    card = page.locator("#application-card")
    card.locator("summary", has_text="报告选举结果").click()
    day = card.get_by_label("党员大会日期")
    approved_on, today = zone_today() - timedelta(days=10), zone_today()
    expect(day).to_have_attribute("min", approved_on.isoformat())
    expect(day).to_have_attribute("max", today.isoformat())
    expect(card.locator("#report_election-date-hint")).to_contain_text(
        f"不早于成立批复的印发日期（{approved_on.year}年{approved_on.month}月{approved_on.day}日）")
    day.fill((approved_on - timedelta(days=1)).isoformat())  # typed past the picker's range
    assert day.evaluate("el => el.validity.rangeUnderflow") is True
    card.get_by_label("实到人数").fill("5")
    card.get_by_label("书记得票数").fill("5")
    card.get_by_role("button", name="确认报告选举结果").click()  # no English bubble: the server answers
    expect(card.locator("#report_election-election_date-error")).to_contain_text(
        f"选举日期不能早于成立批复的印发日期（{approved_on.year}年{approved_on.month}月{approved_on.day}日）")
    page.screenshot(path=shots / f"election-date-{viewport['width']}.png")
    page.context.close()
