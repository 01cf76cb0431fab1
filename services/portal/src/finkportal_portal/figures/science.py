"""Science figures of the object page: supernova scores, colour and rates, and the
fitter's results (periodogram, folded light curve, microlensing model).

The fit figures take the fitter's ``result`` (``PeriodFit.as_dict()`` or
``PsplFit.as_dict()`` plus the ``light_curve`` the fit used: ``kind``, ``jd``, ``mag``,
``magerr``, ``fid``), or the whole job answer of ``GET /fits/{id}`` holding it. JSON nulls
(the fitter's NaN) are read as NaN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from finkportal_portal.figures._style import (
    BAND_COLORS,
    GRID_COLOR,
    MUTED_COLOR,
    band_name,
    base_layout,
    message_figure,
)
from finkportal_portal.photometry import (
    BAND_NAMES,
    FloatArray,
    as_float,
    candid_text,
    float_column,
    jd_to_iso,
    row_kind,
)

Row = Mapping[str, Any]

SCORE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("d:snn_snia_vs_nonia", "SN Ia vs non-Ia (SuperNNova)", "#15284F"),
    ("d:snn_sn_vs_all", "SN vs all (SuperNNova)", "#F5622E"),
    ("d:rf_snia_vs_nonia", "SN Ia vs non-Ia (random forest)", "#3C8DFF"),
)
SCORE_THRESHOLD = 0.5
DASHED = {"dash": "dash", "color": MUTED_COLOR, "width": 1}
HOVER = "%{x|%Y-%m-%d %H:%M:%S} UTC<br>%{y:.3f}<extra>%{fullData.name}</extra>"


def _alerts(rows: Sequence[Row]) -> list[Row]:
    """The valid rows (alerts, not upper limits) with a jd, oldest first."""
    kept = [row for row in rows if row_kind(row) == "valid" and np.isfinite(as_float(
        row.get("i:jd")))]
    return sorted(kept, key=lambda row: as_float(row.get("i:jd")))


def _floats(values: Any) -> FloatArray:
    return np.array([as_float(value) for value in (values or [])], dtype=np.float64)


def _mark_line(figure: go.Figure, x: Any, horizontal: bool) -> None:
    """A dashed line across the plot (shape dicts: add_vline fails on date axes)."""
    if horizontal:
        shape = {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": x, "y1": x}
    else:
        shape = {"type": "line", "yref": "paper", "y0": 0, "y1": 1, "x0": x, "x1": x}
    figure.add_shape(line=DASHED, **shape)


# -- supernova scores ----------------------------------------------------------------------


def supernova_scores_figure(rows: Sequence[Row]) -> go.Figure:
    """The SuperNNova and random-forest scores of each alert over time, in [0, 1]."""
    alerts = _alerts(rows)
    dates = jd_to_iso(float_column(alerts, "i:jd"))
    candids = [candid_text(row.get("i:candid")) for row in alerts]
    traces = []
    for column, label, color in SCORE_COLUMNS:
        scores = float_column(alerts, column)
        keep = np.flatnonzero(np.isfinite(scores))
        if keep.size:
            traces.append(go.Scatter(
                x=[dates[i] for i in keep], y=scores[keep], mode="lines+markers", name=label,
                marker={"color": color, "size": 6}, line={"color": color, "width": 1},
                customdata=[candids[i] for i in keep], hovertemplate=HOVER))
    if not traces:
        return message_figure("No supernova classifier score for this object.")
    figure = go.Figure(traces, layout=base_layout("Date (UTC)", "Score"))
    figure.update_yaxes(range=[0, 1])
    _mark_line(figure, SCORE_THRESHOLD, horizontal=True)
    return figure


# -- colour and rates ----------------------------------------------------------------------


def color_figure(rows: Sequence[Row]) -> go.Figure:
    """g-r (at each paired g alert) above, the rate of each band below, against time."""
    alerts = _alerts(rows)
    jd, fid = float_column(alerts, "i:jd"), float_column(alerts, "i:fid")
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    # Every row near a paired g alert carries that pair's colour: plot it once, at the g.
    color, sigma = float_column(alerts, "v:g-r"), float_column(alerts, "v:sigma(g-r)")
    shown = _error_trace(figure, jd, color, sigma, (fid == 1) & np.isfinite(color),
                         "g \u2212 r", "#4D4D4D", row=1)
    rate, rate_sigma = float_column(alerts, "v:rate"), float_column(alerts, "v:sigma(rate)")
    for band in BAND_NAMES:
        shown += _error_trace(figure, jd, rate, rate_sigma, (fid == band) & np.isfinite(rate),
                              f"rate {band_name(band)}", BAND_COLORS[band], row=2)
    if not shown:
        return message_figure("No colour or rate: they need alerts in g and r.")
    figure.update_layout(**base_layout(legend={"orientation": "h", "y": 1.08, "x": 0}))
    figure.update_xaxes(showgrid=True, gridcolor=GRID_COLOR, showline=True)
    figure.update_yaxes(showgrid=True, gridcolor=GRID_COLOR, showline=True)
    figure.update_yaxes(title_text="g \u2212 r (mag)", row=1, col=1)
    figure.update_yaxes(title_text="rate (mag/day)", row=2, col=1)
    figure.update_xaxes(title_text="Date (UTC)", row=2, col=1)
    return figure


def _error_trace(figure: go.Figure, jd: FloatArray, y: FloatArray, err: FloatArray,
                 keep: Any, name: str, color: str, row: int) -> int:
    """Add one trace of the kept points with error bars; 1 if it had any point, else 0."""
    chosen = np.flatnonzero(keep)
    if not chosen.size:
        return 0
    figure.add_trace(go.Scatter(
        x=jd_to_iso(jd[chosen]), y=y[chosen], mode="markers", name=name,
        marker={"color": color, "size": 6},
        error_y={"type": "data", "array": err[chosen], "color": color, "thickness": 1,
                 "width": 0}, hovertemplate=HOVER), row=row, col=1)
    return 1


# -- fitter results ------------------------------------------------------------------------


def fit_payload(fit_result: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The fit's result: ``fit_result`` itself, or its ``result`` when given a whole job."""
    if not fit_result:
        return {}
    inner = fit_result.get("result")
    return inner if isinstance(inner, Mapping) else fit_result


