"""In Chromium: the zone exports 应建未建 as filtered; a consumer of the job queue (a process of its own) writes it page
by page while the list page shows its progress, and the file downloads with the list's name."""
import io
import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from models import Role
from tests.browser.helpers import log_in
from tests.consumer import real_queue, start_consumer, stop_consumer  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser

# The consumer writes pages of 5 rows and waits a second after each, so that the page is seen mid-way.
SLOW_PAGES = """
import time
import domain.todo_exports as exports
exports.PAGE_ROWS = 5
shown = exports._progress
exports._progress = lambda *args: (shown(*args), time.sleep(1))
"""


def test_the_zone_exports_a_filtered_list_and_downloads_it(page: Page, app, live_server, make_user, make_org, shots,
                                                           real_queue, tmp_path):
    for n in range(12):
        make_org(name=f"浏览器导出企业{n:02d}", formal_members=3 + n % 4)
    make_org(name="浏览器其他企业", formal_members=9)  # filtered out by name
    zone = make_user(Role.ZONE_APPROVER)
    log_in(page, live_server, zone.username)
    page.goto(live_server + "/registry/todo")
    page.get_by_label("名称或统一社会信用代码").fill("导出企业")
    expect(page.get_by_role("cell", name="浏览器其他企业")).to_have_count(0)  # the table swapped in, filtered
    # Clicked at once: leaving the search box swaps the table again as the export is asked for; its progress stays.

    page.get_by_role("button", name="导出本清单 Excel").click()
    expect(page.get_by_text("已提交，正在排队等待后台任务处理")).to_be_visible()  # no consumer yet: the task waits
    consumer = start_consumer(app, real_queue, tmp_path / "consumer.log", hook=SLOW_PAGES)
    try:
        # The status polls every second: the bar moves as each page is written.
        expect(page.get_by_text(re.compile(r"已写入 (5|10) / 12 行"))).to_be_visible(timeout=30000)
        page.screenshot(path=shots / "todo-export-progress.png", full_page=True)
        expect(page.get_by_role("link", name="下载 Excel")).to_be_visible(timeout=30000)
    finally:
        stop_consumer(consumer)
    expect(page.get_by_text("应建未建清单已生成，共 12 行")).to_be_visible()
    page.screenshot(path=shots / "todo-export-done.png", full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="下载 Excel").click()
    assert re.fullmatch(r"应建未建-\d{4}年\d{1,2}月\d{1,2}日\.xlsx", download.value.suggested_filename)
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    assert sheet["A2"].value.endswith("名称或代码含：导出企业")
    assert [row[0] for row in sheet.iter_rows(min_row=4, values_only=True)][:2] == ["浏览器导出企业03",
                                                                                   "浏览器导出企业07"]
