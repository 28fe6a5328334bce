"""What the browser tests do alike: log in through the real form."""
from playwright.sync_api import Page

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
    toggler = page.get_by_role("button", name="展开导航")
    if toggler.is_visible() and toggler.get_attribute("aria-expanded") != "true":
        toggler.click()
    page.locator("#nav-main .dropdown-toggle[href]").click()


def log_out(page: Page) -> None:
    open_account_menu(page)
    page.get_by_role("button", name="退出登录").click()
