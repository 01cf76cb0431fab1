"""The portal's browser assets in Debian's chromium: the Aladin Lite loader and the CSS.

A minimal Dash app serves the package's own assets folder (as ``create_app`` does) from a
thread; its page holds ``#aladin-view`` with ``data-ra``/``data-dec``, as the object page
does, and a button that swaps the view out and back, as navigating between objects does.
Requests to any host but the loopback are aborted: the sky survey's tiles cannot load,
which is the case the loader must survive without an uncaught error.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dash
import pytest
from dash import Input, Output, html
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route
from werkzeug.serving import make_server

import finkportal_portal
from tests.portal.conftest import LOOPBACK

ASSETS = Path(finkportal_portal.__file__).resolve().parent / "assets"
BUNDLE = ASSETS / "vendor" / "aladin.js"
# The only off-host requests the page may make: tiles of the loader's sky survey.
SURVEY_URL = "https://alasky.cds.unistra.fr/Pan-STARRS/DR1/color-z-zg-g/"
WAIT_MS = 60_000  # compiling Aladin's WebAssembly takes ~2 s, more on a busy machine
FIRST = (10.0, 20.0)
# Browsers without WebGL2 (Aladin's requirement): getContext("webgl2") answers null.
NO_WEBGL2 = """
const getContext = HTMLCanvasElement.prototype.getContext;
HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
  return kind === "webgl2" ? null : getContext.call(this, kind, ...rest);
};
"""


def sky_view(ra: float, dec: float) -> html.Div:
    # Any: Dash's typed signature cannot name data-* attributes.
    position: Any = {"data-ra": str(ra), "data-dec": str(dec)}
    return html.Div(id="aladin-view", **position)


def sky_app() -> dash.Dash:
    """A page with the sky view; each click on ``toggle`` swaps it out, or back in at a
    position moved by 1 degree per click."""
    app = dash.Dash(__name__, assets_folder=str(ASSETS), serve_locally=True,
                    assets_path_ignore=["vendor"])  # as create_app: the loader imports it
    app.layout = html.Div([html.Button("toggle", id="toggle"),
                           html.Div(sky_view(*FIRST), id="slot")])

    @app.callback(Output("slot", "children"), Input("toggle", "n_clicks"),
                  prevent_initial_call=True)
    def toggle(clicks: int) -> html.Div | html.P:
        if clicks % 2:
            return html.P("elsewhere", id="elsewhere")
        return sky_view(FIRST[0] + clicks, FIRST[1])

    return app


@pytest.fixture(scope="module")
def sky_url() -> Iterator[str]:
    if not BUNDLE.is_file():
        pytest.fail(f"{BUNDLE} is missing: run `bash scripts/install-portal-assets.sh` "
                    "(part of `make install`)")
    server = make_server("127.0.0.1", 0, sky_app().server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    thread.join(timeout=10)


@dataclass
class Watched:
    """What a page did: uncaught errors, off-host requests (aborted), responses by path."""

    page_errors: list[str] = field(default_factory=list)
    off_host: list[Request] = field(default_factory=list)
    statuses: dict[str, tuple[int, str]] = field(default_factory=dict)


@pytest.fixture
def watched() -> Watched:
    return Watched()


@pytest.fixture
def context(browser: Browser, watched: Watched) -> Iterator[BrowserContext]:
    """A fresh context, loopback only; no uncaught page error may happen in it."""
    opened = browser.new_context()
    opened.set_default_timeout(WAIT_MS)
    opened.route("**/*", lambda route: _loopback_only(route, watched))
    yield opened
    opened.close()
    assert watched.page_errors == []


def _loopback_only(route: Route, watched: Watched) -> None:
    if urlsplit(route.request.url).hostname in LOOPBACK:
        route.continue_()
    else:
        watched.off_host.append(route.request)
        route.abort()


def open_page(context: BrowserContext, watched: Watched, url: str) -> Page:
    page = context.new_page()
    page.on("pageerror", lambda error: watched.page_errors.append(str(error)))
    page.on("response", lambda response: watched.statuses.__setitem__(
        urlsplit(response.url).path, (response.status, response.headers.get("content-type", ""))))
    page.goto(url)
    return page


def wait_state(page: Page, state: str) -> None:
    page.wait_for_selector(f"#aladin-view[data-aladin='{state}']", state="attached")


def wait_settled(page: Page) -> str:
    """The loader's verdict on the current view, once it has given one."""
    view = page.wait_for_selector("#aladin-view[data-aladin]", state="attached")
    assert view is not None
    return str(view.get_attribute("data-aladin"))


def center(page: Page) -> tuple[float, float]:
    """Where Aladin says it is centred (``data-aladin-center``: "ra dec", degrees)."""
    text = page.get_attribute("#aladin-view", "data-aladin-center")
    assert text, "no data-aladin-center on #aladin-view"
    ra, dec = (float(value) for value in text.split())
    return ra, dec


def wait_center(page: Page, ra: float, dec: float) -> None:
    page.wait_for_function(
        """([ra, dec]) => {
             const el = document.getElementById("aladin-view");
             const text = el && el.dataset.aladin === "ready" && el.dataset.aladinCenter;
             if (!text) return false;
             const [r, d] = text.split(" ").map(Number);
             return Math.abs(r - ra) < 1e-6 && Math.abs(d - dec) < 1e-6;
           }""", arg=[ra, dec])


