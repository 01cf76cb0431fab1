"""Result views of a search: cards, a sortable table with a column picker, a sky map."""

from __future__ import annotations

import urllib.parse
from typing import Any, cast

from dash import html
from dash.dash_table.DataTable import DataTable

from finkportal_portal.data import SUMMARY_COLUMNS, Row, data_attributes

COLUMN_LABELS = {"objectId": "objectId", "class": "Class", "lastdate": "Last alert",
                 "ndet": "Alerts", "mag": "Last mag", "band": "Band", "ra": "RA (deg)",
                 "dec": "Dec (deg)", "separation_arcsec": "Separation (\")"}
DEFAULT_COLUMNS = ["objectId", "class", "lastdate", "ndet", "mag", "band", "ra", "dec"]


def card(summary: Row, sparkline: str | None) -> html.A:
    """One result: science cutout thumbnail, small light curve, class badge, key numbers."""
    object_id = str(summary["objectId"])
    return html.A(href=f"/{object_id}", className="result-card",
                  **data_attributes(objectid=object_id), children=[
        html.Img(src=f"/thumb/{object_id}.png", className="thumb", alt="science cutout",
                 width=63, height=63),
        html.Div([
            html.Div(object_id, className="card-title"),
            html.Span(summary["class"], className="badge"),
            html.Div(f"{summary['ndet']} alert(s) · last {summary['lastdate'][:19]}",
                     className="card-meta"),
            html.Img(src=_svg_data_uri(sparkline), className="sparkline", alt="light curve")
            if sparkline else None,
        ], className="card-body"),
    ])


def _svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;utf8," + urllib.parse.quote(svg)


def cards(summaries: list[Row], sparklines: dict[str, str]) -> list[html.A]:
    return [card(s, sparklines.get(str(s["objectId"]))) for s in summaries]


def table(summaries: list[Row], columns: list[str], page_size: int) -> DataTable:
    """Sortable, paginated; the objectId column links to the object page."""
    shown = [c for c in SUMMARY_COLUMNS if c in columns]
    return DataTable(
        id="results-table",
        # Dash's typed signature cannot express these plain dicts.
        columns=cast(Any, [{"name": COLUMN_LABELS[c], "id": c,
                            **({"presentation": "markdown"} if c == "objectId" else {})}
                           for c in shown]),
        data=cast(Any, [_table_row(s) for s in summaries]),
        sort_action="native", page_action="native", page_size=page_size,
        style_table={"overflowX": "auto"}, markdown_options={"link_target": "_self"},
        style_cell={"fontFamily": "inherit", "fontSize": "0.9rem", "padding": "4px 8px"},
    )


def _table_row(summary: Row) -> dict[str, Any]:
    row = dict(summary)
    row["objectId"] = f"[{summary['objectId']}](/{summary['objectId']})"
    return row
