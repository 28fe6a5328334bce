"""The zone, told on its home that a project has ended, opens the branch's record in Chromium and dissolves it (撤销):
the card turns 已撤销 with the 批复 on file, and the decision leaves the home page."""
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from domain.coverage import set_coverage
from models import CoverageCause, Organisation, OrgKind, PartyOrg, Project, Role, db
from tests.browser.helpers import log_in
from tests.conftest import zone_today

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width, height", [(1366, 900), (375, 812)])
def test_zone_dissolves_a_project_branch_whose_project_ended(page: Page, app, live_server, make_application,
                                                             make_user, shots, width, height):
    made = make_application("established")
    with app.app_context():
        org = db.session.get(Organisation, made.organisation_id)
        org.kind = OrgKind.PROJECT
        set_coverage(org, own=True, joint_code=None, cause=CoverageCause.ESTABLISH)
        party_org = db.session.scalar(sa.select(PartyOrg).where(PartyOrg.application_id == made.id))
        db.session.add(Project(application_id=made.id, party_org=party_org, name="二期工程", builder="城投",
                               planned_start=zone_today() - timedelta(days=400),
                               planned_end=zone_today() - timedelta(days=1),
                               sync_founded=True, sync_staffed=True, sync_working=True))
        db.session.commit()
        name = party_org.name
    zone = make_user(Role.ZONE_APPROVER, username=f"dissolve-zone-{width}")
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, live_server, zone.username)
    page.goto(f"{live_server}/zone/")
    ended = page.get_by_role("region", name="工程项目已结束，待决定党组织去留（1）")
    expect(ended).to_be_visible()
    page.screenshot(path=shots / f"zone-home-{width}.png")
    ended.get_by_role("link", name=name).click()

    card = page.locator("#record-card")
    expect(card).to_contain_text("项目已结束，待党工委决定")
    card.get_by_text("撤销党组织", exact=True).click()
    panel = card.locator("#step-dissolve")
    confirm = panel.get_by_role("button", name="确认撤销党组织")
    confirm.click()  # no reason: refused in words, the panel open again
    expect(card.locator("#step-dissolve")).to_contain_text("撤销党组织须填写理由")
    page.screenshot(path=shots / f"refused-{width}.png", full_page=True)
    panel = card.locator("#step-dissolve")
    panel.get_by_label("理由 *").fill("项目已竣工验收，项目部撤离")
    panel.get_by_label("党员转入（调整）").select_option(value="0")
    page.screenshot(path=shots / f"dissolve-form-{width}.png", full_page=True)
    panel.get_by_role("button", name="确认撤销党组织").click()

    card = page.locator("#record-card")
    expect(card.locator(".badge", has_text="已撤销")).to_be_visible()
    expect(card).to_contain_text("已撤销党组织。")
    expect(card.get_by_role("link", name=f"关于撤销{name}的批复", exact=False)).to_be_visible()
    expect(card.locator(".timeline")).to_contain_text("项目已竣工验收，项目部撤离")
    expect(card.get_by_text("撤销党组织", exact=True)).to_have_count(0)  # read-only now
    page.screenshot(path=shots / f"dissolved-{width}.png", full_page=True)
    page.goto(f"{live_server}/zone/")
    expect(page.get_by_text("工程项目已结束，待决定党组织去留")).to_have_count(0)