def _light_curve(result: Mapping[str, Any]) -> dict[str, FloatArray]:
    curve = result.get("light_curve") or {}
    return {name: _floats(curve.get(name)) for name in ("jd", "mag", "magerr", "fid")}


def _magnitude_title(result: Mapping[str, Any]) -> str:
    kind = (result.get("light_curve") or {}).get("kind")
    return "DC magnitude" if kind == "dc" else "Difference magnitude"


def periodogram_figure(fit_result: Mapping[str, Any] | None) -> go.Figure:
    """Power against trial period (log axis), the best period marked."""
    result = fit_payload(fit_result)
    periodogram = result.get("periodogram") or {}
    periods, powers = _floats(periodogram.get("period")), _floats(periodogram.get("power"))
    if periods.size == 0 or periods.size != powers.size:
        return message_figure("No periodogram: run a period fit.")
    best = as_float(result.get("best_period"))
    figure = go.Figure(go.Scatter(
        x=periods, y=powers, mode="lines", name="periodogram", line={"color": "#15284F"},
        hovertemplate="%{x:.6g} d<br>power %{y:.3f}<extra></extra>"),
        layout=base_layout("Period (days)", "Power", showlegend=False,
                           title={"text": f"Best period {best:.6g} d", "x": 0.01}))
    # Plotly labels a log axis's minor ticks with bare digits ("2 3 ... 9 1"): full numbers.
    figure.update_xaxes(type="log", dtick="D2", tickformat=".3~g", minor={"showgrid": True})
    if np.isfinite(best):
        _mark_line(figure, best, horizontal=False)
    return figure


