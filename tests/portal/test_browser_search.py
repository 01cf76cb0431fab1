"""The search bar and its results in a real browser, against the query API's own answers."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

import astropy.units as u
import httpx
import pytest
from astropy.coordinates import Angle, SkyCoord
from playwright.sync_api import Page

from finkportal_portal.settings import PortalSettings
from tests.portal.browser import card_ids, count_in, search, traces, wait_object_ready, wait_results
from tests.portal.conftest import PortalServer
from tests.portal.picks import Picks, api_rows

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

PAGE_SIZE = PortalSettings().page_size  # the portal process reads the same environment


def api_ids(api: httpx.Client, endpoint: str, **params: str) -> set[str]:
    """The distinct objects of an API answer."""
    return {str(row["i:objectId"]) for row in api_rows(api, endpoint, **params)}


def position(api: httpx.Client, object_id: str) -> tuple[float, float]:
    """RA, Dec (degrees) of the object's last alert, as the API gives it."""
    last = api_rows(api, "objects", objectId=object_id, columns="i:ra,i:dec")[0]
    return float(last["i:ra"]), float(last["i:dec"])


def sexagesimal(ra: float, dec: float, separators: tuple[str, str], precision: int) -> str:
    """``'HH MM SS.S +DD MM SS.S'`` and the like, written by astropy (carries included)."""
    ra_text = Angle(ra, u.deg).to_string(unit=u.hour, sep=separators[0], precision=precision,
                                         pad=True)
    dec_text = Angle(dec, u.deg).to_string(unit=u.deg, sep=separators[1], precision=precision,
                                           pad=True, alwayssign=True)
    return f"{ra_text} {dec_text}"


def centre_of(text: str) -> SkyCoord:
    """astropy's reading of a query's coordinates (hours and degrees, or decimal degrees)."""
    parts = text.split(" ")
    if len(parts) == 2 and all(":" not in p and "h" not in p for p in parts):
        return SkyCoord(float(parts[0]), float(parts[1]), unit=u.deg)
    half = len(parts) // 2
    return SkyCoord(" ".join(parts[:half]), " ".join(parts[half:]), unit=(u.hourangle, u.deg))


def prefix_matches(api: httpx.Client, prefix: str) -> set[str]:
    found = api_ids(api, "objects", objectId=prefix, columns="i:objectId")
    assert 2 <= len(found) <= PAGE_SIZE  # one page of results (picks.py)
    return found


def open_search(page: Page, portal: PortalServer, text: str) -> None:
    page.goto(portal.url("/"))
    page.wait_for_selector("#search-input")
    search(page, text)


def test_a_full_object_id_opens_its_page(page: Page, portal_server: PortalServer,
                                         picks: Picks) -> None:
    open_search(page, portal_server, picks.most_alerts)
    page.wait_for_url(portal_server.url(f"/{picks.most_alerts}"))
    wait_object_ready(page)
    assert page.inner_text("#object-title") == picks.most_alerts


def test_a_partial_id_lists_the_objects_the_api_matches(
        page: Page, portal_server: PortalServer, picks: Picks, query_api: httpx.Client,
        screenshot: Callable[[str], Any]) -> None:
    prefix, expected = picks.prefix, prefix_matches(query_api, picks.prefix)
    open_search(page, portal_server, prefix)
    wait_results(page)
    assert set(card_ids(page)) == expected
    assert count_in(page.inner_text("#results-count")) == len(expected)
    screenshot("search-results-cards")


@pytest.mark.parametrize("write", [
    pytest.param(lambda ra, dec: f"{ra:.6f} {dec:+.6f}", id="decimal"),
    pytest.param(lambda ra, dec: sexagesimal(ra, dec, (" ", " "), 1), id="HH MM SS.S"),
    pytest.param(lambda ra, dec: sexagesimal(ra, dec, (":", ":"), 0), id="HH:MM:SS"),
    pytest.param(lambda ra, dec: sexagesimal(ra, dec, ("hms", "dms"), 0), id="HHhMMmSSs"),
])
def test_each_coordinate_format_finds_the_object(
        page: Page, portal_server: PortalServer, picks: Picks, query_api: httpx.Client,
        write: Callable[[float, float], str]) -> None:
    text = write(*position(query_api, picks.cone))
    # The expectation: astropy's reading of the same text, asked of the API (10": the
    # search's default radius); rounding moves the centre by less than 8".
    centre = centre_of(text)
    expected = api_ids(query_api, "conesearch", ra=str(float(centre.ra.deg)),
                       dec=str(float(centre.dec.deg)), radius="10")
    assert picks.cone in expected
    open_search(page, portal_server, text)
    wait_results(page)
    assert set(card_ids(page)) == expected, text


