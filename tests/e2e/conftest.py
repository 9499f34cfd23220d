"""Browser tests: Debian's chromium driven by Playwright against a live server, kept off the network.

`page` is a fresh browser tab per test; a failing test leaves a full-page screenshot in
`test-artifacts/screenshots/<test name>.png`. Tests are skipped when no chromium is installed (CI installs it;
see `.ci/run`), so `make test` still runs on a laptop without one.
"""

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test's thread; Django's ORM refuses that unless told it is safe
# (it is: the loop only drives the browser, and the test's database calls are synchronous).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# Flags that keep the browser off the network and quiet: no updates, sync, metrics or DNS beyond this machine.
OFFLINE_FLAGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-extensions",
    "--disable-sync",
    "--metrics-recording-only",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
LOCAL = re.compile(r"^(https?://(localhost|127\.0\.0\.1)(:\d+)?/|data:|blob:|about:)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        skip = pytest.mark.skip(reason=f"no chromium at {CHROMIUM} (apt-get install chromium)")
        for item in items:
            if "tests/e2e/" in str(item.fspath):
                item.add_marker(skip)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=OFFLINE_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def audit_flushable(transactional_db) -> Iterator[None]:
    """Tests in this folder run with committed data (`pytest.mark.django_db(transaction=True,
    serialized_rollback=True)`); tests/conftest.py empties the append-only audit tables before the flush."""
    from django.contrib.auth.models import Group

    from clinic.roles import Role

    # The role groups come from a data migration; a flush between live-server tests can leave them out.
    for role in Role:
        Group.objects.get_or_create(name=role.value)
    yield  # the audit tables are emptied before the flush by tests/conftest.py


@pytest.fixture
def e2e_settings(settings):
    """The live server speaks plain HTTP on localhost: cookies without the Secure flag, no HTTPS redirect."""
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_SSL_REDIRECT = False
    return settings


@pytest.fixture
def page(browser, live_server, e2e_settings, request: pytest.FixtureRequest) -> Iterator[object]:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1180, "height": 820}
    )  # a tablet
    context.set_default_timeout(10_000)
    offsite: list[str] = []

    def only_local(route):  # anything not served by the app itself fails the test (no CDN, no beacons)
        if LOCAL.match(route.request.url):
            return route.continue_()
        offsite.append(route.request.url)
        return route.abort()

    context.route("**/*", only_local)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    # Console errors count, except the browser's note of a 4xx answer: refusals and form errors are the app's
    # own answers (the tests check what the page shows for them).
    expected = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")
    tab.on(
        "console",
        lambda message: (
            message.type == "error" and not expected.match(message.text) and errors.append(message.text)
        ),
    )
    yield tab
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not offsite, f"the page asked for resources outside the app: {offsite}"
    assert not errors, f"the page had script errors (CSP refusals included): {errors}"


@pytest.fixture
def log_in(page) -> Callable[[str, str], None]:
    """`log_in(username, password)` through the real sign-in form."""

    def sign_in(username: str, password: str) -> None:
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/$"))

    return sign_in