def folded_figure(fit_result: Mapping[str, Any] | None) -> go.Figure:
    """The points at their fitted phase and the model, over two cycles (phase 0 to 2)."""
    result = fit_payload(fit_result)
    curve = _light_curve(result)
    phases = _floats(result.get("phases"))
    if phases.size == 0 or phases.size != curve["jd"].size:
        return message_figure("No folded light curve: run a period fit.")
    period = as_float(result.get("best_period"))
    model = result.get("model") or {}
    model_phase, model_mags = _floats(model.get("phase")), model.get("mag") or {}
    traces: list[go.Scatter] = []
    for fid in BAND_NAMES:
        keep = curve["fid"] == fid
        if np.any(keep):
            traces.append(_band_points(np.tile(phases[keep], 2) + np.repeat([0.0, 1.0],
                          np.count_nonzero(keep)), np.tile(curve["mag"][keep], 2),
                          np.tile(curve["magerr"][keep], 2), fid))
        mags = _floats(model_mags.get(str(fid)))
        if mags.size and mags.size == model_phase.size:
            traces.append(_model_line(np.concatenate([model_phase, model_phase + 1.0]),
                                      np.tile(mags, 2), fid))
    figure = go.Figure(traces, layout=base_layout(
        f"Phase (period {period:.6g} d)", _magnitude_title(result)))
    figure.update_yaxes(autorange="reversed")
    return figure


def microlensing_figure(fit_result: Mapping[str, Any] | None) -> go.Figure:
    """The points the PSPL fit used and its model per band, t0 marked."""
    result = fit_payload(fit_result)
    curve = _light_curve(result)
    if curve["jd"].size == 0:
        return message_figure("No microlensing fit: run one.")
    model = result.get("model") or {}
    model_jd, model_mags = _floats(model.get("jd")), model.get("mag") or {}
    traces: list[go.Scatter] = []
    for fid in BAND_NAMES:
        keep = curve["fid"] == fid
        if np.any(keep):
            traces.append(_band_points(jd_to_iso(curve["jd"][keep]), curve["mag"][keep],
                                       curve["magerr"][keep], fid))
        mags = _floats(model_mags.get(str(fid)))
        if mags.size and mags.size == model_jd.size:
            traces.append(_model_line(jd_to_iso(model_jd), mags, fid))
    t0, u0, tE = (as_float(result.get(name)) for name in ("t0", "u0", "tE"))
    title = f"PSPL: t0 = JD {t0:.3f}, u0 = {u0:.3g}, tE = {tE:.3g} d"
    figure = go.Figure(traces, layout=base_layout(
        "Date (UTC)", _magnitude_title(result), title={"text": title, "x": 0.01},
        legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02,
                "yanchor": "bottom"}))  # right of the title, not over it
    figure.update_yaxes(autorange="reversed")
    if np.isfinite(t0):
        _mark_line(figure, jd_to_iso([t0])[0], horizontal=False)
    return figure


def _band_points(x: Any, mag: FloatArray, magerr: FloatArray, fid: int) -> go.Scatter:
    color = BAND_COLORS.get(fid, MUTED_COLOR)
    return go.Scatter(x=x, y=mag, mode="markers", name=band_name(fid), legendgroup=str(fid),
                      marker={"color": color, "size": 6},
                      error_y={"type": "data", "array": magerr, "color": color,
                               "thickness": 1, "width": 0})


def _model_line(x: Any, mag: FloatArray, fid: int) -> go.Scatter:
    color = BAND_COLORS.get(fid, MUTED_COLOR)
    return go.Scatter(x=x, y=mag, mode="lines", name=f"{band_name(fid)} model",
                      legendgroup=str(fid), line={"color": color, "width": 2},
                      hoverinfo="skip")
