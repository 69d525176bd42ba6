"""The browser harness: Playwright (PyPI) driving Debian's Chromium against a live server.

One Chromium per session (pytest-playwright's `browser`, launched from `/usr/bin/chromium` by
path: no `playwright install`, no download), a fresh context per `page`. The server is
pytest-django's `live_server` (a thread of this process, on the test database); tenant consoles
live on `<slug>.localhost:<port>`, which Chromium maps to 127.0.0.1 (`--host-resolver-rules`).
The data a page reads must be committed: tests here use `live_server`, hence `transactional_db`,
whose teardown truncates every table, so they make their own data (`person`, the domain
factories) and run after every other test of the session (`pytest_collection_modifyitems`).

Fixtures: `page` (1280 px), `mobile_page` (375 px), `console_url(tenant, path)`,
`root_url(path)`, `person(...)` (a user with a verified email and a known password),
`login(page, user)`, `shoot(page, name)` (full-page PNG under .local/screenshots/),
`axe_check(page)` (vendored axe-core; fails on serious or critical violations) and
`no_horizontal_scroll(page)`. tests/README.md describes them."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("QS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
HAS_CHROMIUM = Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)
SKIP_REASON = (
    "needs Debian's chromium (apt-get install chromium; `make test` installs it when run as "
    "root): the browser tests drive it by path and never download a browser"
)
SCREENSHOTS = ROOT / ".local" / "screenshots"
AXE_JS = ROOT / "static" / "vendor" / "axe-core" / "axe.min.js"
PASSWORD = "quayside-browser-pw"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
CHROMIUM_FLAGS = [
    "--no-sandbox",  # root in containers
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # Tenant hosts: <slug>.localhost is the live server (Chromium also does this by itself).
    "--host-resolver-rules=MAP *.localhost 127.0.0.1",
]
# axe rules allowed to fail at serious or critical impact, each with its reason. Empty: every
# journey page passes them all.
AXE_EXCLUDED_RULES: dict[str, str] = {}
AXE_FAILING_IMPACTS = ("serious", "critical")


def _truncates(item) -> bool:
    marker = item.get_closest_marker("django_db")
    return "transactional_db" in getattr(item, "fixturenames", ()) or bool(
        marker and marker.kwargs.get("transaction")
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    """Browser tests truncate at teardown: they run after every other test (as billing's do),
    and skip, saying what to install, where there is no Chromium."""
    here = Path(__file__).parent

    def browser(item) -> bool:
        return Path(str(item.fspath)).is_relative_to(here)

    # Browser tests after every other test, the truncating ones among them last: once
    # Playwright's sync API has run in this process, tests that deploy in it (a thread, a
    # worker subprocess) were seen to fail in full runs (test_one_deployment_at_a_time,
    # test_worker_crash_recovery), so nothing but browser tests comes after the first one.
    items.sort(key=lambda item: (browser(item), _truncates(item)))
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)
            if not HAS_CHROMIUM:
                item.add_marker(skip)


# --- pytest-playwright, pointed at Debian's Chromium ---------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": CHROMIUM_FLAGS,
    }


@pytest.fixture(scope="session", autouse=True)
def _django_beside_playwright() -> Iterator[None]:
    """Playwright's sync API keeps an asyncio loop in this thread from the first browser test
    on; Django refuses ORM calls (the test database's set-up included) while one exists unless
    told it is safe, which it is: the loop is idle whenever Django runs here. Autouse and
    session-wide, so it is set before Playwright starts; browser tests run last."""
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if before is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def server(live_server, settings):
    """The live server, and the settings that make the app's own links point at it (return
    URLs of Checkout, invitation mails, tenant links: `ROOT_URL`'s scheme and port)."""
    settings.ROOT_URL = live_server.url
    settings.BASE_DOMAIN = "localhost"
    return live_server


def _new_page(browser, viewport: dict, **options):
    context = browser.new_context(viewport=viewport, **options)
    context.set_default_timeout(10_000)
    return context, context.new_page()


@pytest.fixture
def page(browser, server) -> Iterator:
    """A fresh page (its own cookies) 1280 px wide."""
    context, page = _new_page(browser, DESKTOP)
    yield page
    context.close()


@pytest.fixture
def mobile_page(browser, server) -> Iterator:
    """A fresh page as a phone shows it: 375 px wide, touch, the page's meta viewport honoured."""
    context, page = _new_page(browser, PHONE, is_mobile=True, has_touch=True)
    yield page
    context.close()


# --- Addresses and people ------------------------------------------------------------------


@pytest.fixture
def root_url(server) -> Callable[[str], str]:
    """root_url("/accounts/signup/"): an address on the root host (the public schema)."""
    return lambda path="/": f"{server.url}{path}"


@pytest.fixture
def console_url(server) -> Callable:
    """console_url(tenant, "/console/billing/"): an address on the tenant's own host."""
    port = server.url.rsplit(":", 1)[1]

    def make(tenant, path: str = "/console/") -> str:
        return f"http://{tenant.slug}.localhost:{port}{path}"

    return make


@pytest.fixture
def person(transactional_db, django_user_model) -> Callable:
    """person(tenant=None, role=None, email=None) -> a user who can sign in (verified email,
    password PASSWORD), a member of `tenant` with `role` when given."""
    from allauth.account.models import EmailAddress

    from apps.tenants.models import Membership

    def make(tenant=None, role=None, email: str | None = None):
        email = email or f"{role or 'user'}-{uuid.uuid4().hex[:8]}@browser.example"
        user = django_user_model.objects.create_user(username=email, email=email, password=PASSWORD)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        if tenant is not None and role is not None:
            Membership.objects.create(tenant=tenant, user=user, role=role)
        return user

    return make


@pytest.fixture
def login(console_url, root_url) -> Callable:
    """login(page, user, tenant=None): signs in through the sign-in form, on the tenant's host
    when given (sessions are per host), and lands on its console."""

    def sign_in(page, user, tenant=None, password: str = PASSWORD) -> None:
        start = console_url(tenant, "/console/") if tenant is not None else root_url("/")
        page.goto(start)
        page.wait_for_url("**/accounts/login/**")
        page.fill("input[name=login]", user.email)
        page.fill("input[name=password]", password)
        page.locator("form [type=submit]").first.click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)

    return sign_in


# --- Evidence and checks -------------------------------------------------------------------


@pytest.fixture
def shoot() -> Callable:
    """shoot(page, "journey1-console") -> the path of a full-page PNG in .local/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def axe_violations(page, *, impacts=AXE_FAILING_IMPACTS) -> list[dict]:
    """axe-core's violations on the page at `impacts`, minus AXE_EXCLUDED_RULES."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE_JS.read_text())
    results = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
        }"""
    )
    return [v for v in results if v["impact"] in impacts and v["id"] not in AXE_EXCLUDED_RULES]


@pytest.fixture
def axe_check() -> Callable:
    """axe_check(page): fails naming each serious or critical violation and where it is."""

    def check(page) -> None:
        violations = axe_violations(page)
        assert not violations, f"axe on {page.url}:\n" + json.dumps(violations, indent=1)

    return check


@pytest.fixture
def no_horizontal_scroll() -> Callable:
    """no_horizontal_scroll(page): nothing is wider than the viewport (names what sticks out)."""

    def check(page) -> None:
        widths = page.evaluate(
            """() => {
                const w = document.documentElement.clientWidth;
                const wide = [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > w + 1
                                 && getComputedStyle(e).position !== 'fixed')
                    .slice(0, 5)
                    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                              + '.' + [...e.classList].slice(0, 3).join('.'));
                return {scroll: document.documentElement.scrollWidth, width: w, wide};
            }"""
        )
        assert widths["scroll"] <= widths["width"], (
            f"{page.url} scrolls sideways: {widths['scroll']} px in {widths['width']} px "
            f"(widest: {widths['wide']})"
        )

    return check
