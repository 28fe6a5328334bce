"""Anyone checks a PDF they were given on /verify: uploaded in the browser, found in the register byte for byte, with
its signature's verdict; a file that is no PDF is refused next to the field, in Chinese."""
import pytest
from playwright.sync_api import expect

from tests.test_documents import zone  # noqa: F401 (a fixture)
from tests.test_signing import issued, sign_calls  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_a_visitor_uploads_an_issued_pdf_and_a_forged_one(issued, browser, live_server, shots):  # noqa: F811
    token, pdf, _, _ = issued
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    page.goto(f"{live_server}/verify/{token}")
    page.get_by_role("link", name="没有核验码？上传文件与全部印发文件比对").click()
    expect(page.get_by_role("heading", name="文件核验")).to_be_visible()
    page.locator("#file").set_input_files([{"name": "收到的批复.pdf", "mimeType": "application/pdf", "buffer": pdf}])
    expect(page.locator("#file-chosen")).to_have_text("已选择：收到的批复.pdf")
    page.get_by_role("button", name="核验").click()
    result = page.locator("#upload-result")
    expect(result).to_contain_text("已查到：您上传的文件与本系统印发的")
    expect(result).to_contain_text("该文件现行有效。")
    expect(page.locator("#upload-signature")).to_contain_text("签名完好，覆盖整个文件，签名后未被改动。")
    expect(page.locator("#upload-signature")).to_contain_text("签名证书受信任")
    page.screenshot(path=shots / "verify-upload-found.png", full_page=True)

    forged = bytearray(pdf)
    forged[len(pdf) // 3] ^= 1
    page.locator("#file").set_input_files([{"name": "改过的.pdf", "mimeType": "application/pdf", "buffer": bytes(forged)}])
    page.get_by_role("button", name="核验").click()
    expect(result).to_contain_text("未查到：本系统印发的文件中没有与您上传的文件完全相同的一份。")
    expect(page.locator("#upload-signature")).to_contain_text("签名已损坏")
    expect(page.locator("label[for=file].file-picker-button")).to_have_text("选择文件")
    page.screenshot(path=shots / "verify-upload-forged.png", full_page=True)

    page.locator("#file").set_input_files([{"name": "照片.pdf", "mimeType": "application/pdf",
                                            "buffer": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64}])
    page.get_by_role("button", name="核验").click()
    expect(page.locator("#file-error")).to_have_text("文件“照片.pdf”不是 PDF 文件（按文件内容判断），请转换后再上传")
    expect(result).to_have_count(0)
    expect(page.locator("label[for=file].file-picker-button")).to_have_text("选择文件")  # app.js has run
    page.screenshot(path=shots / "verify-upload-refused.png", full_page=True)
    page.context.close()
