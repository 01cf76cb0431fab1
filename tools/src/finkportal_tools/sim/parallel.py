"""Encoded synthetic alerts from several processes, in the night's order.

Building and Avro-encoding an alert costs milliseconds of CPU; the exposures of a
night are independent (see :class:`NightSimulator`), so worker processes each
build and encode whole exposures while this process hands them out in order.
At most two exposures per worker are in flight, so memory stays bounded even
when the consumer (a rate-limited replay) is slow. Output is byte-identical to
the single-process path.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator
from typing import Any, NamedTuple

from finkportal_core.alerts import ZTF_ROOT_FIELDS, Alert, encode_ztf_message
from finkportal_tools.sim.night import NightConfig, NightSimulator


class EncodedAlert(NamedTuple):
    candid: int
    value: bytes  # ZTF wire form: a one-record Avro container
    truth: dict[str, Any]


def ztf_wire_message(alert: Alert, keep_added_values: bool = False) -> bytes:
    """The Kafka value ZTF would send for ``alert`` (added values dropped by default)."""
    if not keep_added_values:
        alert = {k: v for k, v in alert.items() if k in ZTF_ROOT_FIELDS}
    return encode_ztf_message(alert)


_WORKER: NightSimulator | None = None


def _start_worker(config: NightConfig) -> None:
    global _WORKER
    _WORKER = NightSimulator(config)


def _encode_exposure(index: int, keep_added_values: bool) -> list[EncodedAlert]:
    assert _WORKER is not None, "worker not initialised"
    return [EncodedAlert(alert["candid"], ztf_wire_message(alert, keep_added_values), truth)
            for alert, truth in _WORKER.exposure_alerts(index)]


def encoded_night(
    config: NightConfig, keep_added_values: bool = False, workers: int = 1,
) -> Iterator[EncodedAlert]:
    """The night's alerts, encoded, in time order; ``workers`` > 1 uses processes."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if workers == 1:
        for alert, truth in NightSimulator(config).alerts_with_truth():
            yield EncodedAlert(alert["candid"], ztf_wire_message(alert, keep_added_values), truth)
        return
    yield from _in_processes(config, keep_added_values, workers)


def _in_processes(config: NightConfig, keep: bool, workers: int) -> Iterator[EncodedAlert]:
    remaining = config.n_alerts
    indices = iter(range(len(NightSimulator(config).exposures)))
    # "spawn": the caller may already run librdkafka threads, which fork would copy.
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_start_worker, initargs=(config,)) as pool:
        pending: deque[Any] = deque()

        def submit() -> None:
            index = next(indices, None)
            if index is not None:
                pending.append(pool.apply_async(_encode_exposure, (index, keep)))

        for _ in range(2 * workers):
            submit()
        while pending and remaining > 0:
            batch = pending.popleft().get()[:remaining]
            submit()
            remaining -= len(batch)
            yield from batch
