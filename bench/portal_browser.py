"""The portal benchmark's browser side: Debian's chromium, headless, driven by Playwright.

A page counts as drawn when, in one animation frame, ``#object-title`` reads the object's
id, ``#object-ready`` reads ``ready``, the light curve's SVG holds at least one marker
(``path.point``) and each of the three cutouts is drawn (a loaded ``img``, or a plotly
graph whose heatmap image is in its SVG). The check runs in the page on every animation
frame (Playwright's ``polling="raf"``) and stamps ``performance.now()`` when it first
holds: the time since the navigation started, on the page's own clock, with no
round trip to this process in it. Wall time around ``goto`` + wait is kept as a check.

Three ways of reaching an object (:class:`Browser` methods):

- ``cold``: a new browser context per object (empty cache, new connections), ``goto``
  the object's URL: the SPA shell, Dash's and plotly's scripts, then the page;
- ``warm``: one context for the whole run, ``goto`` each object's URL (a full load, the
  scripts from the HTTP cache);
- ``search``: one context, inside the app: the navbar's Search link, the id typed in the
  search bar (unmeasured), then timed from the Search button's click (in-page
  ``performance.now()``) to the drawn page, without reloading the shell.

Only loopback is reachable: Chromium sends every other request to a proxy nobody
listens on (loopback never goes through a proxy), so it fails at once. A Playwright
route would abort them too, but routing disables the browser's HTTP cache, which the
warm runs measure.
"""

from __future__ import annotations

import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Browser as PwBrowser
from playwright.sync_api import BrowserContext, Page, Playwright, Request
from playwright.sync_api import Error as PlaywrightError

CHROMIUM = "/usr/bin/chromium"
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens there
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               f"--proxy-server={DEAD_PROXY}"]
VIEWPORT = {"width": 1280, "height": 900}
CUTOUT_IDS = ("cutout-science", "cutout-template", "cutout-difference")

# Returns true (and stamps window.__bench) once the object page is fully drawn, or as
# soon as it shows an error; runs in the page on every animation frame.
DRAWN_JS = """([objectId, cutoutIds]) => {
  const text = (id) => (document.getElementById(id)?.textContent || "").trim();
  const stamp = (extra) => { window.__bench = {drawnAt: performance.now(), ...extra}; };
  const error = text("object-error");
  if (error) { stamp({error}); return true; }
  if (text("object-ready") !== "ready" || text("object-title") !== objectId) return false;
  const points = document.querySelectorAll("#lightcurve-graph .main-svg path.point").length;
  if (points === 0) return false;
  const drawn = (id) => {
    const el = document.getElementById(id);
    if (!el) return false;
    if (el.tagName === "IMG") return el.complete && el.naturalWidth > 0;
    const image = el.querySelector(".main-svg image");
    return Boolean(image && (image.getAttribute("href") || image.getAttribute("xlink:href")));
  };
  if (!cutoutIds.every(drawn)) return false;
  stamp({points});
  return true;
}"""

# What the page knows about its own load (times in ms from the navigation start).
TIMING_JS = """(since) => {
  const paint = performance.getEntriesByName("first-contentful-paint")[0];
  const resources = performance.getEntriesByType("resource")
    .filter((r) => r.startTime >= since);
  const drawnAt = window.__bench ? window.__bench.drawnAt : Infinity;
  const callbacks = resources.filter((r) => r.name.includes("/_dash-update-component")
                                            && r.responseEnd <= drawnAt);
  return {bench: window.__bench || null, fcp: paint ? paint.startTime : null,
          requests: resources.length,
          transferBytes: resources.reduce((sum, r) => sum + (r.transferSize || 0), 0),
          callbacks: callbacks.length,
          callbacksEnd: callbacks.reduce((end, r) => Math.max(end, r.responseEnd), 0)};
}"""

CLICK_SEARCH_JS = """() => {
  window.__bench = null;
  performance.clearResourceTimings();  // the buffer keeps 250 entries: this load's only
  window.__benchStart = performance.now();
  document.getElementById("search-button").click();
}"""