def set_position(page: Page, ra: str, dec: str) -> None:
    """Change the view's attributes in place, as a Dash update of the same div does."""
    page.evaluate("""([ra, dec]) => {
        const el = document.getElementById("aladin-view");
        el.setAttribute("data-ra", ra);
        el.setAttribute("data-dec", dec);
    }""", [ra, dec])


def has_webgl2(page: Page) -> bool:
    return bool(page.evaluate("() => !!document.createElement('canvas').getContext('webgl2')"))


def unavailable_note(page: Page) -> str:
    return str(page.inner_text("#aladin-view")).strip()


# ------------------------------------------------------------------ tests


def test_loader_centres_aladin_on_the_position_without_any_cdn(
        context: BrowserContext, watched: Watched, sky_url: str) -> None:
    page = open_page(context, watched, sky_url)
    state = wait_settled(page)
    assert state == ("ready" if has_webgl2(page) else "failed")
    # The module and the bundle came from the portal itself, as JavaScript.
    assert watched.statuses["/assets/vendor/aladin.js"][0] == 200
    assert "javascript" in watched.statuses["/assets/vendor/aladin.js"][1]
    assert "javascript" in watched.statuses["/assets/aladin-loader.mjs"][1]
    assert [r.url for r in watched.off_host if not r.url.startswith(SURVEY_URL)] == []
    # portal.css is applied: the sky view is the 300 px square it asks for.
    assert page.eval_on_selector("#aladin-view", "el => el.getBoundingClientRect().width") == 300
    if state == "ready":
        assert center(page) == pytest.approx(FIRST, abs=1e-6)
        assert page.locator("#aladin-view .aladin-host canvas").count() >= 1
        # Aladin shows the field it was given: 1.5 arcmin.
        assert re.search(r"1\.500'\s*×\s*1\.500'", page.inner_text("#aladin-view"))


def test_view_follows_new_positions_and_page_changes_with_one_instance(
        context: BrowserContext, watched: Watched, sky_url: str) -> None:
    page = open_page(context, watched, sky_url)
    if wait_settled(page) != "ready" or not has_webgl2(page):
        pytest.skip("this chromium has no WebGL2: Aladin cannot draw")
    set_position(page, "150.5", "-30.25")
    wait_center(page, 150.5, -30.25)
    page.click("#toggle")  # the object page goes away...
    page.wait_for_selector("#elsewhere")
    assert page.locator("#aladin-view").count() == 0
    page.click("#toggle")  # ...and another object's page arrives: a new div at RA + 2
    wait_center(page, FIRST[0] + 2, FIRST[1])
    # The one Aladin instance moved into the new div: no second render loop.
    assert page.locator(".aladin-host").count() == 1
    assert page.locator("#aladin-view .aladin-host").count() == 1


def test_invalid_position_fails_cleanly_then_recovers(
        context: BrowserContext, watched: Watched, sky_url: str) -> None:
    page = open_page(context, watched, sky_url)
    first = wait_settled(page)
    set_position(page, "not a number", "20")
    wait_state(page, "failed")
    assert unavailable_note(page) == "sky view unavailable"
    set_position(page, "33.5", "-5")
    wait_state(page, first)
    if first == "ready":
        assert center(page) == pytest.approx((33.5, -5.0), abs=1e-6)
        assert page.locator("#aladin-view .aladin-unavailable").count() == 0


def test_without_webgl2_the_view_says_unavailable_and_the_page_still_works(
        context: BrowserContext, watched: Watched, sky_url: str) -> None:
    context.add_init_script(NO_WEBGL2)
    page = open_page(context, watched, sky_url)
    wait_state(page, "failed")
    assert unavailable_note(page) == "sky view unavailable"
    assert page.locator("#aladin-view canvas").count() == 0
    page.click("#toggle")  # Dash callbacks still run
    page.wait_for_selector("#elsewhere")
    page.click("#toggle")  # and a new view fails the same way, quietly
    wait_state(page, "failed")


def test_missing_bundle_fails_cleanly(context: BrowserContext, watched: Watched,
                                      sky_url: str) -> None:
    context.route("**/assets/vendor/aladin.js", lambda route: route.fulfill(status=404))
    page = open_page(context, watched, sky_url)
    wait_state(page, "failed")
    assert unavailable_note(page) == "sky view unavailable"


def test_portal_app_loads_the_loader_as_a_module_and_not_the_bundle() -> None:
    """``create_app``'s pages: the CSS and the loader module, never the bundle as a classic
    script (its ``export`` would be a syntax error on every page)."""
    from finkportal_portal.app import create_app
    from finkportal_portal.settings import PortalSettings

    client = create_app(PortalSettings()).server.test_client()
    page = client.get("/").get_data(as_text=True)
    scripts = re.findall(r"<script[^>]*>", page)
    assert [s for s in scripts if "aladin-loader.mjs" in s and 'type="module"' in s], scripts
    assert not [s for s in scripts if "vendor/aladin" in s], scripts
    assert re.search(r'<link rel="stylesheet" href="/assets/portal\.css', page)
    bundle = client.get("/assets/vendor/aladin.js")
    assert bundle.status_code == 200
    assert "javascript" in bundle.content_type
    assert bundle.get_data() == BUNDLE.read_bytes()
