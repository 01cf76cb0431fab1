"""The fit runner: from a valid request to a finished job, through cache, pool and store.

``submit`` (from an HTTP thread or the Kafka thread):

1. the object's last-alert jd (one ``get`` of its summary row); none: unknown object;
2. the cache row: same last jd -> a finished job at once (``cached``);
3. a pending job in the book (or the identical one in flight, or ``BusyError``);
4. the light curve rows, then the fit is queued on the pool with ``fit_timeout_s``.

When the pool's future completes, a small thread pool of our own (pebble's threads must
never block on the store, nor rebuild the pool they run in) turns it into an outcome,
writes it to the cache when it is worth keeping, and only then marks the job finished: a
finished job's result is already in the cache (the Kafka path commits on that).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pebble import ProcessExpired

from finkportal_core.storage.base import StorageError
from finkportal_fitter.cache import CachedFit, FitCache, is_cacheable
from finkportal_fitter.errors import FitTimeoutError
from finkportal_fitter.jobs import BusyError, Job, JobBook, ShuttingDownError, UnknownObjectError
from finkportal_fitter.metrics import FitterMetrics
from finkportal_fitter.options import FitRequest
from finkportal_fitter.pool import FitPool, PoolClosedError
from finkportal_fitter.settings import FitterSettings
from finkportal_fitter.store_reader import LightCurveReader
from finkportal_fitter.worker import FitTask

log = logging.getLogger(__name__)
MONITOR_INTERVAL_S = 0.2
_POOL_CHECK_EVERY = 5  # monitor ticks between pool health checks (1 s)
_EWMA_WEIGHT = 0.2  # of the newest fit in the typical duration behind "progress"


def failure(kind: str, message: str) -> dict[str, Any]:
    return {"status": "failed", "error": {"kind": kind, "message": message}}


class FitRunner:
    """Owns the job book, the completion threads and the monitor thread."""

    def __init__(self, settings: FitterSettings, reader: LightCurveReader, cache: FitCache,
                 pool: FitPool, metrics: FitterMetrics):
        self._settings = settings
        self._reader = reader
        self._cache = cache
        self._pool = pool
        self._metrics = metrics
        self.book = JobBook(settings.max_queue, settings.job_ttl_s, settings.max_finished_jobs)
        self._completions = ThreadPoolExecutor(max_workers=2, thread_name_prefix="fit-done")
        self._typical_s: dict[str, float] = {}
        self._rebuilds_counted = 0
        self._stopping = threading.Event()
        self._monitor = threading.Thread(target=self._watch, name="fit-monitor", daemon=True)
        metrics.queue_length.set_function(lambda: self.book.counts()[0])
        metrics.running.set_function(lambda: self.book.counts()[1])

    def start(self) -> None:
        self._monitor.start()

    def typical_seconds(self, model: str) -> float | None:
        return self._typical_s.get(model)

    # -- submitting ----------------------------------------------------------------------

    def submit(self, request: FitRequest, *, wait_for_room: bool = False) -> Job:
        """A job for ``request``; raises UnknownObjectError, BusyError, ShuttingDownError
        and the store's StorageError (nothing is then pending)."""
        last_jd = self._reader.last_jd(request.object_id)
        if last_jd is None:
            self._metrics.rejected.labels("unknown_object").inc()
            raise UnknownObjectError(
                f"no alert of {request.object_id} is stored: check the objectId")
        cached = self._cache.lookup(request, last_jd)
        if cached is not None:
            return self._cached_job(request, cached)
        try:
            job, new = self.book.reserve(request, last_jd, wait=wait_for_room)
        except BusyError:
            self._metrics.rejected.labels("busy").inc()
            raise
        except ShuttingDownError:
            self._metrics.rejected.labels("stopping").inc()
            raise
        if new:
            self._metrics.cache_misses.labels(request.model).inc()
            self._start(job)
        return job

    def _cached_job(self, request: FitRequest, cached: CachedFit) -> Job:
        self._metrics.cache_hits.labels(request.model).inc()
        job = Job(request, cached.last_jd, cached=True, computed=cached.finished)
        self.book.add_cached(job, cached.outcome, cached.fit_seconds)
        return job

    def _start(self, job: Job) -> None:
        try:
            rows = self._reader.rows(job.request.object_id)
        except StorageError as exc:
            self.book.finish(job, failure("store_unavailable", f"reading the light curve: {exc}"))
            raise
        job.task = FitTask(job.request.model, job.request.options, rows)
        self._queue(job)

    def _queue(self, job: Job) -> None:
        try:
            future = self._pool.submit(job.task, self._settings.fit_timeout_s)
        except PoolClosedError as exc:
            self.book.finish(job, failure("shutdown", str(exc)))
            return
        job.future = future
        future.add_done_callback(lambda done: self._on_done(job, done))

    def _on_done(self, job: Job, future: Future[dict[str, Any]]) -> None:
        try:
            self._completions.submit(self._complete, job, future)
        except RuntimeError:  # completions already shut down: the shutdown path fails it
            log.warning("fit finished during shutdown", extra={"job": job.id})

    # -- completing ----------------------------------------------------------------------

    def _complete(self, job: Job, future: Future[dict[str, Any]]) -> None:
        try:
            value = future.result()
        except BrokenProcessPool:
            if not job.resubmitted:  # the pool broke under it: not this fit's fault
                job.resubmitted = True
                self._pool.check()
                self._queue(job)
                return
            self._record(job, failure("crashed", "the worker pool broke twice under this fit"))
        except Exception as exc:  # timeout, dead worker, cancelled, unpicklable...
            self._record(job, self._pool_failure(job, exc))
        else:
            self._record(job, value["outcome"], value["started"], value["fit_s"])

    def _pool_failure(self, job: Job, exc: BaseException) -> dict[str, Any]:
        context = {"job": job.id, **job.request.as_dict()}
        if isinstance(exc, TimeoutError):
            log.warning("fit timed out; its worker was replaced", extra=context)
            return failure("timeout", FitTimeoutError(
                self._settings.fit_timeout_s, f"the {job.request.model} fit").message)
        if isinstance(exc, ProcessExpired):
            log.warning("fit worker died", extra={**context, "exitcode": exc.exitcode})
            return failure("crashed", f"the worker process running the fit died (exit code "
                           f"{exc.exitcode}); the service is fine, the fit is not retried")
        if isinstance(exc, CancelledError):
            return failure("shutdown", "the fitter stopped before the fit ran")
        log.error("fit failed in the pool", exc_info=exc, extra={"job": job.id})
        return failure("internal", f"the pool could not run the fit: {exc!r}")

    def _record(self, job: Job, outcome: dict[str, Any], started: float | None = None,
                fit_s: float | None = None) -> None:
        model, kind = job.request.model, outcome.get("error", {}).get("kind")
        if kind != "shutdown":
            self._metrics.fits_run.labels(model).inc()
        if kind is not None:
            self._metrics.fits_failed.labels(model, kind).inc()
        if kind == "timeout":
            self._metrics.fits_timed_out.labels(model).inc()
        if fit_s is not None:
            self._metrics.fit_seconds.labels(model).observe(fit_s)
            old = self._typical_s.get(model, fit_s)
            self._typical_s[model] = (1 - _EWMA_WEIGHT) * old + _EWMA_WEIGHT * fit_s
        if is_cacheable(outcome):
            job.cache_written = self._write_cache(job, outcome, fit_s)
        self.book.finish(job, outcome, started=started, fit_seconds=fit_s)

    def _write_cache(self, job: Job, outcome: dict[str, Any], fit_s: float | None) -> bool:
        try:
            self._cache.store(job.request, job.last_jd, outcome, fit_s)
            return True
        except StorageError as exc:
            self._metrics.cache_write_errors.inc()
            log.warning("cache write failed; the job keeps its result",
                        extra={"job": job.id, "error": str(exc)})
            return False

    # -- monitoring and shutdown ---------------------------------------------------------

    def _watch(self) -> None:
        tick = 0
        while not self._stopping.wait(MONITOR_INTERVAL_S):
            tick += 1
            self.book.mark_running()
            if tick % _POOL_CHECK_EVERY == 0:
                self._check_pool()
                self.book.purge()

    def _check_pool(self) -> None:
        try:
            self._pool.check()
        except Exception as exc:  # a pool that cannot even be rebuilt: /health says so
            log.error("worker pool cannot be rebuilt", extra={"error": str(exc)})
        # Rebuilds happen here and on submit: count them all, once.
        rebuilds = self._pool.rebuilds
        self._metrics.pool_rebuilds.inc(rebuilds - self._rebuilds_counted)
        self._rebuilds_counted = rebuilds

    def shutdown(self, grace_s: float) -> None:
        """No new jobs; pending fits get ``grace_s`` to finish; the rest fail 'shutdown'."""
        self.book.close()
        started = time.monotonic()
        self._pool.close(grace_s)
        self._completions.shutdown(wait=True)  # cache writes of the fits that finished
        self._stopping.set()
        for job in self.book.pending():
            self.book.finish(job, failure(
                "shutdown", "the fitter stopped before the fit finished: ask again"))
        log.info("fit runner stopped", extra={"seconds": round(time.monotonic() - started, 3)})
