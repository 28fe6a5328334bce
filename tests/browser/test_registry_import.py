"""In Chromium: an import with a bad row is checked and refused, corrected, checked and committed by a consumer of the
job queue (a process of its own, as `make run` starts), and the rate moves."""
import csv
import io

import pytest
from playwright.sync_api import Page, expect

from domain.registry_import import COLUMNS
from models import Role
from tests.browser.test_founding_journey import log_in
from tests.conftest import valid_credit_code
from tests.consumer import real_queue, start_consumer, stop_consumer  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser


def sheet(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header for _, header, _ in COLUMNS])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def test_import_is_corrected_committed_and_changes_the_rate(page: Page, app, live_server, make_user, make_org, shots,
                                                            real_queue, tmp_path):
    make_org(formal_members=4, has_party_org=False)  # the zone starts at 0 of 1 covered
    admin = make_user(Role.ADMIN)
    log_in(page, live_server, admin.username)
    page.get_by_role("link", name="组建率").click()
    expect(page.locator("#zone-rate")).to_have_text("0.0%")

    host, member = valid_credit_code(), valid_credit_code()
    rows = [[host, "浏览器牵头企业", "非公企业", "新型工业园区党委", "", "80", "6", "0", "是", "", "", ""],
            [member, "浏览器小微企业", "非公企业", "新型工业园区党委", "", "8", "1", "0", "否", host, "", ""],
            [valid_credit_code(), "浏览器错误行", "个体户", "新型工业园区党委", "", "5", "0", "0", "否", "", "", ""]]
    # The admin's rarer pages, under 更多: a Bootstrap dropdown, which opens only once its deferred script has run (a
    # busy machine parsed the page, and the click landed, before it had).
    page.wait_for_load_state()
    page.get_by_role("button", name="更多").click()
    page.get_by_role("link", name="摸底导入").click()
    page.get_by_label("摸底表文件").set_input_files(
        files=[{"name": "摸底表.csv", "mimeType": "text/csv", "buffer": sheet(rows)}])
    page.get_by_role("button", name="上传并校验").click()
    expect(page.get_by_text("正在排队等待后台任务校验")).to_be_visible()  # no consumer yet: the check waits
    expect(page.get_by_role("progressbar", name="校验进度")).to_be_visible()
    page.screenshot(path=shots / "import-checking.png", full_page=True)
    consumer = start_consumer(app, real_queue, tmp_path / "consumer.log")
    try:
        # Checked by the consumer; the status partial polls every second until it says how.
        expect(page.get_by_text("名录未作任何修改")).to_be_visible(timeout=30000)
        expect(page.get_by_role("cell", name="第 4 行")).to_be_visible()
        expect(page.get_by_text("组织类别“个体户”无法识别")).to_be_visible()
        page.screenshot(path=shots / "import-errors.png", full_page=True)

        rows[2][2] = "社会组织"
        page.get_by_role("link", name="重新上传").click()
        page.get_by_label("摸底表文件").set_input_files(
            files=[{"name": "摸底表-改正.csv", "mimeType": "text/csv", "buffer": sheet(rows)}])
        page.get_by_role("button", name="上传并校验").click()
        expect(page.get_by_text("全部 3 行校验通过")).to_be_visible(timeout=30000)
        page.get_by_role("button", name="确认导入").click()
        # Committed by the consumer, the page following it as it did the check.
        expect(page.get_by_text("导入完成：新增 3 个组织，更新 0 个组织")).to_be_visible(timeout=30000)
    finally:
        stop_consumer(consumer)
    page.screenshot(path=shots / "import-done.png", full_page=True)

    page.get_by_role("link", name="查看组建率").click()
    # With members: the first organisation, the host and the member; covered: the host and the member.
    expect(page.locator("#zone-rate")).to_have_text("66.7%")
    expect(page.locator(".chart svg").first).to_be_visible()  # ECharts drew from the vendored file
    page.screenshot(path=shots / "dashboard.png", full_page=True)
