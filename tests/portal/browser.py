"""What the browser tests do and read in a page: search, wait, plotly figures, watchers.

Figures are read from the plotly graph div (``.js-plotly-plot``) in the page, as drawn:
arrays are taken from plotly's full data, where base64-encoded arrays are decoded.
"""

from __future__ import annotations

import math
import re
from typing import Any

from playwright.sync_api import Page

# Every trace of a dcc.Graph as drawn: name, x, y, lon/lat, customdata (plain arrays).
_TRACES_JS = """
(id) => {
  const root = document.getElementById(id);
  if (!root) return null;
  const gd = root.classList.contains('js-plotly-plot') ? root
             : root.querySelector('.js-plotly-plot');
  if (!gd || !gd.data || !gd._fullData) return null;
  const plain = (v) => (v == null ? null : Array.from(v, (item) =>
      (item != null && typeof item === 'object') ? Array.from(item) : item));
  return gd.data.map((trace, i) => {
    const full = gd._fullData.find((f) => f.index === i) || {};
    const pick = (key) => plain(full[key] !== undefined ? full[key] : trace[key]);
    return {name: trace.name || '', type: full.type || trace.type || 'scatter',
            x: pick('x'), y: pick('y'), lon: pick('lon'), lat: pick('lat'),
            z: pick('z'), customdata: pick('customdata'), source: trace.source || null};
  });
}
"""
_AXIS_TITLE_JS = """
([id, axis]) => {
  const root = document.getElementById(id);
  const gd = root && (root.classList.contains('js-plotly-plot') ? root
                      : root.querySelector('.js-plotly-plot'));
  const layout = gd && gd._fullLayout;
  return layout && layout[axis] && layout[axis].title ? layout[axis].title.text : null;
}
"""
# Keep every innerHTML an element goes through (states shorter than a poll included).
_WATCH_JS = """
(id) => {
  window.__seen = window.__seen || {};
  const seen = window.__seen[id] = [];
  const element = document.getElementById(id);
  const note = () => seen.push(element.innerHTML);
  new MutationObserver(note).observe(element, {childList: true, subtree: true,
                                               characterData: true, attributes: true});
}
"""


def search(page: Page, text: str) -> None:
    """Type a query in the search bar and press Enter."""
    page.fill("#search-input", text)
    page.press("#search-input", "Enter")


def wait_object_ready(page: Page) -> None:
    """The object page's marker says its data is drawn."""
    page.wait_for_function(
        "() => (document.getElementById('object-ready') || {}).textContent === 'ready'")


def wait_results(page: Page) -> None:
    """The results count and the first view (cards) are shown."""
    page.wait_for_selector("#results-count")
    page.wait_for_selector("#results-cards .result-card")


def card_ids(page: Page) -> list[str]:
    """The objectIds of the result cards, from their links (``/<objectId>``)."""
    hrefs = page.eval_on_selector_all(
        "#results-cards .result-card", "cards => cards.map(c => c.getAttribute('href'))")
    return [str(href).rsplit("/", 1)[-1] for href in hrefs]


def count_in(text: str) -> int:
    """The first whole number of a text ('12 object(s) for ...' -> 12)."""
    found = re.search(r"\d+", text.replace(",", ""))
    assert found, f"no number in {text!r}"
    return int(found[0])


def traces(page: Page, element_id: str) -> list[dict[str, Any]]:
    drawn = page.evaluate(_TRACES_JS, element_id)
    assert drawn is not None, f"no plotly figure drawn in #{element_id}"
    return list(drawn)


def wait_figure(page: Page, element_id: str) -> list[dict[str, Any]]:
    """The traces once the graph is drawn with at least one trace."""
    page.wait_for_function(f"(id) => {{ const d = ({_TRACES_JS})(id); return d && d.length; }}",
                           arg=element_id)
    return traces(page, element_id)


def wait_axis_title(page: Page, element_id: str, title: str, axis: str = "yaxis") -> None:
    page.wait_for_function(f"(args) => ({_AXIS_TITLE_JS})(args) === args[2]",
                           arg=[element_id, axis, title])


def finite(values: list[Any] | None) -> list[float]:
    """The finite numbers of a plotly array (null, NaN and text left out)."""
    numbers = [v for v in values or [] if isinstance(v, (int, float))]
    return [float(v) for v in numbers if math.isfinite(v)]


def watch(page: Page, element_id: str) -> None:
    """Start recording every state of an element's content (see ``seen``)."""
    page.evaluate(_WATCH_JS, element_id)


def seen(page: Page, element_id: str) -> list[str]:
    return list(page.evaluate("(id) => window.__seen[id] || []", element_id))
