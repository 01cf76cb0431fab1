"""``/<objectId>``: one object at a glance, drawn in one server round trip.

The layout function itself reads the object's rows (with upper limits) and its last
alert's cutouts from the query API and returns the finished page, so it arrives drawn;
the callbacks below handle what the user does next (units, clicks, tabs, downloads).
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from finkportal_portal.clients import ApiError
from finkportal_portal.components import sections, tabs
from finkportal_portal.context import portal
from finkportal_portal.data import Row, data_attributes, is_alert
from finkportal_portal.figures.lightcurve import lightcurve_figure

dash.register_page(__name__, path_template="/<object_id>", title="finkportal: object", order=9)

UNITS = [("Difference magnitude", "diffmag"), ("DC magnitude", "dcmag"),
         ("Difference flux (mJy)", "diffflux"), ("DC flux (mJy)", "dcflux")]
FORMATS = {f"download-{fmt}": fmt for fmt in sections.DOWNLOAD_FORMATS}
EXTENSIONS = {"json": "json", "csv": "csv", "votable": "xml", "parquet": "parquet"}


def layout(object_id: str | None = None, **_ignored: Any) -> html.Div:
    object_id = (object_id or "").strip()
    try:
        rows = portal().rows.get(object_id, fresh=True)
        alerts = [row for row in rows if is_alert(row)]
        if not alerts:
            return _error_page(object_id, f"No alert of {object_id!r} is stored: check the "
                               "objectId, or search for it from the search page.")
        arrays = portal().query.cutout_arrays(object_id, alerts[0].get("i:candid"))
    except ApiError as exc:
        portal().metrics.errors_shown.labels("object").inc()
        return _error_page(object_id, exc.message)
    return _page(object_id, rows, alerts[0], arrays)


def _error_page(object_id: str, message: str) -> html.Div:
    return html.Div([html.H1(object_id or "Object", id="object-title", className="page-title"),
                     html.Div(message, id="object-error", className="message error",
                              role="alert"),
                     dcc.Link("Back to the search", href="/"),
                     html.Div("ready", id="object-ready", hidden=True)])


def _page(object_id: str, rows: list[Row], last: Row, arrays: dict[str, Any]) -> html.Div:
    ra, dec = last.get("i:ra"), last.get("i:dec")
    sources = sections.cutout_sources(arrays, last.get("i:isdiffpos"))
    return html.Div([
        dcc.Store(id="object-id", data=object_id),
        html.Div([html.H1(object_id, id="object-title", className="page-title"),
                  html.Span(last.get("v:classification") or "Unknown", className="badge big")],
                 className="title-row"),
        html.Div(id="object-error", className="message error"),
        html.Div(className="object-grid", children=[
            html.Div([sections.cutouts_row(sources, last.get("i:candid")),
                      html.Div(id="aladin-view", className="aladin",
                               **data_attributes(ra=ra, dec=dec))],
                     className="object-side"),
            html.Div([
                dcc.RadioItems(id="lightcurve-unit", value="diffmag", inline=True,
                               options=[{"label": label, "value": value}
                                        for label, value in UNITS]),
                dcc.Graph(id="lightcurve-graph", config={"displaylogo": False},
                          figure=lightcurve_figure(rows, "diffmag", last.get("i:candid"))),
            ], className="object-main"),
        ]),
        sections.info_panel(rows),
        tabs.object_tabs(object_id, rows),
        html.H3("Elsewhere"), sections.links_panel(last),
        html.H3("Download"), sections.downloads_panel(object_id,
                                                     portal().settings.api_url_for_users),
        html.Div("ready", id="object-ready", hidden=True),
    ])


@callback(Output("lightcurve-graph", "figure"), Output("cutout-science", "src"),
          Output("cutout-template", "src"), Output("cutout-difference", "src"),
          Output("cutout-candid", "children"), Output("object-error", "children"),
          Input("lightcurve-unit", "value"), Input("lightcurve-graph", "clickData"),
          State("object-id", "data"), State("cutout-candid", "children"),
          prevent_initial_call=True)
def redraw(unit: str, click: dict[str, Any] | None, object_id: str, shown: Any) -> tuple[Any, ...]:
    """A unit switch redraws the light curve; a click on a point shows that alert's cutouts."""
    clicked = _clicked_candid(click) if dash.ctx.triggered_id == "lightcurve-graph" else None
    candid = clicked or shown
    try:
        rows = portal().rows.get(object_id)
        figure = lightcurve_figure(rows, unit, candid)
        if clicked is None or str(clicked) == str(shown):
            return figure, no_update, no_update, no_update, no_update, ""
        arrays = portal().query.cutout_arrays(object_id, clicked)
    except ApiError as exc:
        portal().metrics.errors_shown.labels("object").inc()
        return (no_update,) * 5 + (exc.message,)
    row = next((r for r in rows if str(r.get("i:candid")) == str(clicked)), {})
    science, template, difference = sections.cutout_sources(arrays, row.get("i:isdiffpos"))
    return figure, science, template, difference, str(clicked), ""


def _clicked_candid(click: dict[str, Any] | None) -> str | None:
    """The candid of the clicked point (upper limits have none: nothing to show)."""
    points = (click or {}).get("points") or []
    candid = points[0].get("customdata") if points else None
    if isinstance(candid, list):
        candid = candid[0] if candid else None
    return str(candid) if candid not in (None, "", "None") else None


@callback(Output("download", "data"), Output("object-error", "children", allow_duplicate=True),
          *(Input(button, "n_clicks") for button in FORMATS), State("object-id", "data"),
          prevent_initial_call=True)
def download(*args: Any) -> tuple[Any, Any]:
    object_id, fmt = args[-1], FORMATS[str(dash.ctx.triggered_id)]
    try:
        content = portal().query.download(object_id, fmt)
    except ApiError as exc:
        return no_update, exc.message
    return dcc.send_bytes(content, f"{object_id}.{EXTENSIONS[fmt]}"), ""
