"""The portal in a real browser, on the real alerts.

Once per session: the real alerts are stored and indexed by the real pipeline
(``indexed_store``, tests/conftest.py) and served by the query service (``query_server``);
the fitter (batch requests off) and the portal run as their own processes on them; one
Debian chromium is driven by playwright. Each test gets a fresh browser context and page
whose requests to any other host than the loopback are aborted, so the tests also prove
the portal needs no network; page errors and server errors are failures at teardown.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, Request, Response, Route, sync_playwright

from finkportal_portal.settings import PortalSettings
from tests.conftest import REPO_ROOT, free_port
from tests.fitter.conftest import FitterServer, start_fitter, stop_fitter
from tests.portal.picks import Picks, pick_objects
from tests.support.http_process import stop_process, wait_http_healthy
from tests.support.real_store import IndexedStore, QueryServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LOOPBACK = {"127.0.0.1", "localhost"}
# Playwright's default wait for an element: a first page load draws figures (~1-2 s).
WAIT_MS = 20_000


@dataclass
class PortalServer:
    """A running ``python -m finkportal_portal`` process."""

    base_url: str
    query_url: str
    fitter_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


@dataclass
class BrowserIssues:
    """What went wrong in the page: uncaught errors, 5xx answers, requests sent off-host."""

    page_errors: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


def start_portal(query_url: str, fitter_url: str, log_path: Path) -> PortalServer:
    port = free_port()
    env = {"FINK_PORTAL_QUERY_URL": query_url, "FINK_PORTAL_FITTER_URL": fitter_url,
           "FINK_PORTAL_PORT": str(port), "FINK_PORTAL_LOG_LEVEL": "INFO"}
    with open(log_path, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "finkportal_portal"],
                                   env={**os.environ, **env}, stdout=log,
                                   stderr=subprocess.STDOUT)
    server = PortalServer(f"http://127.0.0.1:{port}", query_url, fitter_url, process, log_path)
    wait_portal_healthy(server)
    return server


def wait_portal_healthy(server: PortalServer, timeout_s: float = 60) -> None:
    wait_http_healthy(server.process, server.url("/health"), server.log, "portal", timeout_s)


def stop_portal(server: PortalServer) -> int:
    return stop_process(server.process)


@pytest.fixture(scope="session")
def portal_fitter(indexed_store: IndexedStore,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[FitterServer]:
    """The fitter on the real store, HTTP only (batch requests disabled)."""
    log = tmp_path_factory.mktemp("portal-fitter") / "fitter.log"
    server = start_fitter(indexed_store.store_url, log, workers="2", batch_enabled="false")
    yield server
    stop_fitter(server)


@pytest.fixture(scope="session")
def portal_server(query_server: QueryServer, portal_fitter: FitterServer,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalServer]:
    log = tmp_path_factory.mktemp("portal") / "portal.log"
    server = start_portal(query_server.base_url, portal_fitter.base_url, log)
    yield server
    assert stop_portal(server) == 0, server.log()[-3000:]


@pytest.fixture(scope="session")
def query_api(query_server: QueryServer) -> Iterator[httpx.Client]:
    """A client on the query API's /api/v1, for the answers the pages must show."""
    with httpx.Client(base_url=f"{query_server.base_url}/api/v1", timeout=60) as client:
        yield client


@pytest.fixture(scope="session")
def picks(query_api: httpx.Client, indexed_store: IndexedStore) -> Picks:
    """Objects of the real data chosen for what each test needs (see picks.py)."""
    return pick_objects(query_api, indexed_store.alerts, PortalSettings().page_size)


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """Debian's chromium (never ``playwright install``: nothing is downloaded)."""
    launched = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def browser_issues() -> BrowserIssues:
    return BrowserIssues()


@pytest.fixture
def page(browser: Browser, portal_server: PortalServer,
         browser_issues: BrowserIssues) -> Iterator[Page]:
    """A fresh context and page; off-host requests aborted; errors asserted at teardown."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    context.route("**/*", lambda route: _loopback_only(route, browser_issues))
    opened = context.new_page()
    opened.on("pageerror", lambda error: browser_issues.page_errors.append(str(error)))
    opened.on("response", lambda response: _note_server_error(response, browser_issues))
    yield opened
    context.close()
    assert browser_issues.page_errors == [], browser_issues.page_errors
    assert browser_issues.server_errors == [], (browser_issues.server_errors,
                                                portal_server.log()[-3000:])


def _loopback_only(route: Route, issues: BrowserIssues) -> None:
    request: Request = route.request
    if urlsplit(request.url).hostname in LOOPBACK:
        route.continue_()
    else:
        issues.blocked.append(request.url)
        route.abort()


def _note_server_error(response: Response, issues: BrowserIssues) -> None:
    # A callback that raises answers 500 and leaves the page silently stale: a failure.
    if response.status >= 500:
        issues.server_errors.append(f"{response.status} {response.request.method} "
                                    f"{response.url}")


@pytest.fixture(scope="session")
def screenshots_dir() -> Path:
    """``var/screenshots/`` (or ``FINK_TEST_SCREENSHOTS``), created."""
    path = Path(os.environ.get("FINK_TEST_SCREENSHOTS", REPO_ROOT / "var" / "screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def screenshot(screenshots_dir: Path, page: Page) -> Callable[[str], Path]:
    """``screenshot(name)``: a full-page PNG of the current page as ``<name>.png``."""

    def save(name: str) -> Path:
        path = screenshots_dir / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0
        return path

    return save
