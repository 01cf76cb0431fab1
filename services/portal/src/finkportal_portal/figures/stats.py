"""The statistics page: alerts per night and alerts per class.

Rows of ``/api/v1/statistics``: one per night, ``f:night`` (``YYYYMMDD``; ``key:key`` is
``ztf_YYYYMMDD``), ``basic:raw`` (alerts), ``basic:objects``, ``basic:n_g/n_r/n_i`` and one
``class:<name>`` count per class.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from finkportal_portal.figures._style import base_layout, message_figure
from finkportal_portal.photometry import as_float

CLASS_PREFIX = "class:"
NIGHT_SERIES = (("basic:raw", "alerts", "#15284F"), ("basic:objects", "objects", "#F5622E"))


def night_date(row: Mapping[str, Any]) -> str | None:
    """'YYYY-MM-DD' of a statistics row, from ``f:night`` or ``key:key``; None if neither."""
    night = str(row.get("f:night") or str(row.get("key:key") or "").removeprefix("ztf_"))
    if len(night) != 8 or not night.isdigit():
        return None
    return f"{night[:4]}-{night[4:6]}-{night[6:]}"


def _count(value: Any) -> float:
    number = as_float(value)
    return number if np.isfinite(number) else 0.0


def total_alerts(stats_rows: Sequence[Mapping[str, Any]]) -> int:
    """Alerts over every night of the rows."""
    return int(sum(_count(row.get("basic:raw")) for row in stats_rows))


def nights_figure(stats_rows: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Alerts and objects per night (bars), oldest night first."""
    nights = sorted((date, row) for row in stats_rows
                    if (date := night_date(row)) is not None)
    if not nights:
        return message_figure("No night recorded yet.")
    dates = [date for date, _ in nights]
    traces = [go.Bar(x=dates, y=[_count(row.get(column)) for _, row in nights], name=label,
                     marker={"color": color},
                     hovertemplate="%{x|%Y-%m-%d}: %{y:,.0f} " + label + "<extra></extra>")
              for column, label, color in NIGHT_SERIES]
    figure = go.Figure(traces, layout=base_layout("Night", "Count", barmode="group"))
    figure.update_xaxes(type="date")
    return figure


def class_totals(stats_rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Alerts per class over all nights, largest first (classes never seen left out)."""
    totals: Counter[str] = Counter()
    for row in stats_rows:
        for column, value in row.items():
            if column.startswith(CLASS_PREFIX):
                totals[column.removeprefix(CLASS_PREFIX)] += int(_count(value))
    return {name: count for name, count in sorted(totals.items(), key=lambda p: (-p[1], p[0]))
            if count > 0}


def classes_figure(stats_rows: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Horizontal bars of the alerts per class, the largest class on top."""
    totals = class_totals(stats_rows)
    if not totals:
        return message_figure("No classified alert yet.")
    names = list(totals)
    figure = go.Figure(
        go.Bar(x=[totals[name] for name in names], y=names, orientation="h",
               marker={"color": "#15284F"}, hovertemplate="%{y}: %{x:,} alerts<extra></extra>"),
        layout=base_layout("Alerts", "", showlegend=False,
                           margin={"l": 160, "r": 15, "t": 20, "b": 45}))
    figure.update_yaxes(autorange="reversed", automargin=True)
    return figure
