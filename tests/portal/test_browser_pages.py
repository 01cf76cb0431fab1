"""The home, statistics and API pages in a real browser, and the navigation between them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from tests.portal.browser import count_in, finite, wait_figure
from tests.portal.conftest import BrowserIssues, PortalServer
from tests.portal.picks import api_rows
from tests.support.real_store import IndexedStore

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_the_home_page_offers_the_search(page: Page, portal_server: PortalServer,
                                         browser_issues: BrowserIssues,
                                         screenshot: Callable[[str], Any]) -> None:
    page.goto(portal_server.url("/"))
    page.wait_for_selector("#search-input")
    assert page.is_visible("#search-button")
    assert page.get_attribute("#search-input", "list") == "search-suggestions"
    screenshot("home")
    # Everything the page needs is served by the portal: nothing was sent elsewhere...
    assert browser_issues.blocked == []
    # ...and anything that would be is stopped (the guard every test runs behind).
    outside = "https://alasky.cds.unistra.fr/MocServer/query"
    assert page.evaluate("(url) => fetch(url).then(() => 'sent', () => 'stopped')",
                         outside) == "stopped"
    assert browser_issues.blocked == [outside]


def test_the_search_suggests_class_names(page: Page, portal_server: PortalServer,
                                         query_api: httpx.Client) -> None:
    names = [name for group in query_api.get("/classes").json().values() for name in group]
    page.goto(portal_server.url("/"))
    page.fill("#search-input", "class=SN")
    page.wait_for_selector("#search-suggestions option", state="attached")
    offered = page.eval_on_selector_all("#search-suggestions option",
                                        "options => options.map(o => o.value)")
    assert "class=SN candidate" in offered
    # Only the API's class names holding the typed text (any case) are offered.
    assert {value.removeprefix("class=") for value in offered} <= {
        name for name in names if "sn" in name.lower()}


def test_the_statistics_page_counts_every_alert(
        page: Page, portal_server: PortalServer, indexed_store: IndexedStore,
        query_api: httpx.Client, screenshot: Callable[[str], Any]) -> None:
    nights = api_rows(query_api, "statistics")
    page.goto(portal_server.url("/statistics"))
    page.wait_for_selector("#stats-total")
    # Every stored alert was counted in its night: the total is the number stored.
    assert count_in(page.inner_text("#stats-total")) == len(indexed_store.alerts)
    drawn = wait_figure(page, "stats-nights-graph")
    assert sum(len(finite(trace["y"])) for trace in drawn) >= len(nights)
    assert any(finite(trace["y"]) or finite(trace["x"])
               for trace in wait_figure(page, "stats-classes-graph"))
    screenshot("statistics")


def test_the_api_page_links_to_the_query_api_docs(
        page: Page, portal_server: PortalServer, screenshot: Callable[[str], Any]) -> None:
    page.goto(portal_server.url("/api"))
    href = page.get_attribute("#api-docs-link", "href")
    assert href == f"{portal_server.query_url}/docs"
    answer = httpx.get(href, timeout=30)
    assert answer.status_code == 200
    assert "openapi" in answer.text.lower()
    screenshot("api")


def test_the_navigation_bar_reaches_every_page(page: Page,
                                                portal_server: PortalServer) -> None:
    page.goto(portal_server.url("/api"))
    page.wait_for_selector("#api-docs-link")
    page.click("nav a[href='/statistics']")
    page.wait_for_selector("#stats-total")
    page.click("nav a[href='/']:not(.brand) >> nth=0")
    page.wait_for_selector("#search-input")
    page.click("nav a[href='/api']")
    page.wait_for_selector("#api-docs-link")
