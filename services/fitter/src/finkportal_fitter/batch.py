"""Batch fits from Kafka: requests on ``request_topic``, results into the fits cache table.

A message is a JSON object shaped like the POST /fits body. The consume / retry /
dead-letter / commit cycle is the shared
:class:`~finkportal_core.consumer_loop.BatchConsumerLoop`, in a thread of the service
process, feeding the same runner (and bounded queue) as HTTP: when the queue is full the
consumer waits for room rather than being refused. A batch is committed only once every
fit of it has ended and its result (or its cacheable failure) is in the cache table, so a
crash re-delivers it and the repeat costs only cache hits.

Dead letters (reason in the ``reason`` header, kind in ``reason_kind``): ``request`` (not
JSON, bad options), ``unknown_object``, ``timeout``, ``crashed``, ``internal``. A fit that
failed on its data (bad light curve, no convergence) is not a dead letter: its failure is
the result, cached like one. A store outage or a shutdown retries the batch, committing
nothing meanwhile.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from finkportal_core.consumer_loop import BatchConsumerLoop, DeadLetter
from finkportal_core.kafka import make_consumer, make_producer
from finkportal_core.storage.base import StorageError, StoreUnavailableError
from finkportal_fitter.cache import CACHEABLE_FAILURES
from finkportal_fitter.jobs import Job, ShuttingDownError, UnknownObjectError
from finkportal_fitter.metrics import FitterMetrics
from finkportal_fitter.options import FitRequest, RequestError, parse_request
from finkportal_fitter.runner import FitRunner
from finkportal_fitter.settings import FitterSettings

log = logging.getLogger(__name__)
_RETRY_KINDS = frozenset(("shutdown", "store_unavailable"))


class TransientBatchError(Exception):
    """The batch cannot finish now (store down, shutting down): retry it, commit nothing."""


def parse_message(value: bytes | None) -> FitRequest:
    """The request a message holds, else RequestError."""
    if not value:
        raise RequestError("empty message: expected a JSON fit request")
    try:
        body: Any = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(f"not a JSON document: {exc}") from exc
    return parse_request(body)


class BatchRequests:
    """The Kafka consumer of fit requests, run in its own thread."""

    def __init__(self, settings: FitterSettings, runner: FitRunner, metrics: FitterMetrics):
        self._settings = settings
        self._runner = runner
        self.loop = BatchConsumerLoop(settings, make_consumer(settings, settings.group_id),
                                      make_producer(settings), metrics, (TransientBatchError,))
        self._thread = threading.Thread(target=self._run, name="fit-batch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Finish (or abandon, uncommitted) the batch in hand; returns at once."""
        self.loop.stop()

    def join(self, timeout_s: float) -> None:
        self._thread.join(timeout_s)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        log.info("batch fits started", extra={"topic": self._settings.request_topic})
        try:
            self.loop.run([self._settings.request_topic], self.handle)
        except Exception:  # the HTTP side keeps serving; /health reports the consumer
            log.exception("batch consumer stopped on an error")
        log.info("batch fits stopped")

    def handle(self, messages: list[Any]) -> list[DeadLetter]:
        """Fit every request of the batch; return the messages to dead-letter."""
        dead: list[DeadLetter] = []
        submitted: list[tuple[Any, Job]] = []
        for message in messages:
            try:
                job = self._runner.submit(parse_message(message.value()), wait_for_room=True)
            except RequestError as exc:
                dead.append(DeadLetter(message, exc.message, "request"))
            except UnknownObjectError as exc:
                dead.append(DeadLetter(message, str(exc), "unknown_object"))
            except (ShuttingDownError, StoreUnavailableError) as exc:
                raise TransientBatchError(str(exc)) from exc
            except StorageError as exc:
                dead.append(DeadLetter(message, f"store refused: {exc}", "store"))
            else:
                submitted.append((message, job))
        for message, job in submitted:
            job.done.wait()
            dead += verdict(message, job)
        return dead


def verdict(message: Any, job: Job) -> list[DeadLetter]:
    """Nothing when the outcome is in the cache; a dead letter when it never will be."""
    kind = job.error_kind
    if job.status == "done" or kind in CACHEABLE_FAILURES:
        if not (job.cached or job.cache_written):
            raise TransientBatchError(f"the result of job {job.id} is not in the cache yet")
        return []
    if kind in _RETRY_KINDS:
        raise TransientBatchError(f"job {job.id} did not run: {kind}")
    error = (job.outcome or {}).get("error", {})
    return [DeadLetter(message, f"{kind}: {error.get('message', '')}", str(kind))]
