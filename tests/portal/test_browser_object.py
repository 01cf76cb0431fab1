"""The object page in a real browser, built from the real alerts, against the API's answers."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from astropy.table import Table
from playwright.sync_api import Page, expect
from plotly.offline import get_plotlyjs_version

from finkportal_portal.figures.lightcurve import SELECTED_NAME
from finkportal_portal.photometry import UNITS
from tests.fitter.conftest import FitterServer
from tests.portal.browser import (
    finite,
    seen,
    traces,
    wait_axis_title,
    wait_figure,
    wait_object_ready,
    watch,
)
from tests.portal.conftest import PortalServer
from tests.portal.picks import Picks, api_rows

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

CUTOUTS = ("cutout-science", "cutout-template", "cutout-difference")
# The tab values of the contract, in the order the page lists them (sso: only for an
# object the last alert of which names a Solar System object).
TABS = ("summary", "supernovae", "variable", "microlensing", "sso")
AB_ZERO_POINT_MJY = 3631e3  # hand-written: AB magnitude 0 is 3631 Jy
FIT_WAIT_MS = 90_000


def open_object(page: Page, portal: PortalServer, object_id: str) -> None:
    """Open the page; wait for its marker and for plotly to draw its figures (the marker
    says ``ready`` as the layout arrives, before the graphs are drawn)."""
    page.goto(portal.url(f"/{object_id}"))
    wait_object_ready(page)
    wait_figure(page, "lightcurve-graph")
    for element_id in CUTOUTS:
        wait_cutout(page, element_id)


def plotted_points(page: Page) -> list[tuple[float, str]]:
    """(y, candid) of every light-curve point (the selected alert's ring left out)."""
    return [(y, str(candid or "")) for trace in traces(page, "lightcurve-graph")
            if trace["name"] != SELECTED_NAME
            for y, candid in zip(trace["y"] or [], trace["customdata"] or [], strict=True)
            if isinstance(y, (int, float)) and math.isfinite(y)]


def expected_diffmag_points(rows: list[dict[str, Any]]) -> int:
    """Rows with a value to draw: a detection's magnitude (error under 1 mag, Fink's rule)
    or an upper limit's limiting magnitude."""
    def drawn(row: dict[str, Any]) -> bool:
        if row.get("d:tag") == "upperlim":
            return row.get("i:diffmaglim") is not None
        return row.get("i:magpsf") is not None and (row.get("i:sigmapsf") or 0) < 1
    return sum(drawn(row) for row in rows)


# A cutout as shown: {width, height, image} (image: what identifies the picture), or null
# until it is drawn. The contract names html.Img; a dcc.Graph heatmap is read as well.
_CUTOUT_JS = """
(id) => {
  const el = document.getElementById(id);
  if (!el) return null;
  if (el.tagName === 'IMG') {
    return el.complete && el.naturalWidth > 0
      ? {width: el.naturalWidth, height: el.naturalHeight, image: el.src} : null;
  }
  const gd = el.classList.contains('js-plotly-plot') ? el : el.querySelector('.js-plotly-plot');
  const trace = gd && gd._fullData && gd._fullData[0];
  if (!trace || !trace.z || !trace.z.length) return null;
  return {width: trace.z[0].length, height: trace.z.length,
          image: JSON.stringify(Array.from(trace.z, (row) => Array.from(row)))};
}
"""


def wait_cutout(page: Page, element_id: str) -> dict[str, Any]:
    page.wait_for_function(f"(id) => ({_CUTOUT_JS})(id) !== null", arg=element_id)
    return dict(page.evaluate(_CUTOUT_JS, element_id))


def test_the_page_shows_the_object_from_its_alerts(
        page: Page, portal_server: PortalServer, picks: Picks, query_api: httpx.Client,
        screenshot: Callable[[str], Any]) -> None:
    rows = api_rows(query_api, "objects", objectId=picks.most_alerts, withupperlim="true")
    last = next(row for row in rows if row.get("d:tag") == "valid")
    open_object(page, portal_server, picks.most_alerts)
    assert page.inner_text("#object-title") == picks.most_alerts
    assert page.inner_text("#cutout-candid") == str(last["i:candid"])
    for element_id in CUTOUTS:
        cutout = wait_cutout(page, element_id)
        assert min(cutout["width"], cutout["height"]) > 10  # ZTF stamps are 63 x 63
    points = plotted_points(page)
    assert len(points) == expected_diffmag_points(rows)
    valid = {str(row["i:candid"]) for row in rows if row.get("d:tag") == "valid"}
    assert valid <= {candid for _y, candid in points}
    info = page.inner_text("#object-info")
    assert str(last["v:firstdate"]) in info
    assert str(last["v:lastdate"]) in info
    assert page.query_selector_all("#external-links a")
    screenshot("object-summary")


def test_the_page_draws_with_plotly_js_basic_bundle_alone(
        page: Page, portal_server: PortalServer, picks: Picks) -> None:
    """window.Plotly is the portal's basic bundle (plotly.py's plotly.js version); neither
    the full plotly.js nor MathJax is fetched, and the light curve is drawn."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    open_object(page, portal_server, picks.most_alerts)
    assert page.evaluate("() => window.Plotly.version") == get_plotlyjs_version()
    assert [url for url in requested if "plotly-basic.min.js" in url]
    assert not [url for url in requested if "package_data/plotly" in url or "mathjax" in url]
    assert plotted_points(page)


def test_every_unit_redraws_the_light_curve(
        page: Page, portal_server: PortalServer, picks: Picks, query_api: httpx.Client) -> None:
    open_object(page, portal_server, picks.with_reference)
    drawn: dict[str, list[float]] = {}
    for unit in ("dcmag", "diffflux", "dcflux", "diffmag"):
        page.check(f"#lightcurve-unit input[value='{unit}']")
        wait_axis_title(page, "lightcurve-graph", UNITS[unit])
        drawn[unit] = sorted(y for y, _candid in plotted_points(page))
        low, high = page.evaluate(
            "() => document.querySelector('#lightcurve-graph .js-plotly-plot')"
            "._fullLayout.yaxis.range")
        assert (low > high) == (unit in ("diffmag", "dcmag")), unit  # magnitudes: bright up
    assert len({tuple(values) for values in drawn.values()}) == 4
    rows = api_rows(query_api, "objects", objectId=picks.with_reference, withupperlim="true")
    assert sorted(drawn["diffflux"]) == pytest.approx(sorted(_difference_fluxes(rows)), rel=1e-6)


def _difference_fluxes(rows: list[dict[str, Any]]) -> list[float]:
    """Hand-computed difference fluxes (mJy) of the alerts, signed by isdiffpos (fluxes are
    drawn for alerts only, as Fink does, and errors of 1 mag or more are dropped)."""
    return [(1 if str(row["i:isdiffpos"]) in ("t", "1") else -1)
            * AB_ZERO_POINT_MJY * 10 ** (-0.4 * row["i:magpsf"])
            for row in rows if row.get("d:tag") == "valid" and row.get("i:magpsf") is not None
            and (row.get("i:sigmapsf") or 0) < 1]


# The screen position of the point farthest from any other point among those of alerts
# ``wanted`` (candids), and the candid of that alert.
_ISOLATED_POINT_JS = """
(wanted) => {
  const gd = document.querySelector('#lightcurve-graph .js-plotly-plot');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, size = gd._fullLayout._size;
  const box = gd.getBoundingClientRect();
  const points = [];
  gd.calcdata.forEach((trace) => {
    const full = trace[0].trace;
    trace.forEach((pt, i) => {
      if (!Number.isFinite(pt.y)) return;
      points.push({candid: full.customdata ? String(full.customdata[i] || '') : '',
                   x: box.left + size.l + xa.c2p(pt.x), y: box.top + size.t + ya.c2p(pt.y)});
    });
  });
  let best = null, bestGap = -1;
  for (const p of points.filter((p) => wanted.includes(p.candid))) {
    const gap = Math.min(...points.filter((q) => q !== p)
                         .map((q) => Math.hypot(q.x - p.x, q.y - p.y)));
    if (gap > bestGap) { best = p; bestGap = gap; }
  }
  return best;
}
"""
def candids_with_cutouts(api: httpx.Client, object_id: str) -> list[str]:
    rows = api_rows(api, "objects", objectId=object_id, withcutouts="true",
                    **{"cutout-kind": "Science", "columns": "i:candid"})
    return [str(row["i:candid"]) for row in rows if row.get("b:cutoutScience_stampData")]


def test_a_click_on_another_alert_shows_its_cutouts(
        page: Page, portal_server: PortalServer, picks: Picks, query_api: httpx.Client) -> None:
    open_object(page, portal_server, picks.most_alerts)
    shown = page.inner_text("#cutout-candid")
    others = [c for c in candids_with_cutouts(query_api, picks.most_alerts) if c != shown]
    before = wait_cutout(page, "cutout-science")["image"]
    point = page.evaluate(_ISOLATED_POINT_JS, others)
    assert point is not None, "no other alert with cutouts drawn"
    page.mouse.move(point["x"], point["y"])
    page.wait_for_selector("#lightcurve-graph .hoverlayer .hovertext")
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function("(candid) => document.getElementById('cutout-candid')"
                           ".textContent.trim() === candid", arg=point["candid"])
    page.wait_for_function(f"([id, before]) => {{ const now = ({_CUTOUT_JS})(id); "
                           "return now !== null && now.image !== before; }",
                           arg=["cutout-science", before])


# The ids in the page's main part: each tab's content brings ids of its own.
_IDS_JS = "() => Array.from(document.querySelectorAll('main [id]'), e => e.id).sort().join(' ')"


def open_tab(page: Page, value: str) -> None:
    """Click the tab of ``value`` (dcc.Tabs draws no value: its place in TABS), and wait
    until it is selected and its content has replaced the previous one."""
    before = page.evaluate(_IDS_JS)
    tab = page.locator("#object-tabs .tab").nth(TABS.index(value))
    tab.click()
    expect(tab).to_have_class(re.compile(r"\btab--selected\b"))
    page.wait_for_function(f"(before) => ({_IDS_JS})() !== before", arg=before)


def plots(page: Page) -> int:
    return len(page.query_selector_all("main .js-plotly-plot"))


def test_each_tab_opens(page: Page, portal_server: PortalServer, picks: Picks,
                        query_api: httpx.Client, screenshot: Callable[[str], Any]) -> None:
    open_object(page, portal_server, picks.sso)
    assert page.locator("#object-tabs .tab").count() == len(TABS)
    summary_plots = plots(page)
    screenshot("object-summary-tab")
    open_tab(page, "supernovae")
    page.wait_for_function("(n) => document.querySelectorAll('main .js-plotly-plot').length > n",
                           arg=summary_plots)
    screenshot("object-supernovae-tab")
    open_tab(page, "variable")
    page.wait_for_selector("#fit-period-button")
    screenshot("object-variable-tab")
    open_tab(page, "microlensing")
    page.wait_for_selector("#fit-mulens-button")
    screenshot("object-microlensing-tab")
    open_tab(page, "sso")
    ssnamenr = str(api_rows(query_api, "objects", objectId=picks.sso)[0]["i:ssnamenr"])
    expect(page.locator("main")).to_contain_text(ssnamenr)
    # The table's chunk is not in the page's first scripts: fetched now, it draws the rows.
    page.wait_for_selector("#sso-table td")
    screenshot("object-sso-tab")
    open_tab(page, "summary")
    assert plots(page) == summary_plots


def test_the_solar_system_tab_is_offered_only_for_solar_system_objects(
        page: Page, portal_server: PortalServer, picks: Picks) -> None:
    open_object(page, portal_server, picks.most_alerts)  # its last alert names none
    assert page.locator("#object-tabs .tab").count() == len(TABS) - 1


def run_fit(page: Page, button: str, status: str, result: str) -> str:
    """Click a fit button; the fit's result text, once shown, after progress was shown."""
    watch(page, status)
    page.click(f"#{button}")
    page.wait_for_function("(id) => document.getElementById(id).textContent.trim()",
                           arg=result, timeout=FIT_WAIT_MS)
    states = seen(page, status)
    assert any("<progress" in state for state in states), states
    return page.inner_text(f"#{result}")


def test_the_period_fit_runs_from_its_tab(
        page: Page, portal_server: PortalServer, picks: Picks, portal_fitter: FitterServer,
        screenshot: Callable[[str], Any]) -> None:
    open_object(page, portal_server, picks.most_alerts)
    open_tab(page, "variable")
    page.wait_for_selector("#fit-period-button")
    options = {name: float(page.input_value(f"#{element}")) for name, element in (
        ("period_min", "period-min"), ("period_max", "period-max"))}
    options |= {name: int(page.input_value(f"#{element}")) for name, element in (
        ("nterms_base", "nterms-base"), ("nterms_band", "nterms-band"))}
    text = run_fit(page, "fit-period-button", "fit-period-status", "fit-period-result")
    fitted = portal_fitter.fit_and_wait(picks.most_alerts, "period", **options)
    assert fitted["status"] == "done", fitted
    assert f"{fitted['result']['best_period']:.6f}" in text
    for graph in ("periodogram-graph", "folded-graph"):
        assert page.is_visible(f"#{graph}")
        assert any(finite(trace["y"]) for trace in traces(page, graph))
    screenshot("object-variable-fitted")


def test_the_microlensing_fit_runs_from_its_tab(
        page: Page, portal_server: PortalServer, picks: Picks, portal_fitter: FitterServer,
        screenshot: Callable[[str], Any]) -> None:
    open_object(page, portal_server, picks.microlensing)
    open_tab(page, "microlensing")
    page.wait_for_selector("#fit-mulens-button")
    text = run_fit(page, "fit-mulens-button", "fit-mulens-status", "fit-mulens-result")
    fitted = portal_fitter.fit_and_wait(picks.microlensing, "microlensing", method="TRF")
    assert fitted["status"] == "done", fitted
    for name in ("u0", "tE"):
        assert f"{fitted['result'][name]:.5g}" in text, (name, text)
    assert page.is_visible("#mulens-graph")
    assert any(finite(trace["y"]) for trace in traces(page, "mulens-graph"))
    screenshot("object-microlensing-fitted")


def download(page: Page, fmt: str) -> bytes:
    with page.expect_download() as started:
        page.click(f"#download-{fmt}")
    return Path(started.value.path()).read_bytes()


def test_every_download_holds_the_alerts(
        page: Page, portal_server: PortalServer, picks: Picks, query_api: httpx.Client) -> None:
    rows = api_rows(query_api, "objects", objectId=picks.most_alerts)
    candids = {str(row["i:candid"]) for row in rows}
    open_object(page, portal_server, picks.most_alerts)
    as_json = json.loads(download(page, "json"))
    assert len(as_json) == len(rows)
    assert {str(row["i:candid"]) for row in as_json} == candids
    as_csv = list(csv.DictReader(io.StringIO(download(page, "csv").decode())))
    assert {row["i:candid"] for row in as_csv} == candids
    assert len(as_csv) == len(rows)
    votable = Table.read(io.BytesIO(download(page, "votable")), format="votable",
                         use_names_over_ids=True)
    assert {str(candid) for candid in votable["i:candid"]} == candids
    parquet = pq.read_table(io.BytesIO(download(page, "parquet")))
    assert {str(candid) for candid in parquet.column("i:candid").to_pylist()} == candids
    assert len(votable) == parquet.num_rows == len(rows)


def test_the_api_call_shown_gives_the_same_alerts(
        page: Page, portal_server: PortalServer, picks: Picks, query_api: httpx.Client) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"],
                                   origin=portal_server.base_url)
    open_object(page, portal_server, picks.most_alerts)
    call = page.inner_text("#api-call")
    url = next(word for word in shlex.split(call) if word.startswith("http"))
    assert url.startswith(portal_server.query_url)
    answer = httpx.get(url, timeout=60)
    assert answer.status_code == 200
    assert len(answer.json()) == len(api_rows(query_api, "objects", objectId=picks.most_alerts))
    page.locator("#api-call").locator("xpath=following-sibling::*[1]").click()
    page.wait_for_function("(call) => navigator.clipboard.readText().then(t => t === call)",
                           arg=call)


def test_the_sky_view_is_placed_on_the_object(
        page: Page, portal_server: PortalServer, picks: Picks, query_api: httpx.Client) -> None:
    last = api_rows(query_api, "objects", objectId=picks.most_alerts)[0]
    open_object(page, portal_server, picks.most_alerts)
    view = page.locator("#aladin-view")
    assert float(view.get_attribute("data-ra") or "nan") == pytest.approx(last["i:ra"])
    assert float(view.get_attribute("data-dec") or "nan") == pytest.approx(last["i:dec"])
    page.wait_for_selector("#aladin-view[data-aladin]", state="attached")
    assert view.get_attribute("data-aladin") in ("ready", "failed")


def test_an_unknown_object_is_a_message_not_a_broken_page(
        page: Page, portal_server: PortalServer) -> None:
    page.goto(portal_server.url("/ZTF99zzzzzzz"))
    wait_object_ready(page)
    message = page.inner_text("#object-error")
    assert re.search("ZTF99zzzzzzz", message), message
    assert page.query_selector("#lightcurve-graph") is None
    page.click("a[href='/'] >> nth=0")
    page.wait_for_selector("#search-input")
