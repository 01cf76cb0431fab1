"""The Variable stars and Microlensing tabs: a form, a fit run by the fitter service, its
progress polled by an interval (the page never waits on a fit), then the result."""

from __future__ import annotations

from typing import Any

from dash import MATCH, Input, Output, State, callback, dcc, html, no_update

from finkportal_portal.clients import ApiError
from finkportal_portal.context import portal
from finkportal_portal.figures.science import folded_figure, microlensing_figure, periodogram_figure

RUNNING = ("queued", "running")


def period_tab() -> html.Div:
    return html.Div(id="tab-variable", children=[
        html.P("Multiband Lomb-Scargle period (gatspy) of the detections in all bands."),
        html.Div([
            html.Label(["Period from (days) ", _number_input("period-min", 0.1, 0.001)]),
            html.Label([" to ", _number_input("period-max", 1.2, 0.001)]),
            html.Label([" terms per base ", _number_input("nterms-base", 1, 0, integer=True)]),
            html.Label([" per band ", _number_input("nterms-band", 1, 0, integer=True)]),
            html.Button("Fit the period", id="fit-period-button", className="button"),
        ], className="fit-form"),
        *_fit_outputs("period", "fit-period", ["periodogram-graph", "folded-graph"]),
    ])


def _number_input(element_id: str, value: float, minimum: float, *,
                  integer: bool = False) -> dcc.Input:
    return dcc.Input(id=element_id, type="number", value=value, min=minimum, debounce=True,
                     step=1 if integer else "any", max=5 if integer else None,
                     className="number-input")


def microlensing_tab() -> html.Div:
    return html.Div(id="tab-microlensing", children=[
        html.P("Point-source point-lens fit (pyLIMA), one telescope per ZTF band."),
        html.Div([
            dcc.Dropdown(id="mulens-method", value="TRF", clearable=False, searchable=False,
                         options=["TRF", "LM", "DE"], className="method"),
            html.Button("Fit PSPL", id="fit-mulens-button", className="button"),
        ], className="fit-form"),
        *_fit_outputs("microlensing", "fit-mulens", ["mulens-graph"]),
    ])


def _fit_outputs(model: str, prefix: str, graphs: list[str]) -> list[Any]:
    return [
        dcc.Store(id={"type": "fit-job", "model": model}),
        dcc.Interval(id={"type": "fit-poll", "model": model}, disabled=True,
                     interval=portal().settings.fit_poll_ms),
        html.Div(id=f"{prefix}-status", className="fit-status"),
        html.Div(id=f"{prefix}-result", className="fit-result"),
        *(dcc.Graph(id=graph, config={"displaylogo": False}, style={"display": "none"})
          for graph in graphs),
    ]


@callback(Output({"type": "fit-job", "model": "period"}, "data"),
          Input("fit-period-button", "n_clicks"), State("object-id", "data"),
          State("period-min", "value"), State("period-max", "value"),
          State("nterms-base", "value"), State("nterms-band", "value"),
          prevent_initial_call=True)
def submit_period(_clicks: int, object_id: str, period_min: Any, period_max: Any,
                  nterms_base: Any, nterms_band: Any) -> dict[str, Any]:
    options = {"period_min": period_min, "period_max": period_max,
               "nterms_base": nterms_base, "nterms_band": nterms_band}
    return _submit(object_id, "period", {k: v for k, v in options.items() if v is not None})


@callback(Output({"type": "fit-job", "model": "microlensing"}, "data"),
          Input("fit-mulens-button", "n_clicks"), State("object-id", "data"),
          State("mulens-method", "value"), prevent_initial_call=True)
def submit_microlensing(_clicks: int, object_id: str, method: str) -> dict[str, Any]:
    return _submit(object_id, "microlensing", {"method": method or "TRF"})


def _submit(object_id: str, model: str, options: dict[str, Any]) -> dict[str, Any]:
    """The fitter's job, or ``{"status": "error", ...}`` to show: never an exception."""
    try:
        return portal().fitter.submit(object_id, model, options)
    except ApiError as exc:
        portal().metrics.errors_shown.labels("fit").inc()
        return {"status": "error", "message": exc.message}


