"""Objects on the whole sky: a Mollweide map in equatorial coordinates.

plotly's geo maps are seen from outside the globe, the sky from inside: the map's
longitude is -RA (wrapped to [-180, 180]), so RA grows to the left as on sky charts, with
RA 0h at the centre and 12h on both edges. Hour labels sit on the equator; land and
coastlines are hidden. The longitude range is fixed: plotly would otherwise centre and crop
the map on the data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from finkportal_portal.figures._style import FONT, MUTED_COLOR
from finkportal_portal.photometry import FloatArray, as_float

# One colour per class, in order of decreasing count (Okabe-Ito, colour-blind safe).
CLASS_COLORS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9",
                "#F0E442", "#000000")
HOUR_LABELS = (0, 4, 8, 12, 16, 20)
_KEYS = {"ra": ("ra", "i:ra"), "dec": ("dec", "i:dec"), "objectId": ("objectId", "i:objectId"),
         "class": ("class", "v:classification")}


def ra_to_longitude(ra: Any) -> FloatArray:
    """Map longitude of right ascensions (degrees): -RA wrapped into [-180, 180)."""
    longitude: FloatArray = np.mod(180.0 - np.asarray(ra, dtype=np.float64), 360.0) - 180.0
    return longitude


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
    point's ``customdata`` is its objectId.
    """
    traces = [_class_trace(name, members, CLASS_COLORS[index % len(CLASS_COLORS)])
              for index, (name, members) in enumerate(_by_class(objects).items())]
    traces.append(_hour_labels())
    figure = go.Figure(traces)
    figure.update_layout(
        template="none", font=FONT, margin={"l": 5, "r": 5, "t": 40, "b": 5},
        paper_bgcolor="white",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        geo={"projection": {"type": "mollweide", "rotation": {"lon": 0}},
             "showland": False, "showocean": False,
             "showcoastlines": False, "showcountries": False, "showlakes": False,
             "showrivers": False, "showframe": True, "framecolor": "#444444",
             "bgcolor": "#fbfbfd",
             "lonaxis": {"range": [-180, 180], "showgrid": True, "dtick": 30,
                         "gridcolor": "#d0d0d0"},
             "lataxis": {"range": [-90, 90], "showgrid": True, "dtick": 30,
                         "gridcolor": "#d0d0d0"}},
    )
    return figure


def _class_trace(name: str, members: list[Mapping[str, Any]], color: str) -> go.Scattergeo:
    ra = np.array([as_float(_value(item, "ra")) for item in members])
    dec = np.array([as_float(_value(item, "dec")) for item in members])
    ids = [str(_value(item, "objectId") or "") for item in members]
    texts = [f"{object_id}<br>{name}<br>RA {r:.5f}\u00b0, Dec {d:+.5f}\u00b0"
             for object_id, r, d in zip(ids, ra, dec, strict=True)]
    return go.Scattergeo(
        lon=ra_to_longitude(ra), lat=dec, mode="markers", name=f"{name} ({len(members)})",
        marker={"color": color, "size": 6, "opacity": 0.8}, customdata=ids, text=texts,
        hovertemplate="%{text}<extra></extra>")


def _hour_labels() -> go.Scattergeo:
    hours = np.array(HOUR_LABELS, dtype=np.float64)
    return go.Scattergeo(
        lon=ra_to_longitude(hours * 15.0), lat=np.zeros(len(hours)), mode="text",
        text=[f"{int(hour)}h" for hour in hours], textfont={"color": MUTED_COLOR, "size": 10},
        # 12h is on the left edge (longitude -180): written inside the map.
        textposition=["middle right" if hour == 12 else "middle center" for hour in hours],
        hoverinfo="skip", showlegend=False, name="RA hours")
