"""The worker processes fits run in: a pebble ``ProcessPool`` behind a small supervisor.

Why processes, and why pebble: a fit is CPU-bound Python (gatspy, pyLIMA, scipy) that
can run for minutes, hang in an optimiser, or crash the interpreter in native code.
pebble gives each task its own timeout (the worker running it is killed and replaced)
and reports a worker that died under a task (``ProcessExpired``) instead of hanging.

- Workers are forked from a **fork server** that preloads :mod:`finkportal_fitter.worker`
  (gatspy, pyLIMA: ~4 s of imports) once: a replacement worker starts in milliseconds,
  and no worker is forked from the service process itself, whose threads (uvicorn, Kafka,
  SQLite) a plain ``fork`` would copy in whatever state they are in.
- BLAS runs one thread per worker (``*_NUM_THREADS=1`` in the fork server's environment,
  unless the operator set them): the pool size is the parallelism, and N workers with
  N BLAS threads each would oversubscribe the cores.
- pebble marks its whole pool broken when a worker dies while no task is running (e.g. an
  idle worker killed by the OOM killer). The supervisor then builds a new pool; tasks
  aborted by the breakage come back as ``BrokenProcessPool`` and the job layer resubmits
  them once (they were not at fault).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from concurrent.futures import Future
from typing import Any

from pebble import ProcessPool

from finkportal_fitter.worker import FitTask, initialize_worker, run_fit

log = logging.getLogger(__name__)
WORKER_MODULE = "finkportal_fitter.worker"
_ONE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class PoolClosedError(RuntimeError):
    """The pool is shutting down: no new fit is taken."""


def ping() -> int:
    """A task that only proves a worker runs (start-up readiness)."""
    return os.getpid()


class FitPool:
    """``submit`` fits; thread-safe. Never call it from a pebble thread (see ``check``)."""

    def __init__(self, workers: int, log_level: str = "INFO", log_json: bool = True):
        self._workers = workers
        self._initargs = (log_level, log_json)
        self._context = _fork_server_context()
        self._lock = threading.Lock()
        self._closed = False
        self._pool = self._new_pool()
        self.rebuilds = 0

    def _new_pool(self) -> ProcessPool:
        return ProcessPool(max_workers=self._workers, initializer=initialize_worker,
                           initargs=self._initargs, context=self._context)

    def submit(self, task: FitTask, timeout_s: float) -> Future[dict[str, Any]]:
        """Queue ``task``; its future gives ``run_fit``'s dict or the pool's exception."""
        with self._lock:
            if self._closed:
                raise PoolClosedError("the fitter is shutting down")
            return self._usable().schedule(run_fit, args=(task,), timeout=timeout_s)

    def warm_up(self, timeout_s: float) -> None:
        """Wait until a worker answers (the fork server has imported the fitting code)."""
        with self._lock:
            future = self._usable().schedule(ping)
        future.result(timeout=timeout_s)

    def check(self) -> bool:
        """Rebuild a broken pool; whether the pool now takes work."""
        with self._lock:
            if self._closed:
                return False
            self._usable()
            return True

    @property
    def alive(self) -> bool:
        with self._lock:
            return not self._closed and self._pool.active

    def _usable(self) -> ProcessPool:
        if not self._pool.active:
            broken, self._pool = self._pool, self._new_pool()
            self.rebuilds += 1
            log.warning("worker pool was broken (a worker died while idle): rebuilt it",
                        extra={"rebuilds": self.rebuilds})
            _dispose(broken)
        return self._pool

    def close(self, grace_s: float) -> bool:
        """Take no more work; let queued and running fits finish for up to ``grace_s``, then
        kill the workers. True when everything finished in time.

        Futures of fits killed here never complete: the job layer fails them itself.
        """
        with self._lock:
            self._closed = True
            pool = self._pool
        pool.close()
        try:
            pool.join(timeout=grace_s)
            return True
        except TimeoutError:
            log.warning("fits still running after the shutdown grace: stopping them",
                        extra={"grace_s": grace_s})
            _dispose(pool)
            return False


def _dispose(pool: ProcessPool) -> None:
    pool.stop()
    pool.join()


def _fork_server_context() -> Any:
    for name in _ONE_THREAD:
        os.environ.setdefault(name, "1")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([WORKER_MODULE])
    return context