def test_a_radius_with_its_unit_widens_the_cone(
        page: Page, portal_server: PortalServer, picks: Picks, query_api: httpx.Client) -> None:
    ra, dec = position(query_api, picks.cone)
    arcmin = picks.cone_radius_arcmin
    expected = api_ids(query_api, "conesearch", ra=str(ra), dec=str(dec),
                       radius=str(arcmin * 60))
    assert len(expected) == 2  # the object and its one neighbour (picks.py)
    open_search(page, portal_server, f"{ra:.6f} {dec:+.6f} {arcmin}m")
    wait_results(page)
    assert set(card_ids(page)) == expected


def test_a_class_search_lists_the_latest_objects_of_the_class(
        page: Page, portal_server: PortalServer, picks: Picks, query_api: httpx.Client) -> None:
    expected = api_ids(query_api, "latests", **{"class": picks.fink_class, "n": "10"})
    open_search(page, portal_server, f"class={picks.fink_class} last=10")
    wait_results(page)
    assert set(card_ids(page)) == expected
    assert count_in(page.inner_text("#results-count")) == len(expected)


def test_an_unreadable_query_is_explained_and_the_page_still_works(
        page: Page, portal_server: PortalServer, picks: Picks) -> None:
    open_search(page, portal_server, "271.39 45.25 r=fast")
    page.wait_for_function(
        "() => document.getElementById('search-message').textContent.trim().length > 0")
    assert page.url == portal_server.url("/")  # nothing was searched
    assert page.query_selector("#results-count") is None
    search(page, picks.most_alerts)
    page.wait_for_url(portal_server.url(f"/{picks.most_alerts}"))
    wait_object_ready(page)


def test_the_query_lives_in_the_url(page: Page, portal_server: PortalServer, picks: Picks,
                                    query_api: httpx.Client) -> None:
    prefix, expected = picks.prefix, prefix_matches(query_api, picks.prefix)
    page.goto(portal_server.url("/?" + urllib.parse.urlencode({"q": prefix})))
    wait_results(page)
    assert set(card_ids(page)) == expected
    assert page.input_value("#search-input").rstrip("*") == prefix
    page.reload()
    wait_results(page)
    assert set(card_ids(page)) == expected


def table_ids(page: Page) -> list[str]:
    return [text.strip() for text in page.eval_on_selector_all(
        "#results-table td[data-dash-column='objectId']", "cells => cells.map(c => c.innerText)")]


def test_results_as_a_sortable_table_and_on_a_sky_map(
        page: Page, portal_server: PortalServer, picks: Picks, query_api: httpx.Client,
        screenshot: Callable[[str], Any]) -> None:
    prefix, expected = picks.prefix, prefix_matches(query_api, picks.prefix)
    open_search(page, portal_server, prefix)
    wait_results(page)
    sky = traces(page, "results-skymap")
    assert {str(c) for t in sky for c in t["customdata"] or [] if c} == expected
    page.check("#results-view input[value='table']")
    page.wait_for_selector("#results-table td[data-dash-column='objectId']")
    assert set(table_ids(page)) == expected
    assert page.query_selector("#results-cards") is None
    # The column picker: a column unticked leaves the table.
    assert page.query_selector("#results-table th[data-dash-column='class']")
    page.uncheck("#results-columns input[value='class']")
    page.wait_for_selector("#results-table th[data-dash-column='class']", state="detached")
    assert set(table_ids(page)) == expected
    page.click("#results-table th[data-dash-column='objectId'] .column-header--sort")
    page.wait_for_function("(ids) => { const cells = document.querySelectorAll("
                           "\"#results-table td[data-dash-column='objectId']\");"
                           "return Array.from(cells, c => c.innerText.trim()).join() === ids; }",
                           arg=",".join(sorted(expected)))
    screenshot("search-results-table")
