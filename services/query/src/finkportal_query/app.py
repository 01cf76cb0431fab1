"""The FastAPI application: ``create_app(settings)`` builds it; nothing connects at import.

The store is opened in the lifespan (start-up) and closed at shutdown. Endpoints are
plain ``def`` functions: FastAPI runs them on a thread pool (``settings.threads``
threads), where the embedded store gives every thread its own connection.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException

from finkportal_core.asgi_timing import TimingMiddleware
from finkportal_core.indexing.layout import STATISTICS_TABLE, ensure_index_tables
from finkportal_core.storage import open_store
from finkportal_core.storage.base import StorageError, StoreUnavailableError, TableNotFoundError
from finkportal_core.tables import ensure_alert_tables
from finkportal_query import __version__
from finkportal_query.api import build_router
from finkportal_query.constellations import boundaries
from finkportal_query.errors import QueryError
from finkportal_query.metrics import QueryMetrics, request_recorder
from finkportal_query.objects import Limits
from finkportal_query.reader import AlertReader
from finkportal_query.settings import QuerySettings

log = logging.getLogger(__name__)

DESCRIPTION = """\
Fink-compatible REST API over the alerts finkportal stores. Every endpoint takes its
parameters as a GET query string or as a POST JSON body, with the names Fink uses.
Limits and the compatibility table: docs/api.md.
"""


@dataclass
class QueryContext:
    """What the endpoints need, built at start-up."""

    reader: AlertReader
    limits: Limits
    metrics: QueryMetrics


def create_app(settings: QuerySettings, metrics: QueryMetrics | None = None) -> FastAPI:
    """The API application for ``settings``; the store opens when the app starts."""
    metrics = metrics or QueryMetrics()
    # FastAPIOffline serves Swagger UI and ReDoc from files in the wheel: /docs works
    # without reaching a CDN.
    app = FastAPIOffline(title="finkportal API", version=__version__, description=DESCRIPTION,
                         lifespan=_lifespan(settings, metrics), root_path=settings.root_path)
    router = build_router()
    app.include_router(router)
    _add_service_routes(app, metrics)
    _add_error_handlers(app)
    # From both: FastAPI wraps an included router's routes in one object without a path.
    paths = frozenset(getattr(route, "path", "") for route in (*router.routes, *app.routes))
    app.add_middleware(TimingMiddleware, record=request_recorder(metrics, paths))
    return app


def _lifespan(settings: QuerySettings, metrics: QueryMetrics):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        store = open_store(settings.store_url)
        try:
            ensure_alert_tables(store)  # the API answers "nothing yet" before the first alert
            ensure_index_tables(store)
            boundaries()  # constellation table and matrix: built now, not in a request
            app.state.context = QueryContext(
                AlertReader(store, settings.max_scanned_rows), limits_of(settings), metrics)
            log.info("query service ready", extra={"store": settings.store_url})
            yield
        finally:
            store.close()

    return lifespan


def limits_of(settings: QuerySettings) -> Limits:
    return Limits(max_rows=settings.max_rows, max_ids=settings.max_ids,
                  max_radius_arcsec=settings.max_radius_arcsec,
                  max_cutouts=settings.max_cutouts)


def _add_service_routes(app: FastAPI, metrics: QueryMetrics) -> None:
    @app.get("/health/live", tags=["service"], summary="Liveness: the process answers")
    def live() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/health", tags=["service"], summary="Readiness: the store answers too",
             responses={503: {"description": "The store is unreachable"}})
    def health(request: Request) -> JSONResponse:
        reader: AlertReader = request.app.state.context.reader
        try:
            next(iter(reader.table(STATISTICS_TABLE).scan(limit=1)), None)
        except StorageError as exc:
            return error_response(f"the store is unavailable: {exc}", 503)
        return JSONResponse({"status": "ok"})

    @app.get("/metrics", tags=["service"], summary="Prometheus metrics",
             response_class=Response)
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(QueryError)
    def on_query_error(_request: Request, exc: QueryError) -> JSONResponse:
        return error_response(exc.message, exc.status)

    @app.exception_handler(HTTPException)
    def on_http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        text = "no such path: see /docs" if exc.status_code == 404 else str(exc.detail)
        return error_response(text, exc.status_code)

    @app.exception_handler(RequestValidationError)
    def on_invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_message(exc), 422, errors=_plain(exc))

    @app.exception_handler(StorageError)
    def on_storage_error(_request: Request, exc: StorageError) -> JSONResponse:
        if isinstance(exc, StoreUnavailableError | TableNotFoundError):
            log.warning("store unavailable: %s", exc)
            return error_response(f"the store is unavailable, retry later: {exc}", 503)
        raise exc


def error_response(text: str, status: int, **extra: object) -> JSONResponse:
    """Every error body: ``{"status": "error", "text": ...}``, Fink's keys, as JSON."""
    return JSONResponse({"status": "error", "text": text, **extra}, status_code=status)


def validation_message(exc: RequestValidationError) -> str:
    """One line per invalid parameter: ``radius: Input should be greater than 0``."""
    parts = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("query", "body")]
        parts.append(f"{'.'.join(location) or 'request'}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def _plain(exc: RequestValidationError) -> list[dict[str, object]]:
    return [{"loc": [str(part) for part in error.get("loc", ())], "msg": error.get("msg", ""),
             "type": error.get("type", "")} for error in exc.errors()]
