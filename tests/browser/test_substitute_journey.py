"""A substitute acts on the official's item (代理, issue 31): 李四 names 张三 on the 代理 page, 张三 passes an
application of their unit, and the card's history says 张三 代 李四."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from models import Role, User, db
from tests.browser.helpers import log_in
from tests.conftest import zone_today

pytestmark = pytest.mark.browser


def test_a_substitute_passes_the_officials_application(browser, live_server, app, make_application, make_user,
                                                        shots):
    made = make_application("submitted")
    official, stand_in = make_user(Role.UNIT_REVIEWER), make_user(Role.UNIT_REVIEWER)
    with app.app_context():
        db.session.get(User, official.id).name = "李四"
        db.session.get(User, stand_in.id).name = "张三"
        db.session.commit()
    page = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN").new_page()

    log_in(page, live_server, official.username)
    page.goto(f"{live_server}/substitutes/")
    page.get_by_label("代理人", exact=True).select_option(label="张三")
    page.get_by_label("开始日期").fill(zone_today().isoformat())
    page.get_by_label("结束日期（当天起不再代理）").fill((zone_today() + timedelta(days=5)).isoformat())
    page.get_by_label("代理事由").fill("外出参加培训")
    page.get_by_role("button", name="指定代理人").click()
    expect(page.get_by_text("代理人已指定。")).to_be_visible()
    expect(page.get_by_role("region", name="我指定的代理人")).to_contain_text("张三")
    page.screenshot(path=shots / "substitute-named.png", full_page=True)

    log_in(page, live_server, stand_in.username)
    page.goto(f"{live_server}/substitutes/")
    expect(page.get_by_role("region", name="我代理的同事")).to_contain_text("李四")
    page.goto(f"{live_server}/applications/{made.id}")
    card = page.locator("#application-card")
    card.locator("summary", has_text="初审通过").click()
    card.get_by_role("button", name="确认初审通过").click()
    expect(card.locator(".badge").first).to_have_text("待党工委审批")
    history = page.get_by_role("region", name="办理记录")
    expect(history).to_contain_text("张三 代 李四（初审单位）")
    page.screenshot(path=shots / "substitute-acted.png", full_page=True)
