"""What every figure shares: band colours, a small layout, the message figure."""

from __future__ import annotations

import textwrap
from typing import Any

import plotly.graph_objects as go

from finkportal_portal.photometry import BAND_NAMES

BAND_COLORS: dict[int, str] = {1: "#15284F", 2: "#F5622E", 3: "#9c27b0"}
GRID_COLOR = "#e5e5e5"
MUTED_COLOR = "#888888"
FONT = {"family": "system-ui, -apple-system, 'Segoe UI', sans-serif", "size": 12}
MARGIN = {"l": 60, "r": 15, "t": 30, "b": 45}
MESSAGE_LINE_CHARS = 60


def _axis(title: str) -> dict[str, Any]:
    return {"title": {"text": title}, "showgrid": True, "gridcolor": GRID_COLOR,
            "zeroline": False, "showline": True, "linecolor": "#444444", "ticks": "outside"}


def base_layout(x_title: str = "", y_title: str = "", **overrides: Any) -> dict[str, Any]:
    """A plain white layout.

    The "none" template keeps each figure's JSON small: plotly's default template alone
    weighs ~6.5 kB, sent again with every figure the browser draws.
    """
    layout: dict[str, Any] = {
        "template": "none", "font": FONT, "margin": MARGIN, "paper_bgcolor": "white",
        "plot_bgcolor": "white", "hovermode": "closest", "xaxis": _axis(x_title),
        "yaxis": _axis(y_title),
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    }
    layout.update(overrides)
    return layout


def message_figure(message: str) -> go.Figure:
    """An empty figure that says why it is empty (no axes, the text in the middle).

    Annotations do not wrap: the text is cut into lines; ``layout.meta["message"]`` keeps
    it whole.
    """
    hidden = {"visible": False}
    lines = "<br>".join(textwrap.wrap(message, MESSAGE_LINE_CHARS))
    return go.Figure(layout=base_layout(
        xaxis=hidden, yaxis=hidden, meta={"empty": True, "message": message},
        annotations=[{"text": lines, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
                      "showarrow": False, "font": {"size": 14, "color": MUTED_COLOR}}]))


def band_name(fid: int) -> str:
    return BAND_NAMES.get(fid, str(fid))
