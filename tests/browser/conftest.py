"""Real-browser tests: Debian's Chromium driven by Playwright against the app served from a thread."""
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking switches Chromium keeps calling out to a network that is closed here.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]

# A step that issues a document renders and signs a PDF before it answers: on a loaded 2-core machine that has taken
# longer than Playwright's default 5 s, so an assertion waits up to 15 s for what it expects (it still fails on
# anything else, and a passing one returns as soon as it holds).
expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        # CI must fail, not skip, when the browser is missing: `make test` installs it.
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (it installs Debian's chromium) or apt-get install chromium")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def live_server(app):
    """The app on a free loopback port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def shots(tmp_path):
    """Where a test leaves its screenshots (pytest's tmp dir; kept for the last few runs)."""
    return tmp_path
