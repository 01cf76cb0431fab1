"""The object page's tabs; each tab's content is built when it is opened (the page loads
with the summary only), and the fit tabs run their fits through the fitter service."""

from __future__ import annotations

import math
from typing import Any, cast

from dash import Input, Output, State, callback, dcc, html
from dash.dash_table.DataTable import DataTable

from finkportal_portal.clients import ApiError
from finkportal_portal.components import fits
from finkportal_portal.context import portal
from finkportal_portal.data import Row, band_label, is_alert
from finkportal_portal.figures.science import color_figure, supernova_scores_figure
from finkportal_portal.figures.sso import astrometry_figure
from finkportal_portal.links import solar_system_name

TABS = [("Summary", "summary"), ("Supernovae", "supernovae"), ("Variable stars", "variable"),
        ("Microlensing", "microlensing"), ("Solar System", "sso")]
SUMMARY_FIELDS = [("i:candid", "candid"), ("i:jd", "jd"), ("i:magpsf", "magpsf"),
                  ("i:sigmapsf", "sigmapsf"), ("i:fid", "band"), ("i:isdiffpos", "isdiffpos"),
                  ("i:rb", "real/bogus (rb)"), ("i:drb", "deep real/bogus (drb)"),
                  ("i:classtar", "star/galaxy (classtar)"), ("i:ndethist", "detections (ndethist)"),
                  ("d:cdsxmatch", "SIMBAD"), ("d:roid", "asteroid flag (roid)"),
                  ("d:snn_snia_vs_nonia", "SN Ia vs non-Ia (SuperNNova)"),
                  ("d:rf_snia_vs_nonia", "SN Ia vs non-Ia (random forest)"),
                  ("d:mulens", "microlensing score"), ("i:ssnamenr", "ssnamenr")]


def object_tabs(object_id: str, rows: list[Row]) -> html.Div:
    last = next(row for row in rows if is_alert(row))
    shown = [(label, value) for label, value in TABS
             if value != "sso" or solar_system_name(last.get("i:ssnamenr"))]
    return html.Div([
        dcc.Tabs(id="object-tabs", value="summary", children=[
            dcc.Tab(label=label, value=value) for label, value in shown]),
        html.Div(summary_tab(last), id="tab-content", className="tab-content"),
    ])


@callback(Output("tab-content", "children"), Input("object-tabs", "value"),
          State("object-id", "data"), prevent_initial_call=True)
def open_tab(tab: str, object_id: str) -> Any:
    try:
        rows = portal().rows.get(object_id)
    except ApiError as exc:
        return html.Div(exc.message, className="message error")
    alerts = [row for row in rows if is_alert(row)]
    if tab == "supernovae":
        return supernova_tab(alerts)
    if tab == "variable":
        return fits.period_tab()
    if tab == "microlensing":
        return fits.microlensing_tab()
    if tab == "sso":
        return sso_tab(str(alerts[0].get("i:ssnamenr")))
    return summary_tab(alerts[0])


def summary_tab(last: Row) -> html.Div:
    """The last alert's key values and classifier scores."""
    return html.Div(id="tab-summary", children=[html.Table(html.Tbody([
        html.Tr([html.Th(label), html.Td(_value(key, last.get(key)))])
        for key, label in SUMMARY_FIELDS if key in last]), className="kv")])


def _value(key: str, value: Any) -> str:
    if key == "i:fid":
        return band_label(value, unknown=str(value))
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.6f}" if abs(value) > 1e5 else f"{value:.6g}"  # a JD keeps its digits
    return "-" if value is None else str(value)


def supernova_tab(alerts: list[Row]) -> html.Div:
    return html.Div(id="tab-supernovae", children=[
        html.P("Early supernova classifiers over time (0.5: the decision threshold)."),
        dcc.Graph(id="sn-scores-graph", figure=supernova_scores_figure(alerts),
                  config={"displaylogo": False}),
        dcc.Graph(id="sn-color-graph", figure=color_figure(alerts),
                  config={"displaylogo": False}),
    ])


def sso_tab(ssnamenr: str) -> html.Div:
    """Every stored alert of the Solar System object, and its path on the sky."""
    try:
        rows = portal().query.rows("sso", {"n_or_d": ssnamenr})
    except ApiError as exc:
        return html.Div(exc.message, className="message error", id="tab-sso")
    columns = ["i:objectId", "i:candid", "i:jd", "i:ra", "i:dec", "i:magpsf", "i:fid",
               "i:ssdistnr", "i:ssmagnr"]
    return html.Div(id="tab-sso", children=[
        html.P(f"{len(rows)} alert(s) of Solar System object {ssnamenr}."),
        dcc.Graph(id="sso-graph", figure=astrometry_figure(rows), config={"displaylogo": False}),
        DataTable(
            id="sso-table", columns=cast(Any, [{"name": c, "id": c} for c in columns]),
            data=cast(Any, [{c: row.get(c) for c in columns} for row in rows]), page_size=10,
            sort_action="native", style_table={"overflowX": "auto"}),
    ])