@callback(Output({"type": "fit-job", "model": MATCH}, "data", allow_duplicate=True),
          Input({"type": "fit-poll", "model": MATCH}, "n_intervals"),
          State({"type": "fit-job", "model": MATCH}, "data"), prevent_initial_call=True)
def poll(_ticks: int, job: dict[str, Any] | None) -> Any:
    if not job or job.get("status") not in RUNNING:
        return no_update
    try:
        return portal().fitter.job(job["id"])
    except ApiError as exc:
        return {"status": "error", "message": exc.message}


@callback(Output({"type": "fit-poll", "model": MATCH}, "disabled"),
          Input({"type": "fit-job", "model": MATCH}, "data"))
def keep_polling(job: dict[str, Any] | None) -> bool:
    return not (job and job.get("status") in RUNNING)


@callback(Output("fit-period-status", "children"), Output("fit-period-result", "children"),
          Output("periodogram-graph", "figure"), Output("periodogram-graph", "style"),
          Output("folded-graph", "figure"), Output("folded-graph", "style"),
          Input({"type": "fit-job", "model": "period"}, "data"), prevent_initial_call=True)
def show_period(job: dict[str, Any] | None) -> tuple[Any, ...]:
    status, result = fit_status(job), (job or {}).get("result")
    if not result:
        return status, None, no_update, {"display": "none"}, no_update, {"display": "none"}
    shown = {"display": "block"}
    return (status, period_summary(result), periodogram_figure(result), shown,
            folded_figure(result), shown)


@callback(Output("fit-mulens-status", "children"), Output("fit-mulens-result", "children"),
          Output("mulens-graph", "figure"), Output("mulens-graph", "style"),
          Input({"type": "fit-job", "model": "microlensing"}, "data"), prevent_initial_call=True)
def show_microlensing(job: dict[str, Any] | None) -> tuple[Any, ...]:
    status, result = fit_status(job), (job or {}).get("result")
    if not result:
        return status, None, no_update, {"display": "none"}
    return status, microlensing_summary(result), microlensing_figure(result), {"display": "block"}


def fit_status(job: dict[str, Any] | None) -> Any:
    """Progress while the fit runs, what went wrong if it failed, its origin when done."""
    job = job or {}
    status = job.get("status")
    if status in RUNNING:
        share = float(job.get("progress") or 0.0)
        return html.Div([f"Fit {status}… ", html.Progress(value=str(share), max="1")],
                        className="running")
    if status == "failed":
        error = job.get("error") or {}
        return html.Div(f"The fit failed ({error.get('kind', 'error')}): "
                        f"{error.get('message', '')}", className="message error")
    if status == "error":
        return html.Div(job.get("message", "the fitter could not be reached"),
                        className="message error")
    if status == "done":
        return html.Div("Fit done" + (" (from the cache)" if job.get("cached") else "") + ".",
                        className="done")
    return None


def period_summary(result: dict[str, Any]) -> html.Div:
    return html.Div([
        html.Strong(f"Best period {result['best_period']:.6f} d"),
        html.Span(f" · power {result['best_power']:.3f} · reduced χ² "
                  f"{_number(result.get('reduced_chi2'))} · {result.get('n_points')} points, "
                  f"bands {', '.join(str(b) for b in result.get('bands', []))}"),
    ])


def microlensing_summary(result: dict[str, Any]) -> html.Div:
    def value(name: str) -> str:
        digits = ".5f" if name == "t0" else ".5g"  # t0 is a JD: its decimals are the point
        return (f"{name} = {_number(result.get(name), digits)} ± "
                f"{_number(result.get(name + '_err'), '.5g')}")
    return html.Div([html.Strong(" · ".join(value(n) for n in ("t0", "u0", "tE"))),
                     html.Span(f" · χ²/dof = {_number(result.get('reduced_chi2'))} "
                               f"(dof {result.get('dof')}) · method "
                               f"{result.get('method')}")])


def _number(value: Any, spec: str = ".5g") -> str:
    return format(value, spec) if isinstance(value, (int, float)) else "-"
