"""Reviewers see what changed (issue 29): the reviewer returns an application, the applicant edits and resubmits,
and the reviewer's card shows, beside the return reason, what changed since the version they returned."""
import pytest
from playwright.sync_api import expect

from domain.files import store_upload
from models import Application, Attachment, Role, User, db
from tests.browser.helpers import log_in

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 812}
DESK = {"width": 1366, "height": 768}
PDF = b"%PDF-1.4\n%proof\n"


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["375", "1366"])
def test_return_edit_resubmit_and_the_reviewer_sees_the_changes(browser, live_server, app, make_application,
                                                                 make_user, viewport, shots):
    made = make_application("submitted")
    reviewer = make_user(Role.UNIT_REVIEWER)
    contact = make_user(Role.APPLICANT, organisation=made.organisation)
    with app.app_context():
        application = db.session.get(Application, made.id)
        db.session.add(Attachment(application=application, file=store_upload(
            "旧党员名册.pdf", PDF, actor=db.session.get(User, contact.id))))
        db.session.commit()
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()

    log_in(page, live_server, reviewer.username)
    page.goto(f"{live_server}/applications/{made.id}")
    card = page.locator("#application-card")
    card.locator("summary", has_text="退回修改").click()
    card.locator("details[open] form").get_by_label("理由").fill("党员名单有误，请更正并补充组织关系证明")
    card.get_by_role("button", name="确认退回修改").click()
    expect(card.locator(".badge").first).to_have_text("退回修改")

    log_in(page, live_server, contact.username)
    page.goto(f"{live_server}/applications/{made.id}/edit")
    page.locator("button[form^=delete-]").click()  # the old roster, the one attachment (reloads the form)
    expect(page.get_by_text("已删除附件“旧党员名册.pdf”")).to_be_visible()
    page.get_by_label("申请理由").fill("已更正党员名单，补充组织关系证明。")
    page.locator(".member-row").nth(5).locator("input[name=member_name]").fill("刘晓东")
    page.locator(".member-row").nth(1).locator("input[name=member_joined]").fill("2011-07-01")
    page.locator("input[type=file][name=attachments]").set_input_files(
        [{"name": "组织关系证明.pdf", "mimeType": "application/pdf", "buffer": PDF + b"relations"}])
    page.get_by_role("button", name="保存并提交").click()
    expect(page.get_by_text("申请已提交，请等待初审单位审核。")).to_be_visible()
    expect(page.locator("#resubmission")).to_have_count(0)  # not for the applicant

    log_in(page, live_server, reviewer.username)
    page.goto(f"{live_server}/applications/{made.id}")
    changes = page.get_by_role("region", name="重新提交的申请：与退回时相比的修改")
    expect(changes).to_contain_text("党员名单有误，请更正并补充组织关系证明")
    expect(changes).to_contain_text("申请理由：党员人数已符合条件 → 已更正党员名单，补充组织关系证明。")
    expect(changes).to_contain_text("新增党员：刘晓东（男，2010年7月1日入党，预备党员）")
    expect(changes).to_contain_text("删除党员：党员6（男，2010年7月1日入党，预备党员）")
    expect(changes).to_contain_text("修改党员：党员2，入党日期 2010年7月1日 → 2011年7月1日")
    expect(changes).to_contain_text("新增附件：组织关系证明.pdf")
    expect(changes).to_contain_text("删除附件：旧党员名册.pdf")
    # Above the data it concerns, and no wider than the screen.
    assert changes.bounding_box()["y"] < card.locator("dl").bounding_box()["y"]
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    changes.scroll_into_view_if_needed()
    page.screenshot(path=shots / f"changes-{viewport['width']}.png", full_page=viewport is PHONE)
    page.context.close()
