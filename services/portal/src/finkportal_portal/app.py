"""The portal's Dash application: ``create_app(settings)``; nothing connects at import.

A Dash Pages app (``pages/``): ``/`` search and results, ``/<objectId>`` the object page,
``/statistics``, ``/api``. Every datum comes from the query API (and fits from the fitter)
through the clients built here; the Flask server also answers ``/health``,
``/health/live`` and ``/metrics``, and ``/thumb/<objectId>.png`` (a result card's science
cutout, fetched from the query API).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import dash
import flask
from dash import dcc, html
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from finkportal_portal.clients import ApiError, FitterClient, QueryClient
from finkportal_portal.context import CONFIG_KEY, PortalContext
from finkportal_portal.data import RowCache, TimedValue
from finkportal_portal.metrics import PortalMetrics, route_kind
from finkportal_portal.scripts import (
    PLOTLY_BUNDLE,
    lean_scripts,
    plotly_bundle_present,
    skipped_script_pattern,
)
from finkportal_portal.settings import PortalSettings

PACKAGE = Path(__file__).resolve().parent
NO_CUTOUT_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="63" height="63">'
                 '<rect width="63" height="63" fill="#eee"/><text x="31.5" y="35" font-size="9" '
                 'text-anchor="middle" fill="#888">no cutout</text></svg>')
NAV = [("Search", "/"), ("Statistics", "/statistics"), ("API", "/api")]


class PortalDash(dash.Dash):
    """Dash whose index page leaves out the scripts ``skipped`` matches (``scripts.py``)."""

    def __init__(self, *args: Any, skipped: re.Pattern[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._skipped_scripts = skipped

    def interpolate_index(self, metas: Any = "", title: Any = "", css: Any = "",
                          config: Any = "", scripts: Any = "", app_entry: Any = "",
                          favicon: Any = "", renderer: Any = "") -> Any:
        """Dash's documented hook for the index page, with the lean script list."""
        return super().interpolate_index(
            metas=metas, title=title, css=css, config=config, app_entry=app_entry,
            scripts=lean_scripts(str(scripts), self._skipped_scripts), favicon=favicon,
            renderer=renderer)


def create_app(settings: PortalSettings) -> dash.Dash:
    """The app, its clients built and stored in the Flask config (``context.portal()``)."""
    metrics = PortalMetrics()
    observe = _api_observer(metrics)
    query = QueryClient(settings.query_url, settings.request_timeout_s, observe)
    context = PortalContext(
        settings, query, FitterClient(settings.fitter_url, settings.request_timeout_s, observe),
        metrics, RowCache(lambda object_id: query.objects(object_id, withupperlim="true")),
        TimedValue(query.classes))
    plotly_bundled = plotly_bundle_present(PACKAGE / "assets")
    app = PortalDash(__name__, use_pages=True, pages_folder=str(PACKAGE / "pages"),
                     assets_folder=str(PACKAGE / "assets"), title="finkportal",
                     suppress_callback_exceptions=True, serve_locally=True,
                     # The npm bundles: Aladin's is an ES module the loader imports; plotly's
                     # is listed below, before the component libraries that use it.
                     assets_path_ignore=["vendor"],
                     update_title="",
                     # plotly.js and the graph chunk with the first scripts, not after the
                     # page's content callback has answered: the first graph draws sooner.
                     eager_loading=True, skipped=skipped_script_pattern(plotly_bundled))
    if plotly_bundled:
        _list_plotly_bundle(app)
    app.server.config[CONFIG_KEY] = context
    app.layout = _layout
    _add_service_routes(app.server, context)
    _add_request_metrics(app.server, metrics)
    return app


def _list_plotly_bundle(app: dash.Dash) -> None:
    """The basic bundle after React, before the components: ``window.Plotly`` for
    ``dcc.Graph``. Versioned by its mtime, as Dash versions the assets it lists."""
    version = int((PACKAGE / "assets" / PLOTLY_BUNDLE).stat().st_mtime)
    app.config.external_scripts.append(f"{app.get_asset_url(PLOTLY_BUNDLE)}?m={version}")


def _layout() -> html.Div:
    return html.Div([
        html.Header(html.Nav([
            dcc.Link("finkportal", href="/", className="brand"),
            *(dcc.Link(label, href=href, className="nav-link") for label, href in NAV),
        ], className="navbar")),
        html.Main(dash.page_container, className="page"),
    ])


def _api_observer(metrics: PortalMetrics):  # type: ignore[no-untyped-def]
    def observe(service: str, outcome: str) -> None:
        metrics.api_calls.labels(service, outcome).inc()
    return observe


def _add_service_routes(server: flask.Flask, context: PortalContext) -> None:
    @server.get("/health/live")
    def live() -> flask.Response:
        return flask.jsonify(status="ok")

    @server.get("/health")
    def health() -> tuple[flask.Response, int]:
        if context.query.health():
            return flask.jsonify(status="ok"), 200
        return flask.jsonify(status="error", text="the query API is unreachable"), 503

    @server.get("/metrics")
    def prometheus() -> flask.Response:
        return flask.Response(generate_latest(context.metrics.registry),
                              mimetype=CONTENT_TYPE_LATEST)

    @server.get("/thumb/<object_id>.png")
    def thumbnail(object_id: str) -> flask.Response:
        try:
            png = context.query.cutout_png(object_id, "Science", stretch="asinh")
        except ApiError as exc:
            if exc.status != 404:
                return flask.Response(exc.message, status=exc.status or 502,
                                      mimetype="text/plain")
            # An alert without cutouts: a drawn "no cutout" square, not a broken image.
            return flask.Response(NO_CUTOUT_SVG, mimetype="image/svg+xml")
        response = flask.Response(png, mimetype="image/png")
        response.headers["Cache-Control"] = "max-age=300"
        return response


def _add_request_metrics(server: flask.Flask, metrics: PortalMetrics) -> None:
    @server.before_request
    def started() -> None:
        flask.g.started = time.perf_counter()

    @server.after_request
    def counted(response: flask.Response) -> flask.Response:
        route = route_kind(flask.request.path)
        metrics.requests.labels(route, str(response.status_code)).inc()
        began = getattr(flask.g, "started", None)
        if began is not None:
            metrics.request_seconds.labels(route).observe(time.perf_counter() - began)
        return response
