"""Fit jobs and the in-memory book that holds them: bounded, deduplicated, expiring.

A job goes ``queued`` (waiting for a worker) -> ``running`` -> ``done`` | ``failed``;
a cache hit is born ``done`` (or ``failed``, for a cached failure) with ``cached: true``.
The book bounds the *pending* jobs (queued or running, HTTP and Kafka together) at
``max_queue``: beyond it a request is refused at once ("busy, retry") instead of waiting
behind minutes of fits. A request identical to one in flight (same object, model,
normalised options and last alert) joins that job rather than running the fit twice.
Finished jobs stay queryable for ``job_ttl_s`` (at most ``max_finished_jobs`` of them);
their result also stays in the fits table, where a new request finds it.

Jobs live in this process only: a client that lost its job id simply asks again and gets
the cached answer.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from finkportal_core.codec import decode_value, encode_value
from finkportal_fitter.options import FitRequest

ROOM_WAIT_S = 1.0  # how often a waiting (Kafka) submitter re-checks for shutdown


class BusyError(Exception):
    """``max_queue`` jobs are pending: retry later (HTTP 503)."""


class ShuttingDownError(Exception):
    """The service is stopping and takes no new fit (HTTP 503)."""


class UnknownObjectError(Exception):
    """The store holds no alert of the object (HTTP 404)."""


@dataclass
class Job:
    """One fit request and what became of it. Fields change under the book's lock."""

    request: FitRequest
    last_jd: float
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    submitted: float = field(default_factory=time.time)
    status: str = "queued"
    cached: bool = False
    started: float | None = None
    finished: float | None = None
    fit_seconds: float | None = None
    computed: float | None = None  # when a cached outcome was computed
    encoded_outcome: bytes | None = None  # codec bytes: a third of the memory of the dict
    cache_written: bool = False
    resubmitted: bool = False
    future: Future[dict[str, Any]] | None = None
    task: Any = None  # the FitTask, kept until the job ends (for one resubmission)
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def is_finished(self) -> bool:
        return self.status in ("done", "failed")

    @property
    def outcome(self) -> dict[str, Any] | None:
        return None if self.encoded_outcome is None else decode_value(self.encoded_outcome)

    @property
    def error_kind(self) -> str | None:
        outcome = self.outcome
        return None if outcome is None else outcome.get("error", {}).get("kind")


def view(job: Job, expected_s: float | None) -> dict[str, Any]:
    """The JSON answer of GET /fits/{id} (and of POST /fits)."""
    body: dict[str, Any] = {
        "id": job.id, "status": job.status, "progress": progress(job, expected_s),
        "cached": job.cached, **job.request.as_dict(), "last_jd": job.last_jd,
    }
    outcome = job.outcome
    if outcome is not None:
        key = "result" if outcome["status"] == "done" else "error"
        body[key] = outcome[key]
    body["timings"] = timings(job)
    return body


def progress(job: Job, expected_s: float | None) -> float:
    """0 queued, 1 finished; running: the share of the model's typical fit time elapsed,
    kept within [0.05, 0.95] (0.5 until a fit of that model has finished)."""
    if job.is_finished:
        return 1.0
    if job.status != "running" or job.started is None:
        return 0.0
    if not expected_s:
        return 0.5
    return round(min(0.95, max(0.05, (time.time() - job.started) / expected_s)), 3)


def timings(job: Job) -> dict[str, Any]:
    started = job.started
    return {
        "submitted": iso(job.submitted), "started": iso(started), "finished": iso(job.finished),
        "queued_s": None if started is None else round(max(0.0, started - job.submitted), 4),
        "fit_s": None if job.fit_seconds is None else round(job.fit_seconds, 4),
        **({"computed": iso(job.computed)} if job.cached else {}),
    }


def iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    text = datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


class JobBook:
    """Every job by id; pending count, in-flight index, expiry. Thread-safe."""

    def __init__(self, max_queue: int, ttl_s: float, max_finished: int):
        self._max_queue = max_queue
        self._ttl_s = ttl_s
        self._max_finished = max_finished
        self._jobs: dict[str, Job] = {}
        self._finished: OrderedDict[str, float] = OrderedDict()  # id -> finish time, in order
        self._in_flight: dict[tuple[bytes, float], Job] = {}
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._closing = False

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def reserve(self, request: FitRequest, last_jd: float, *, wait: bool) -> tuple[Job, bool]:
        """A new pending job, or the in-flight one it joins (then False)."""
        key = (request.cache_key, last_jd)
        with self._room:
            while True:
                if self._closing:
                    raise ShuttingDownError("the fitter is shutting down; retry elsewhere")
                if (joined := self._in_flight.get(key)) is not None:
                    return joined, False
                if len(self._in_flight) < self._max_queue:
                    break
                if not wait:
                    raise BusyError(f"busy: {len(self._in_flight)} fits pending (limit "
                                    f"{self._max_queue}); retry later")
                self._room.wait(ROOM_WAIT_S)
            job = Job(request, last_jd)
            self._jobs[job.id] = job
            self._in_flight[key] = job
            return job, True

    def add_cached(self, job: Job, outcome: dict[str, Any],
                   fit_seconds: float | None) -> None:
        """Record a job born finished: a cache hit."""
        with self._lock:
            self._jobs[job.id] = job
            self._settle(job, outcome, None, fit_seconds)
        job.done.set()

    def finish(self, job: Job, outcome: dict[str, Any], *, started: float | None = None,
               fit_seconds: float | None = None) -> bool:
        """Mark a pending ``job`` finished with ``outcome``; False if it already was."""
        with self._room:
            if job.is_finished:
                return False
            self._settle(job, outcome, started, fit_seconds)
            key = (job.request.cache_key, job.last_jd)
            if self._in_flight.get(key) is job:
                del self._in_flight[key]
            self._room.notify_all()
        job.done.set()
        return True

    def _settle(self, job: Job, outcome: dict[str, Any], started: float | None,
                fit_seconds: float | None) -> None:
        job.encoded_outcome = encode_value(outcome)
        job.status = "done" if outcome["status"] == "done" else "failed"
        job.finished = time.time()
        job.started = started if started is not None else job.started
        job.fit_seconds = fit_seconds
        job.task = job.future = None
        self._finished[job.id] = job.finished
        self._purge()

    def mark_running(self) -> None:
        """Notice the jobs a worker has taken (pebble tells only through the future)."""
        with self._lock:
            for job in self._in_flight.values():
                if job.status == "queued" and job.future is not None and job.future.running():
                    job.status, job.started = "running", time.time()

    def pending(self) -> list[Job]:
        with self._lock:
            return list(self._in_flight.values())

    def counts(self) -> tuple[int, int]:
        """(queued, running) jobs."""
        with self._lock:
            running = sum(job.status == "running" for job in self._in_flight.values())
            return len(self._in_flight) - running, running

    def close(self) -> None:
        """Refuse new jobs; wake submitters waiting for room so they see it."""
        with self._room:
            self._closing = True
            self._room.notify_all()

    def purge(self) -> None:
        with self._lock:
            self._purge()

    def _purge(self) -> None:
        deadline = time.time() - self._ttl_s
        while self._finished:
            job_id, finished = next(iter(self._finished.items()))
            if finished >= deadline and len(self._finished) <= self._max_finished:
                return
            del self._finished[job_id]
            self._jobs.pop(job_id, None)
