"""The navigation bar (issues 29 and 30): every label on one line at 1280 and 1366 px for every role, with its
counters showing, the rarer pages under 更多 (blueprints/nav.py), the name opening a small account menu; on a phone
the notices stay in sight."""
import pytest
from playwright.sync_api import expect

from models import Role, User, db
from tests.browser.helpers import log_in

pytestmark = pytest.mark.browser

# Each link of the bar and the bar itself: a label on two lines is taller than one line of text.
HEIGHTS = """() => {
  const bar = document.querySelector('nav.navbar');
  const links = [...bar.querySelectorAll('.nav-link, .navbar-brand')].filter(e => e.offsetParent !== null);
  const line = parseFloat(getComputedStyle(bar.querySelector('.nav-link')).lineHeight);
  return {bar: bar.getBoundingClientRect().height, line,
          tall: links.filter(e => e.getBoundingClientRect().height > line * 1.6 + 16).map(e => e.textContent.trim())};
}"""


@pytest.mark.parametrize("width", [1280, 1366])
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_the_menu_fits_one_line(browser, live_server, app, make_user, make_application, role, width, shots):
    make_application("submitted")  # the reviewer's 待办 counter
    make_application("unit_approved")  # the zone's
    user = make_user(role)
    with app.app_context():
        db.session.get(User, user.id).name = "欧阳明珠"  # a four-character name, as many are
        db.session.commit()
    page = browser.new_context(viewport={"width": width, "height": 800}, locale="zh-CN").new_page()
    log_in(page, live_server, user.username)
    result = page.evaluate(HEIGHTS)
    page.screenshot(path=shots / f"nav-{role.value}-{width}.png", clip={"x": 0, "y": 0, "width": width, "height": 80})
    assert not result["tall"] and result["bar"] < 70, result
    # The name opens the account menu: password, notices, sign out.
    expect(page.locator("nav.navbar")).not_to_contain_text("（")  # the name alone; its role is in the menu
    page.get_by_role("button", name="欧阳明珠").click()
    menu = page.locator(".dropdown-menu.show")
    for name in ("修改密码", "全部通知"):
        expect(menu.get_by_role("link", name=name)).to_be_visible()
    expect(menu.get_by_role("button", name="退出登录")).to_be_visible()
    page.screenshot(path=shots / f"account-{role.value}-{width}.png", clip={"x": 0, "y": 0, "width": width, "height": 300})
    if role is Role.ADMIN:
        page.keyboard.press("Escape")
        page.get_by_role("button", name="更多").click()
        page.get_by_role("link", name="系统设置").click()
        expect(page.get_by_role("button", name="更多")).to_have_class("nav-link dropdown-toggle active")
    page.context.close()
