"""The light curve of one object in Fink's four units, and a tiny SVG for result cards.

The x axis is the date in UTC (ISO 8601 texts converted from the Julian dates; the JD is
in the hover text). Every point's ``customdata`` is its alert's candid as text ('' for an
upper limit), so a click callback can open that alert's cutouts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import numpy as np
import plotly.graph_objects as go

from finkportal_portal.figures._style import BAND_COLORS, band_name, base_layout, message_figure
from finkportal_portal.photometry import (
    DC_UNITS,
    MAGNITUDE_UNITS,
    MAX_REFERENCE_DISTANCE_ARCSEC,
    UNITS,
    BandPoints,
    check_unit,
    dc_available,
    jd_to_iso,
    light_curve_points,
    point_count,
)

Row = Mapping[str, Any]

# Marker, size, opacity and legend suffix of each kind of point.
KIND_STYLES: dict[str, tuple[str, int, float, str]] = {
    "valid": ("circle", 7, 1.0, ""),
    "upperlim": ("triangle-down", 8, 0.5, " upper limits"),
    "badquality": ("circle-open", 7, 0.6, " bad quality"),
}
SELECTED_NAME = "selected alert"
SELECTED_COLOR = "#000000"
NO_REFERENCE_MESSAGE = (
    f"No reference source within {MAX_REFERENCE_DISTANCE_ARCSEC}\u2033 of this object: the DC "
    "magnitude and flux cannot be computed. Use the difference magnitude or flux.")
NO_POINT_MESSAGE = "No usable measurement of this object in this unit."


def lightcurve_figure(rows: Sequence[Row], unit: str, selected_candid: Any = None) -> go.Figure:
    """One trace per band and kind of point; the selected alert ringed in black.

    Magnitudes have a reversed y axis (brighter up). ``selected_candid`` (int or text) is
    the alert whose cutouts are shown; it is ignored when it is not a plotted point.
    """
    bands = light_curve_points(rows, check_unit(unit))
    if point_count(bands) == 0:
        no_reference = unit in DC_UNITS and not dc_available(rows)
        return message_figure(NO_REFERENCE_MESSAGE if no_reference else NO_POINT_MESSAGE)
    traces = [trace for points in bands.values() for trace in _band_traces(points, unit)]
    selected = _selected_trace(bands, selected_candid)
    if selected is not None:
        traces.append(selected)
    figure = go.Figure(data=traces, layout=base_layout("Date (UTC)", UNITS[unit]))
    figure.update_layout(meta={"unit": unit}, uirevision=unit)
    if unit in MAGNITUDE_UNITS:
        figure.update_yaxes(autorange="reversed")
    else:  # a flux of zero is the reference image's level
        figure.update_yaxes(zeroline=True, zerolinecolor="#999999")
    return figure


def _band_traces(points: BandPoints, unit: str) -> list[go.Scatter]:
    traces = []
    for kind in KIND_STYLES:
        subset = points.of_kind(kind)
        if len(subset):
            traces.append(_kind_trace(subset, kind, unit))
    return traces


def _kind_trace(points: BandPoints, kind: str, unit: str) -> go.Scatter:
    symbol, size, opacity, suffix = KIND_STYLES[kind]
    color = BAND_COLORS[points.fid]
    return go.Scatter(
        x=jd_to_iso(points.jd), y=points.y, mode="markers",
        name=f"{band_name(points.fid)}{suffix}", legendgroup=band_name(points.fid),
        marker={"color": color, "symbol": symbol, "size": size}, opacity=opacity,
        error_y={"type": "data", "array": points.yerr, "visible": kind != "upperlim",
                 "color": color, "thickness": 1, "width": 0},
        customdata=points.candid.tolist(), text=_hover_texts(points, unit),
        hovertemplate="%{x|%Y-%m-%d %H:%M:%S} UTC<br>%{text}<extra>%{fullData.name}</extra>",
    )


def _hover_texts(points: BandPoints, unit: str) -> list[str]:
    texts = []
    for jd, y, err, candid, kind in zip(points.jd, points.y, points.yerr, points.candid,
                                        points.kind, strict=True):
        if kind == "upperlim":
            value = f"limit {y:.2f} mag"
        elif unit in MAGNITUDE_UNITS:
            value = f"{y:.3f} \u00b1 {err:.3f} mag"
        else:
            value = f"{y:.4g} \u00b1 {err:.2g} mJy"
        alert = f"<br>candid {candid}" if candid else ""
        texts.append(f"{value}<br>JD {jd:.5f}{alert}")
    return texts


def _selected_trace(bands: Mapping[int, BandPoints], candid: Any) -> go.Scatter | None:
    wanted = "" if candid is None else str(candid).strip()
    if not wanted:
        return None
    for points in bands.values():
        found = np.flatnonzero((points.candid == wanted) & (points.kind != "upperlim"))
        if found.size:
            at = int(found[0])
            # No hover of its own: the band's point underneath answers hovers and clicks.
            return go.Scatter(
                x=jd_to_iso(points.jd[at:at + 1]), y=points.y[at:at + 1], mode="markers",
                name=SELECTED_NAME, customdata=[wanted], hoverinfo="skip",
                marker={"symbol": "circle-open", "size": 16, "color": SELECTED_COLOR,
                        "line": {"width": 2, "color": SELECTED_COLOR}})
    return None


# -- sparkline -----------------------------------------------------------------------------

SPARK_BANDS = (1, 2)
SPARK_PAD = 3.0


def sparkline_svg(rows: Sequence[Row], width: int = 120, height: int = 40) -> str:
    """An inline SVG of the valid g and r difference magnitudes (brighter up)."""
    bands = {fid: points.of_kind("valid")
             for fid, points in light_curve_points(rows, "diffmag").items()
             if fid in SPARK_BANDS}
    bands = {fid: points for fid, points in bands.items() if len(points)}
    label = "light curve" if bands else "no light curve"
    shapes = _spark_shapes(bands, width, height) if bands else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{label}">{shapes}</svg>')


def svg_data_uri(svg: str) -> str:
    """An SVG as a ``data:`` URI, for an ``html.Img`` ``src``."""
    return "data:image/svg+xml;charset=utf-8," + quote(svg)


def _spark_shapes(bands: Mapping[int, BandPoints], width: int, height: int) -> str:
    jd = np.concatenate([points.jd for points in bands.values()])
    mag = np.concatenate([points.y for points in bands.values()])
    x_of = _scale(float(jd.min()), float(jd.max()), SPARK_PAD, width - SPARK_PAD)
    # Smaller magnitude = brighter = nearer the top (small SVG y).
    y_of = _scale(float(mag.min()), float(mag.max()), SPARK_PAD, height - SPARK_PAD)
    parts = []
    for fid, points in bands.items():
        xy = [(x_of(j), y_of(m)) for j, m in zip(points.jd, points.y, strict=True)]
        color = BAND_COLORS[fid]
        if len(xy) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                         'stroke-width="1.2"/>')
        parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.5" fill="{color}"/>'
                     for x, y in xy)
    return "".join(parts)


def _scale(low: float, high: float, start: float, stop: float) -> Callable[[float], float]:
    """A map of [low, high] onto [start, stop]; a single value goes to the middle."""
    span = high - low
    if span <= 0:
        return lambda _value: (start + stop) / 2
    return lambda value: start + (float(value) - low) / span * (stop - start)
