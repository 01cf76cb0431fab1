"""Objects on the whole sky: a Mollweide map in equatorial coordinates.

The projection is computed here and drawn as plain scatter traces: plotly's geo maps
would need the full plotly.js bundle and its world topography (fetched from a CDN), and
the sky has no coastlines. As on sky charts (the sky seen from inside), RA grows to the
left: the map's longitude is -RA wrapped to [-180, 180), so RA 0h is at the centre and 12h
on both edges. The grid has meridians every 2h and parallels every 30 degrees; hour labels
sit on the equator.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from numpy.typing import ArrayLike

from finkportal_portal.figures._style import FONT, MUTED_COLOR
from finkportal_portal.photometry import FloatArray, as_float

# One colour per class, in order of decreasing count (Okabe-Ito, colour-blind safe).
CLASS_COLORS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9",
                "#F0E442", "#000000")
HOUR_LABELS = (0, 4, 8, 12, 16, 20)
SQRT2 = float(np.sqrt(2.0))
X_EDGE, Y_EDGE = 2 * SQRT2, SQRT2  # the map's half-axes
GRID_STYLE = {"color": "#d0d0d0", "width": 1}
FRAME_STYLE = {"color": "#444444", "width": 1}
_NEWTON_STEPS = 30  # converges to 1e-12 everywhere but right next to the poles
_KEYS = {"ra": ("ra", "i:ra"), "dec": ("dec", "i:dec"), "objectId": ("objectId", "i:objectId"),
         "class": ("class", "v:classification")}


def ra_to_longitude(ra: Any) -> FloatArray:
    """Map longitude of right ascensions (degrees): -RA wrapped into [-180, 180)."""
    longitude: FloatArray = np.mod(180.0 - np.asarray(ra, dtype=np.float64), 360.0) - 180.0
    return longitude


def mollweide(longitude: ArrayLike, latitude: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Mollweide x, y of longitudes in [-180, 180] and latitudes in [-90, 90] (degrees).

    Unit sphere: x in [-2 sqrt 2, 2 sqrt 2], y in [-sqrt 2, sqrt 2]. The auxiliary angle
    solves 2t + sin 2t = pi sin(latitude) by Newton's method (Snyder, Map Projections, p. 251).
    """
    lam = np.radians(np.asarray(longitude, dtype=np.float64))
    phi = np.radians(np.asarray(latitude, dtype=np.float64))
    target = np.pi * np.sin(phi)
    double = np.array(phi, copy=True)  # 2t, started at the latitude
    for _ in range(_NEWTON_STEPS):
        slope = np.maximum(1.0 + np.cos(double), 1e-12)  # 0 at the poles, fixed below
        double = double - (double + np.sin(double) - target) / slope
    theta = np.where(np.abs(phi) >= np.pi / 2 - 1e-12, np.sign(phi) * np.pi / 2, double / 2)
    x: FloatArray = (2 * SQRT2 / np.pi) * lam * np.cos(theta)
    y: FloatArray = SQRT2 * np.sin(theta)
    return x, y


