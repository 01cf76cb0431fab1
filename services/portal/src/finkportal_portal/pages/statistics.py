"""``/statistics``: alerts per night and per class, from ``/api/v1/statistics``."""

from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from finkportal_portal.clients import ApiError
from finkportal_portal.context import portal
from finkportal_portal.figures.stats import classes_figure, nights_figure, total_alerts

dash.register_page(__name__, path="/statistics", title="finkportal: statistics", order=1)


def layout(**_ignored: Any) -> html.Div:
    try:
        rows = portal().query.statistics()
    except ApiError as exc:
        portal().metrics.errors_shown.labels("statistics").inc()
        return html.Div([html.H1("Statistics", className="page-title"),
                         html.Div(exc.message, id="stats-error", className="message error")])
    alerts = total_alerts(rows)
    return html.Div([
        html.H1("Statistics", className="page-title"),
        html.P(f"{int(alerts):,} alerts over {len(rows)} night(s).", id="stats-total"),
        dcc.Graph(id="stats-nights-graph", figure=nights_figure(rows),
                  config={"displaylogo": False}),
        dcc.Graph(id="stats-classes-graph", figure=classes_figure(rows),
                  config={"displaylogo": False}),
    ])
