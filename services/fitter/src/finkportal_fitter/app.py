"""The fitter's HTTP application: ``create_app(settings)``; nothing starts at import.

Endpoints (all on ``settings.port``):

- ``POST /fits`` ``{"objectId", "model", "options"}``: 202 with ``{"id", "status", ...}``
  for a new fit; 200 with the finished job for a cache hit (``cached: true``); 422 for a
  bad body or option (the message names each); 404 for an object with no stored alert
  (known at once: the cache check reads the object's summary anyway, so no job is made
  that could only fail); 503 when ``max_queue`` fits are pending or the service is
  stopping (``Retry-After`` set), or the store is unreachable.
- ``GET /fits/{id}``: the job (status, progress, result or error, cached, timings); 404
  once it has expired (``job_ttl_s``): asking again answers from the cache.
- ``GET /health`` (store reachable, worker pool up, batch consumer running when enabled),
  ``GET /health/live``, ``GET /metrics``.

The start-up (lifespan) opens the store, starts the pool and warms it up in the
background (``/health`` says 503 until a worker has answered), and the Kafka thread; the
shutdown stops taking work, lets running fits finish within ``shutdown_grace_s``, then
closes the pool, the consumer and the store.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException

from finkportal_core.asgi_timing import TimingMiddleware
from finkportal_core.indexing.layout import ensure_index_tables
from finkportal_core.storage import open_store
from finkportal_core.storage.base import StorageError, Store
from finkportal_core.tables import ensure_alert_tables
from finkportal_fitter.batch import BatchRequests
from finkportal_fitter.cache import FITS_TABLE, FitCache, ensure_fits_table
from finkportal_fitter.jobs import BusyError, ShuttingDownError, UnknownObjectError, view
from finkportal_fitter.metrics import FitterMetrics, request_recorder
from finkportal_fitter.options import RequestError, parse_request
from finkportal_fitter.pool import FitPool
from finkportal_fitter.runner import FitRunner
from finkportal_fitter.settings import FitterSettings
from finkportal_fitter.store_reader import LightCurveReader

log = logging.getLogger(__name__)
WARM_UP_TIMEOUT_S = 300.0
RETRY_AFTER_S = "5"
FIT_EXAMPLE = {"objectId": "ZTF18acvqrrf", "model": "microlensing", "options": {"method": "TRF"}}
# Any JSON object: parse_request checks it, with the messages docs/fitter.md documents.
FitBody = Annotated[dict[str, Any], Body(examples=[FIT_EXAMPLE])]


@dataclass
class FitterContext:
    """What the endpoints use, built at start-up."""

    store: Store
    runner: FitRunner
    pool: FitPool
    batch: BatchRequests | None
    ready: threading.Event = field(default_factory=threading.Event)


def create_app(settings: FitterSettings, metrics: FitterMetrics | None = None) -> FastAPI:
    """The fitter application for ``settings``."""
    metrics = metrics or FitterMetrics()
    # /docs would load Swagger UI from a CDN: off (the schema stays at /openapi.json).
    app = FastAPI(title="finkportal fitter", docs_url=None, redoc_url=None,
                  lifespan=_lifespan(settings, metrics))
    _add_fit_routes(app)
    _add_service_routes(app, metrics)
    _add_error_handlers(app)
    app.add_middleware(TimingMiddleware, record=request_recorder(metrics))
    return app


def _lifespan(settings: FitterSettings,
              metrics: FitterMetrics) -> Callable[[FastAPI], Any]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context = start_context(settings, metrics)
        app.state.context = context
        log.info("fitter ready to take requests", extra={"port": settings.port})
        try:
            yield
        finally:
            stop_context(context, settings)

    return lifespan


def start_context(settings: FitterSettings, metrics: FitterMetrics) -> FitterContext:
    store = open_store(settings.store_url)
    ensure_alert_tables(store)  # an empty store answers "unknown object", not 503
    ensure_index_tables(store)
    ensure_fits_table(store)
    pool = FitPool(settings.workers, settings.log_level, settings.log_json)
    runner = FitRunner(settings, LightCurveReader(store, settings.max_points), FitCache(store),
                       pool, metrics)
    runner.start()
    batch = BatchRequests(settings, runner, metrics) if settings.batch_enabled else None
    context = FitterContext(store, runner, pool, batch)
    threading.Thread(target=_warm_up, args=(context,), name="fit-warm-up", daemon=True).start()
    return context


def _warm_up(context: FitterContext) -> None:
    try:
        context.pool.warm_up(WARM_UP_TIMEOUT_S)
    except Exception:
        log.exception("the worker pool did not start")
        return
    context.ready.set()
    if context.batch is not None:  # batch fits start once a worker can take them
        context.batch.start()


def stop_context(context: FitterContext, settings: FitterSettings) -> None:
    """Stop taking work, let fits finish within the grace, close everything."""
    log.info("fitter stopping", extra={"grace_s": settings.shutdown_grace_s})
    if context.batch is not None:
        context.batch.stop()
    try:
        context.runner.shutdown(settings.shutdown_grace_s)
        if context.batch is not None:
            context.batch.join(settings.shutdown_grace_s + 30)
    finally:
        context.store.close()
    log.info("fitter stopped")


def _context(request: Request) -> FitterContext:
    context: FitterContext = request.app.state.context
    return context


def _add_fit_routes(app: FastAPI) -> None:
    @app.post("/fits", tags=["fits"], summary="Ask for a fit (returns a job)", status_code=202,
              responses={200: {"description": "Answered from the cache: the job is finished"},
                         404: {"description": "No alert of the object is stored"},
                         422: {"description": "Bad body or option"},
                         503: {"description": "Busy, stopping, or the store is unreachable"}})
    def submit(request: Request, body: FitBody) -> JSONResponse:
        context = _context(request)
        job = context.runner.submit(parse_request(body))
        answer = view(job, context.runner.typical_seconds(job.request.model))
        return JSONResponse(answer, status_code=200 if job.is_finished else 202)

    @app.get("/fits/{job_id}", tags=["fits"], summary="A job: status, progress, result",
             responses={404: {"description": "No such job (or it expired)"}})
    def job_status(request: Request, job_id: str) -> JSONResponse:
        context = _context(request)
        context.runner.book.mark_running()
        job = context.runner.book.get(job_id)
        if job is None:
            return error_response(f"no job {job_id}: it never existed or expired; ask for "
                                  "the fit again (a finished fit answers from the cache)", 404)
        return JSONResponse(view(job, context.runner.typical_seconds(job.request.model)))


def _add_service_routes(app: FastAPI, metrics: FitterMetrics) -> None:
    @app.get("/health/live", tags=["service"], summary="Liveness: nothing a restart would fix",
             responses={503: {"description": "The batch consumer died: restart the pod"}})
    def live(request: Request) -> JSONResponse:
        # A store outage is not a reason to restart (readiness covers it); a dead Kafka
        # thread is, since nothing in the process starts it again.
        context = _context(request)
        if context.ready.is_set() and context.batch is not None and not context.batch.alive:
            return error_response("the batch consumer has stopped", 503)
        return JSONResponse({"status": "ok"})

    @app.get("/health", tags=["service"], summary="Readiness: store, workers, consumer",
             responses={503: {"description": "Something the service needs is down"}})
    def health(request: Request) -> JSONResponse:
        problems = health_problems(_context(request))
        if problems:
            return error_response("; ".join(problems), 503)
        return JSONResponse({"status": "ok"})

    @app.get("/metrics", tags=["service"], summary="Prometheus metrics",
             response_class=Response)
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def health_problems(context: FitterContext) -> list[str]:
    problems = []
    try:
        next(iter(context.store.table(FITS_TABLE).scan(limit=1)), None)
    except StorageError as exc:
        problems.append(f"the store is unavailable: {exc}")
    if not context.ready.is_set():
        problems.append("the worker pool is starting")
    elif not context.pool.alive:
        problems.append("the worker pool is down")
    if context.ready.is_set() and context.batch is not None and not context.batch.alive:
        problems.append("the batch consumer has stopped")
    return problems


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestError)
    def on_bad_request(_request: Request, exc: RequestError) -> JSONResponse:
        return error_response(exc.message, 422)

    @app.exception_handler(UnknownObjectError)
    def on_unknown(_request: Request, exc: UnknownObjectError) -> JSONResponse:
        return error_response(str(exc), 404, kind="unknown_object")

    @app.exception_handler(BusyError)
    @app.exception_handler(ShuttingDownError)
    def on_busy(_request: Request, exc: Exception) -> JSONResponse:
        response = error_response(str(exc), 503)
        response.headers["Retry-After"] = RETRY_AFTER_S
        return response

    @app.exception_handler(StorageError)
    def on_storage_error(_request: Request, exc: StorageError) -> JSONResponse:
        log.warning("store error", extra={"error": str(exc)})
        response = error_response(f"the store is unavailable, retry later: {exc}", 503)
        response.headers["Retry-After"] = RETRY_AFTER_S
        return response

    @app.exception_handler(RequestValidationError)
    def on_invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in error.get('loc', ()))}: {error.get('msg', '')}"
                 for error in exc.errors()]
        return error_response("; ".join(parts) or "invalid request", 422)

    @app.exception_handler(HTTPException)
    def on_http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return error_response(str(exc.detail), exc.status_code)


def error_response(text: str, status: int, **extra: object) -> JSONResponse:
    """Every error body: ``{"status": "error", "text": ...}``, as the query service's."""
    return JSONResponse({"status": "error", "text": text, **extra}, status_code=status)