def sky_xy(ra: ArrayLike, dec: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Map position of equatorial coordinates (degrees)."""
    return mollweide(ra_to_longitude(ra), dec)


def _value(item: Mapping[str, Any], name: str) -> Any:
    for key in _KEYS[name]:
        if item.get(key) is not None:
            return item[key]
    return None


def _by_class(objects: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Objects with finite coordinates grouped by class, most populated class first."""
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for item in objects:
        ra, dec = as_float(_value(item, "ra")), as_float(_value(item, "dec"))
        if np.isfinite(ra) and np.isfinite(dec):
            groups[str(_value(item, "class") or "Unknown")].append(item)
    return dict(sorted(groups.items(), key=lambda pair: (-len(pair[1]), pair[0])))


def sky_figure(objects: Sequence[Mapping[str, Any]]) -> go.Figure:
    """One marker per object, one trace (colour) per class; hover gives id, class, RA, Dec.

    ``objects``: dicts with ``ra``, ``dec`` (degrees), ``objectId``, ``class`` (Fink's row
    names ``i:ra``, ``i:dec``, ``i:objectId``, ``v:classification`` are read too). Each
    point's ``customdata`` is its objectId. The first three traces are the map itself
    (frame, grid, hour labels), out of the legend.
    """
    traces = [_frame(), _grid(), _hour_labels()]
    traces += [_class_trace(name, members, CLASS_COLORS[index % len(CLASS_COLORS)])
               for index, (name, members) in enumerate(_by_class(objects).items())]
    hidden = {"visible": False, "showgrid": False, "zeroline": False, "fixedrange": True}
    figure = go.Figure(traces)
    figure.update_layout(
        template="none", font=FONT, margin={"l": 5, "r": 5, "t": 40, "b": 5},
        paper_bgcolor="white", plot_bgcolor="white", hovermode="closest",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        xaxis={**hidden, "range": [-X_EDGE * 1.01, X_EDGE * 1.01]},
        yaxis={**hidden, "range": [-Y_EDGE * 1.02, Y_EDGE * 1.02], "scaleanchor": "x",
               "scaleratio": 1},
        meta={"projection": "mollweide"},
    )
    return figure


def _map_trace(x: FloatArray, y: FloatArray, name: str, **style: Any) -> go.Scatter:
    return go.Scatter(x=x, y=y, name=name, hoverinfo="skip", showlegend=False, **style)


def _frame() -> go.Scatter:
    """The map's outline (the 180-degree meridian on both sides), filled as the sky."""
    t = np.linspace(0, 2 * np.pi, 181)
    return _map_trace(X_EDGE * np.cos(t), Y_EDGE * np.sin(t), "frame", mode="lines",
                      line=FRAME_STYLE, fill="toself", fillcolor="#fbfbfd")


def _grid() -> go.Scatter:
    """Meridians every 2h and parallels every 30 degrees, one trace broken by gaps."""
    along = np.linspace(-90, 90, 61)
    lines = [mollweide(np.full_like(along, lon), along) for lon in range(-150, 180, 30)]
    across = np.linspace(-180, 180, 121)
    lines += [mollweide(across, np.full_like(across, lat)) for lat in (-60, -30, 0, 30, 60)]
    gap = np.array([np.nan])
    x = np.concatenate([part for line_x, _ in lines for part in (line_x, gap)])
    y = np.concatenate([part for _, line_y in lines for part in (line_y, gap)])
    return _map_trace(x, y, "grid", mode="lines", line=GRID_STYLE, connectgaps=False)


def _hour_labels() -> go.Scatter:
    hours = np.array(HOUR_LABELS, dtype=np.float64)
    x, y = sky_xy(hours * 15.0, np.zeros(len(hours)))
    return _map_trace(
        x, y, "RA hours", mode="text", text=[f"{int(hour)}h" for hour in hours],
        textfont={"color": MUTED_COLOR, "size": 10},
        # 12h is on the left edge: written inside the map.
        textposition=["middle right" if hour == 12 else "top center" for hour in hours])


def _class_trace(name: str, members: list[Mapping[str, Any]], color: str) -> go.Scatter:
    ra = np.array([as_float(_value(item, "ra")) for item in members])
    dec = np.array([as_float(_value(item, "dec")) for item in members])
    ids = [str(_value(item, "objectId") or "") for item in members]
    texts = [f"{object_id}<br>{name}<br>RA {r:.5f}\u00b0, Dec {d:+.5f}\u00b0"
             for object_id, r, d in zip(ids, ra, dec, strict=True)]
    x, y = sky_xy(ra, dec)
    return go.Scatter(
        x=x, y=y, mode="markers", name=f"{name} ({len(members)})",
        marker={"color": color, "size": 6, "opacity": 0.8}, customdata=ids, text=texts,
        hovertemplate="%{text}<extra></extra>")
