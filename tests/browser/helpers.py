"""What the browser tests do alike: log in through the real form."""
import re

from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD


def log_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    """Log in as username (logging out whoever is in first), and wait until the login page is left."""
    page.goto(base + "/auth/login")
    if page.locator("#nav-main").count():
        log_out(page)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)


def open_account_menu(page: Page) -> None:
    """Open the menu under the user's name (unfolding the navigation first on a narrow screen)."""
    # Bootstrap's deferred script must have run, and the folded navigation must have finished unfolding: a click
    # that lands mid-animation on a busy machine is lost (CI saw the menu never open).
    page.wait_for_load_state()
    toggler = page.get_by_role("button", name="展开导航")
    if toggler.is_visible() and toggler.get_attribute("aria-expanded") != "true":
        toggler.click()
        expect(page.locator("#nav-main")).to_have_class(re.compile(r"(^|\s)show(\s|$)"))
    page.locator("#nav-main .dropdown-toggle[href]").click()
    expect(page.locator("#nav-main .dropdown-menu-end")).to_be_visible()


def log_out(page: Page) -> None:
    open_account_menu(page)
    page.get_by_role("button", name="退出登录").click()
