"""延期换届 of an approved 换届 in Chromium (issue 32): the contact asks to move the approved election past the
term's end, is refused first without a reason, the zone grants it from its 待办, and the record shows the new day,
the moved term and the 延期换届 批复. Screenshots at a desktop's width and a phone's."""
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from domain import party_orgs as po
from models import PartyOrg, Role, db
from tests.browser.helpers import log_in, log_out
from tests.browser.test_renewal_journey import step
from tests.conftest import zone_today

pytestmark = pytest.mark.browser


def day(d) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def test_an_approved_renewal_is_postponed(page: Page, app, live_server, make_application, make_user, shots):
    made = make_application("established")  # a 党支部: a secretary alone is a slate
    contact = make_user(Role.APPLICANT, organisation=made.organisation, username="postpone-contact")
    reviewer = make_user(Role.UNIT_REVIEWER, username="postpone-unit")
    zone = make_user(Role.ZONE_APPROVER, username="postpone-zone")
    today = zone_today()
    with app.app_context():
        party_org = db.session.scalar(sa.select(PartyOrg).where(PartyOrg.application_id == made.id))
        renewal = po.submit_renewal(party_org, today + timedelta(days=20), po.Slate("党员1"),
                                    actor=db.session.merge(contact), version=party_org.version)
        db.session.flush()
        po.pass_renewal(renewal, actor=db.session.merge(reviewer), version=renewal.version)
        po.approve_renewal(renewal, actor=db.session.merge(zone), version=renewal.version)
        db.session.commit()
        new_day = party_org.term_end + timedelta(days=45)
        record = f"{live_server}/orgs/{party_org.id}"
    page.set_viewport_size({"width": 1366, "height": 900})

    log_in(page, live_server, contact.username)
    page.goto(record)
    expect(page.locator("#renewal")).to_contain_text("已批准换届，待报告选举结果")
    page.locator("#record-card summary", has_text="申请延期或提前换届").click()
    page.get_by_label("新的选举日期 *").fill(new_day.isoformat())
    page.get_by_role("button", name="确认申请延期或提前换届").click()
    expect(page.locator("#renewal-ask_reschedule-reason-error")).to_have_text("申请延期或提前换届须填写理由")
    expect(page.get_by_label("新的选举日期 *")).to_have_value(new_day.isoformat())  # what was typed stays
    step(page, "申请延期或提前换届", shots / "postpone-form-1366.png", **{"理由 *": "项目施工高峰，党员大多在外地"})
    expect(page.locator("#renewal")).to_contain_text("改期待党工委审批")
    expect(page.locator("#renewal")).to_contain_text(day(new_day))
    log_out(page)

    log_in(page, live_server, zone.username)
    page.goto(f"{live_server}/applications/")
    page.locator("#renewals-waiting-heading + div").get_by_role("link").first.click()
    step(page, "批准延期或提前换届")
    panel = page.locator("#renewal")
    expect(panel).to_contain_text("已批准换届，待报告选举结果")
    expect(panel.locator("dd").first).to_have_text(day(new_day))
    card = page.locator("#record-card")
    expect(card).to_contain_text("延期换届的批复")
    expect(card).to_contain_text(f"至{day(new_day)}")
    page.screenshot(path=shots / "postpone-done-1366.png", full_page=True)
    page.set_viewport_size({"width": 375, "height": 812})
    page.screenshot(path=shots / "postpone-done-375.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
