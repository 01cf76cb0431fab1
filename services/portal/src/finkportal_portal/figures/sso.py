"""Solar System view: the body's positions from its alerts (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from finkportal_portal.photometry import float_column

JD_TO_MJD = 2400000.5


def astrometry_figure(rows: Sequence[dict[str, Any]]) -> go.Figure:
    """RA/Dec of every alert, coloured by time (MJD), RA growing to the left as on the sky."""
    ra, dec, jd = (float_column(rows, key) for key in ("i:ra", "i:dec", "i:jd"))
    ids = [str(row.get("i:objectId", "")) for row in rows]
    figure = go.Figure(go.Scatter(
        x=ra, y=dec, mode="markers", text=ids,
        marker={"color": jd - JD_TO_MJD, "colorscale": "Viridis", "size": 8,
                "colorbar": {"title": {"text": "MJD"}}},
        hovertemplate="%{text}<br>RA %{x:.5f}<br>Dec %{y:.5f}<extra></extra>"))
    figure.update_layout(xaxis={"title": {"text": "RA (deg)"}, "autorange": "reversed"},
                         yaxis={"title": {"text": "Dec (deg)"}},
                         margin={"l": 60, "r": 20, "t": 30, "b": 50}, height=360,
                         title={"text": "Astrometry"})
    if not rows:
        figure.add_annotation(text="No alert of this object", showarrow=False,
                              xref="paper", yref="paper", x=0.5, y=0.5)
    return figure
