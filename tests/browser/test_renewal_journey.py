"""换届 in Chromium (issue 32): the contact submits the 请示 on the record page, the unit passes it from its 待办, the
zone approves it, the contact reports the election, the zone approves that, and the record shows the new term and
committee. Each step swaps the record card (htmx); screenshots at a desktop's width and a phone's."""
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from models import CommitteePost, CommitteeSeat, PartyOrg, Role, db
from tests.browser.helpers import log_in, log_out
from tests.conftest import zone_today

pytestmark = pytest.mark.browser


def step(page: Page, label: str, shot=None, **fields: str) -> None:
    """Open a step's panel on the record card, fill it, confirm it; or click its button when it has no form."""
    card = page.locator("#record-card")
    summary = card.locator("summary", has_text=label)
    if summary.count():
        if card.locator("details[open] summary", has_text=label).count() == 0:  # a refused panel stays open
            summary.click()
        form = card.locator("details[open] form")
        for name, value in fields.items():
            form.get_by_label(name).fill(value)
        if shot is not None:
            page.screenshot(path=shot, full_page=True)
        form.get_by_role("button", name=f"确认{label}").click()
    else:
        card.get_by_role("button", name=label, exact=True).click()
    expect(page.locator("#record-card")).to_contain_text(f"已{label}。")


@pytest.mark.parametrize("width, height", [(1366, 900), (375, 812)])
def test_the_renewal_journey(page: Page, app, live_server, make_application, make_user, shots, width, height):
    made = make_application("established", formal=8, probationary=0)
    today = zone_today()
    with app.app_context():
        party_org = db.session.scalar(sa.select(PartyOrg).where(PartyOrg.application_id == made.id))
        db.session.add(CommitteeSeat(party_org=party_org, name="党员1", post=CommitteePost.SECRETARY,
                                     started_on=party_org.term_start))
        db.session.commit()
        record = f"{live_server}/orgs/{party_org.id}"
    contact = make_user(Role.APPLICANT, organisation=made.organisation, username=f"renew-contact-{width}")
    reviewer = make_user(Role.UNIT_REVIEWER, username=f"renew-unit-{width}")
    zone = make_user(Role.ZONE_APPROVER, username=f"renew-zone-{width}")
    page.set_viewport_size({"width": width, "height": height})

    log_in(page, live_server, contact.username)
    page.goto(record)
    # Refused first (no date): the card comes back with the panel open and the reason beside the field.
    page.locator("#record-card summary", has_text="提交换届请示").click()
    page.get_by_role("button", name="确认提交换届请示").click()
    expect(page.locator("#renewal-submit-planned_on-error")).to_have_text("请选择计划选举日期")
    expect(page.get_by_label("计划选举日期 *")).to_be_focused()
    step(page, "提交换届请示", shots / f"renewal-form-{width}.png", **{"计划选举日期 *": (today + timedelta(days=30)).isoformat(), "书记 *": "党员1",
                              "副书记": "党员2", "其他委员": "党员3、党员4、党员5"})
    expect(page.locator("#renewal")).to_contain_text("待初审")
    page.screenshot(path=shots / f"renewal-submitted-{width}.png", full_page=True)
    log_out(page)

    log_in(page, live_server, reviewer.username)
    page.goto(f"{live_server}/applications/")
    page.locator("#renewals-waiting-heading + div").get_by_role("link").first.click()
    step(page, "初审通过")
    log_out(page)

    log_in(page, live_server, zone.username)
    page.goto(record)
    step(page, "批准换届")
    expect(page.locator("#record-card")).to_contain_text("换届选举的批复")
    log_out(page)

    log_in(page, live_server, contact.username)
    page.goto(record)
    step(page, "报告换届选举结果", **{"选举日期 *": today.isoformat(), "书记 *": "党员1", "副书记": "党员2",
                                 "其他委员": "党员3、党员4、党员6"})
    log_out(page)

    log_in(page, live_server, zone.username)
    page.goto(record)
    step(page, "批准换届选举结果")
    card = page.locator("#record-card")
    end = today.replace(year=today.year + 3) if (today.month, today.day) != (2, 29) else today.replace(
        year=today.year + 3, day=28)
    expect(card).to_contain_text(f"{today.year}年{today.month}月{today.day}日至{end.year}年{end.month}月{end.day}日")
    expect(card.locator("tr", has_text="党员6")).to_contain_text("委员")
    expect(card.locator("tr", has_text="党员2").first).to_contain_text("副书记")
    expect(card).to_contain_text("换届选举结果的批复")
    page.screenshot(path=shots / f"renewal-done-{width}.png", full_page=True)
