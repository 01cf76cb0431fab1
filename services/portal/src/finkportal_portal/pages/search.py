"""``/``: the search bar (Fink's grammar, see ``search.py``) and its results.

The query lives in the URL (``/?q=...``) so a search can be shared; a full object id goes
straight to the object page.
"""

from __future__ import annotations

import math
import urllib.parse
from typing import Any

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from finkportal_portal.clients import ApiError
from finkportal_portal.components import results
from finkportal_portal.context import portal
from finkportal_portal.data import Row, rows_by_object, summarise
from finkportal_portal.figures.lightcurve import sparkline_svg
from finkportal_portal.figures.sky import sky_figure
from finkportal_portal.search import SearchQuery, SearchSyntaxError, parse_query, suggest

dash.register_page(__name__, path="/", title="finkportal: search", order=0)

EXAMPLES = ["ZTF21abfmbix", "ZTF21ab", "271.3914 45.2545 10s", "18:05:33.9 +45:15:16.2 1m",
            "class=SN candidate last=20", "8467", "TRCK_20211022_091949_00"]
SPARKLINE_COLUMNS = "i:objectId,i:jd,i:fid,i:magpsf,i:sigmapsf"


def layout(q: str | None = None, **_ignored: Any) -> html.Div:
    return html.Div([
        dcc.Location(id="search-url", refresh="callback-nav"),
        html.H1("Search ZTF alerts", className="page-title"),
        html.Div([
            dcc.Input(id="search-input", type="text", value=q or "", debounce=False,
                      placeholder="objectId, prefix, coordinates [radius], class=..., SSO name, "
                      "TRCK_...", list="search-suggestions", autoComplete="off",
                      className="search-input"),
            html.Datalist(id="search-suggestions"),
            html.Button("Search", id="search-button", className="button"),
        ], className="search-bar"),
        html.Div(id="search-message", className="message", role="alert"),
        html.Details([html.Summary("Examples"), html.Ul(
            [html.Li(dcc.Link(text, href="/?" + urllib.parse.urlencode({"q": text})))
             for text in EXAMPLES])], className="examples"),
        dcc.Store(id="search-query", data=q or ""),
        dcc.Store(id="results-store"),
        dcc.Loading(html.Div(id="results-area"), type="dot"),
    ])


@callback(Output("search-url", "href"), Output("search-message", "children", allow_duplicate=True),
          Input("search-button", "n_clicks"), Input("search-input", "n_submit"),
          State("search-input", "value"), prevent_initial_call=True)
def submit(_clicks: int | None, _submits: int | None, text: str | None) -> tuple[Any, Any]:
    """Parse on submit: an object id opens its page; anything else goes to ``/?q=``."""
    try:
        query = parse_query(text or "")
    except SearchSyntaxError as exc:
        return no_update, str(exc)
    if query.kind == "object":
        return f"/{query.canonical()}", ""
    return "/?" + urllib.parse.urlencode({"q": query.canonical()}), ""


@callback(Output("search-suggestions", "children"), Input("search-input", "value"))
def suggestions(text: str | None) -> list[html.Option]:
    if not text:
        return []
    try:
        classes = portal().classes.get()
    except ApiError:
        classes = []
    return [html.Option(value=value) for value in suggest(text, classes)]


@callback(Output("results-store", "data"), Output("search-message", "children"),
          Input("search-query", "data"))
def run_search(text: str) -> tuple[Any, Any]:
    if not text:
        return None, ""
    try:
        query = parse_query(text)
        rows = _fetch(query)
    except SearchSyntaxError as exc:
        return None, str(exc)
    except ApiError as exc:
        portal().metrics.errors_shown.labels("search").inc()
        return None, exc.message
    summaries = summarise(rows)[: portal().settings.max_results]
    return {"query": text, "kind": query.kind, "summaries": summaries}, ""


def _fetch(query: SearchQuery) -> list[Row]:
    endpoint, params = query.api_request()
    if query.kind in ("cone", "class"):
        params.setdefault("n", str(portal().settings.max_results))
    return portal().query.rows(endpoint, params)


@callback(Output("results-area", "children"), Input("results-store", "data"))
def show_results(found: dict[str, Any] | None) -> Any:
    if not found:
        return None
    summaries = found["summaries"]
    if not summaries:
        return html.Div(f"No object matches {found['query']!r}.", id="results-count",
                        className="results-count")
    return html.Div([
        html.Div(f"{len(summaries)} object(s) for {found['query']!r}", id="results-count",
                 className="results-count"),
        html.Div([
            dcc.RadioItems(id="results-view", value="cards", inline=True,
                           options=[{"label": "Cards", "value": "cards"},
                                    {"label": "Table", "value": "table"}]),
            dcc.Checklist(id="results-columns", value=results.DEFAULT_COLUMNS, inline=True,
                          options=[{"label": results.COLUMN_LABELS[c], "value": c}
                                   for c in results.SUMMARY_COLUMNS]),
        ], className="results-controls"),
        html.Div(id="results-view-area"),
        html.Div([
            html.Button("Previous", id="results-prev", className="button small"),
            html.Span(id="results-page-label"),
            html.Button("Next", id="results-next", className="button small"),
        ], id="results-pager", className="pager"),
        dcc.Store(id="results-page", data=0),
        dcc.Graph(id="results-skymap", figure=sky_figure(_sky_objects(summaries)),
                  config={"displaylogo": False}),
    ])


def _sky_objects(summaries: list[Row]) -> list[dict[str, Any]]:
    return [{"objectId": s["objectId"], "ra": s["ra"], "dec": s["dec"], "class": s["class"]}
            for s in summaries]


@callback(Output("results-page", "data"), Input("results-prev", "n_clicks"),
          Input("results-next", "n_clicks"), State("results-page", "data"),
          State("results-store", "data"), prevent_initial_call=True)
def turn_page(_prev: int | None, _next: int | None, page: int, found: dict[str, Any]) -> int:
    pages = max(1, math.ceil(len(found["summaries"]) / portal().settings.page_size))
    step = 1 if dash.ctx.triggered_id == "results-next" else -1
    return min(max(0, page + step), pages - 1)


@callback(Output("results-view-area", "children"), Output("results-page-label", "children"),
          Output("results-pager", "style"),
          Input("results-view", "value"), Input("results-columns", "value"),
          Input("results-page", "data"), State("results-store", "data"))
def show_view(view: str, columns: list[str], page: int, found: dict[str, Any]) -> Any:
    summaries, size = found["summaries"], portal().settings.page_size
    if view == "table":
        return results.table(summaries, columns or ["objectId"], size), "", {"display": "none"}
    pages = max(1, math.ceil(len(summaries) / size))
    shown = summaries[page * size:(page + 1) * size]
    return (html.Div(results.cards(shown, _sparklines(shown)), id="results-cards",
                     className="cards"), f" page {page + 1} of {pages} ", {})


def _sparklines(summaries: list[Row]) -> dict[str, str]:
    """A small light curve per card, from one API call for the page's objects."""
    ids = ",".join(str(s["objectId"]) for s in summaries)
    try:
        rows = portal().query.objects(ids, columns=SPARKLINE_COLUMNS)
    except ApiError:
        return {}  # the cards still show; only the sparklines are missing
    return {object_id: sparkline_svg(group) for object_id, group in rows_by_object(rows).items()}
