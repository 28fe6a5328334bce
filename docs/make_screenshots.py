"""Screenshots of each role's main page at phone (375 px) and desktop (1440 px) width: `make screenshots`.

Serves the app on a throw-away SQLite database with the demo data, logs in as each demo account in
Debian's Chromium, and writes docs/screenshots/<role>-<width>.png (shown in the README).
"""
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

PAGES = [("applicant", "/applicant/"), ("reviewer", "/applications/"), ("zone", "/applications/"),
         ("instructor", "/instructor/"), ("finance", "/finance/"), ("admin", "/admin/")]
WIDTHS = [375, 1440]


def main() -> None:
    out = ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/shots.db"})
        with app.app_context():
            from flask_migrate import upgrade

            from domain.accounts import DEMO_PASSWORD
            from models import db
            from seeding.demo import seed_demo

            upgrade()
            seed_demo()
            db.session.commit()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for username, path in PAGES:
                for width in WIDTHS:
                    page = browser.new_page(viewport={"width": width, "height": 900}, locale="zh-CN")
                    page.goto(base + "/auth/login")
                    page.get_by_label("用户名").fill(username)
                    page.get_by_label("密码").fill(DEMO_PASSWORD)
                    page.get_by_role("button", name="登录").click()
                    page.goto(base + path)
                    target = out / f"{username}-{width}.png"
                    page.screenshot(path=target, full_page=False)
                    print(target.relative_to(ROOT))
                    page.close()
            browser.close()
        server.shutdown()


if __name__ == "__main__":
    main()
