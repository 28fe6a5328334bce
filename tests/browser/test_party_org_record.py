"""The zone opens an organisation's record (党组织档案) from the list in Chromium and fills a seat (补选): the card is
swapped with the new seat and the history line, at a desktop's width and a phone's."""
import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from models import CommitteePost, CommitteeSeat, PartyOrg, Role, db
from tests.browser.helpers import log_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width, height", [(1366, 900), (375, 812)])
def test_zone_opens_a_record_and_fills_a_seat(page: Page, app, live_server, make_application, make_user, shots,
                                              width, height):
    made = make_application("established", formal=8, probationary=0)
    with app.app_context():
        party_org = db.session.scalar(sa.select(PartyOrg).where(PartyOrg.application_id == made.id))
        db.session.add(CommitteeSeat(party_org=party_org, name="党员1", post=CommitteePost.SECRETARY,
                                     started_on=party_org.term_start))
        db.session.commit()
        name = party_org.name
    zone = make_user(Role.ZONE_APPROVER, username=f"record-zone-{width}")
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, live_server, zone.username)
    page.goto(f"{live_server}/orgs/?term=current")
    page.get_by_role("link", name=name).click()
    card = page.locator("#record-card")
    expect(card.get_by_role("heading", name=name)).to_be_visible()
    page.screenshot(path=shots / f"record-{width}.png", full_page=True)

    card.get_by_text("补选委员", exact=True).click()
    panel = card.locator("#step-fill_seat")
    panel.get_by_label("姓名 *").fill("党员4")
    panel.get_by_label("职务 *").select_option(label="委员")
    panel.get_by_label("理由 *").fill("原委员工作调动，经党员大会补选")
    panel.get_by_role("button", name="确认补选委员").click()
    card = page.locator("#record-card")
    expect(card.locator("tr", has_text="党员4")).to_contain_text("委员")
    expect(card.locator(".timeline")).to_contain_text("补选党员4为委员")
    expect(card).to_contain_text("已补选委员。")
    page.screenshot(path=shots / f"record-filled-{width}.png", full_page=True)
