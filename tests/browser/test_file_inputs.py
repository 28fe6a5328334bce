"""Every file input says 选择文件 / 未选择文件 / the chosen names in Chinese, whatever the browser's language
(issue 29): one macro (_macros.html file_input) for all of them."""
from pathlib import Path

import pytest
from playwright.sync_api import expect

from models import Application, Role, db
from tests.browser.helpers import log_in

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 812}
DESK = {"width": 1366, "height": 768}
PDF = b"%PDF-1.4\n%test\n"
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["375", "1366"])
def test_file_inputs_speak_chinese_in_an_english_browser(browser, live_server, app, make_application, make_user,
                                                         viewport, shots):
    made = make_application("draft")
    applicant = make_user(Role.APPLICANT, organisation=made.organisation)
    page = browser.new_context(viewport=viewport, locale="en-US").new_page()
    log_in(page, live_server, applicant.username)
    page.goto(f"{live_server}/applications/{made.id}/edit")
    picker = page.locator("#attachments")
    chosen = page.locator("#attachments-chosen")
    expect(page.locator("label[for=attachments]", has_text="选择文件")).to_be_visible()
    expect(chosen).to_have_text("未选择文件")
    assert picker.bounding_box()["width"] <= 1  # the browser's own "Choose Files" is not shown
    picker.set_input_files([{"name": "党员名册.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    expect(chosen).to_have_text("已选择：党员名册.pdf")
    picker.set_input_files([{"name": "党员名册.pdf", "mimeType": "application/pdf", "buffer": PDF},
                            {"name": "组织关系证明.pdf", "mimeType": "application/pdf", "buffer": PDF + b"2"}])
    expect(chosen).to_have_text("已选择 2 个文件：党员名册.pdf、组织关系证明.pdf")
    page.locator("label[for=attachments].file-picker-button").scroll_into_view_if_needed()
    page.screenshot(path=shots / f"file-input-{viewport['width']}.png")
    page.keyboard.press("Escape")
    picker.focus()  # the keyboard reaches the hidden input; its button shows the focus
    assert page.locator("label[for=attachments].file-picker-button").evaluate(
        "el => getComputedStyle(el).boxShadow") != "none"
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_text("已保存草稿")).to_be_visible()
    with app.app_context():
        assert [a.file.filename for a in db.session.get(Application, made.id).attachments] == [
            "党员名册.pdf", "组织关系证明.pdf"]
    # The registration's certificate, signed out.
    context = browser.new_context(viewport=viewport, locale="en-US")
    public = context.new_page()
    public.goto(f"{live_server}/auth/register")
    expect(public.locator("#certificate-chosen")).to_have_text("未选择文件")
    expect(public.locator("label[for=certificate].file-picker-button")).to_have_text("选择文件")
    context.close()
    page.context.close()


def test_every_file_input_is_the_one_macro():
    """A file input written by hand would show the browser's own English words again."""
    hand_written = [str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")
                    if 'type="file"' in p.read_text(encoding="utf-8") and p.name != "_macros.html"]
    assert hand_written == []
