"""What the browser tests do alike: log in through the real form."""
from playwright.sync_api import Page

from tests.conftest import PASSWORD


def log_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    """Log in as username (logging out whoever is in first), and wait until the login page is left."""
    page.goto(base + "/auth/login")
    if page.get_by_role("button", name="退出登录").count():
        page.get_by_role("button", name="退出登录").click()
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)