@dataclass
class PageLoad:
    """One measured object page."""

    object_id: str
    drawn_ms: float | None = None  # in-page: navigation (or click) start to drawn
    wall_ms: float | None = None  # this process: goto (or click) to the wait's return
    fcp_ms: float | None = None  # first contentful paint of the shell (full loads)
    points: int = 0
    requests: int = 0
    transfer_kb: float = 0.0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def is_local(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname in (
        "127.0.0.1", "localhost", "::1")


class Browser:
    """Headless chromium on the portal at ``base_url``; counts refused non-local requests."""

    def __init__(self, playwright: Playwright, base_url: str, timeout_s: float):
        self.base_url, self.timeout_ms = base_url.rstrip("/"), timeout_s * 1000
        self.browser: PwBrowser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        self.refused: list[str] = []  # non-local URLs the page asked for (all failed)
        self._warm: tuple[BrowserContext, Page] | None = None

    @property
    def version(self) -> str:
        return self.browser.version

    def close(self) -> None:
        if self._warm is not None:
            self._warm[0].close()
        self.browser.close()

    def _new_page(self) -> tuple[BrowserContext, Page]:
        context = self.browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
        page = context.new_page()
        page.on("requestfailed", self._note_failure)
        return context, page

    def _note_failure(self, request: Request) -> None:
        if not is_local(request.url):
            self.refused.append(request.url)

    def _warm_page(self) -> Page:
        if self._warm is None:
            self._warm = self._new_page()
        return self._warm[1]

    def cold(self, object_id: str) -> PageLoad:
        context, page = self._new_page()
        try:
            return self._full_load(page, object_id)
        finally:
            context.close()

    def warm(self, object_id: str) -> PageLoad:
        return self._full_load(self._warm_page(), object_id)

    def _full_load(self, page: Page, object_id: str) -> PageLoad:
        load = PageLoad(object_id)
        began = time.perf_counter()
        try:
            page.goto(f"{self.base_url}/{object_id}", wait_until="commit",
                      timeout=self.timeout_ms)
            self._wait_drawn(page, object_id)
        except PlaywrightError as exc:  # a page that fails is a result, not a crash
            load.error = f"{type(exc).__name__}: {str(exc)[:300]}"
            return load
        load.wall_ms = round((time.perf_counter() - began) * 1000, 1)
        self._read_timing(page, load, start_ms=0.0)
        return load

    def search(self, object_id: str) -> PageLoad:
        """Type the id in the search page's bar, time the click to the drawn page."""
        load, page = PageLoad(object_id), self._warm_page()
        try:
            self._open_search_page(page)
            page.fill("#search-input", object_id)
            page.wait_for_timeout(300)  # let the suggestions callback settle, unmeasured
            began = time.perf_counter()
            page.evaluate(CLICK_SEARCH_JS)
            self._wait_drawn(page, object_id)
        except PlaywrightError as exc:  # a page that fails is a result, not a crash
            load.error = f"{type(exc).__name__}: {str(exc)[:300]}"
            return load
        load.wall_ms = round((time.perf_counter() - began) * 1000, 1)
        self._read_timing(page, load, start_ms=page.evaluate("() => window.__benchStart"))
        load.fcp_ms = None  # the shell was painted long before: not this navigation's
        return load

    def _open_search_page(self, page: Page) -> None:
        """The navbar's Search link (inside the app), or a first load of ``/``."""
        if page.url.startswith(self.base_url):
            page.click("a.nav-link[href='/']", timeout=self.timeout_ms)
        else:
            page.goto(f"{self.base_url}/", timeout=self.timeout_ms)
        page.wait_for_selector("#search-input", timeout=self.timeout_ms)

    def _wait_drawn(self, page: Page, object_id: str) -> None:
        page.wait_for_function(DRAWN_JS, arg=[object_id, list(CUTOUT_IDS)], polling="raf",
                               timeout=self.timeout_ms)

    def _read_timing(self, page: Page, load: PageLoad, start_ms: float) -> None:
        timing = page.evaluate(TIMING_JS, start_ms)
        bench = timing["bench"] or {}
        if bench.get("error"):
            load.error = f"page error: {bench['error'][:300]}"
            return
        load.drawn_ms = round(bench["drawnAt"] - start_ms, 1)
        load.points = int(bench.get("points", 0))
        load.fcp_ms = timing["fcp"]
        load.requests = int(timing["requests"])
        load.transfer_kb = round(timing["transferBytes"] / 1024, 1)
        load.extra = {"callbacks": timing["callbacks"],
                      "callbacks_end_ms": round(timing["callbacksEnd"] - start_ms, 1)}
