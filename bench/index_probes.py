"""Probes of the indexer benchmark: synthetic alerts, a paced producer and two observers.

- :func:`prepared_night` builds and encodes the alerts before the clock starts (in worker
  processes), keeping for each one what the observers need: its ``ztf_index_time`` key
  and whether its Fink class puts it on ``fink_all_classified_ztf``.
- :func:`produce_paced` sends them at a steady rate by wall clock, noting when each was
  handed to the producer.
- :class:`IndexPoller` watches the store for the index rows of the alerts still pending.
- :class:`StreamWatcher` keeps every message of a live stream with its arrival time;
  decoding (~1 ms of CPU each) is deferred to :meth:`StreamWatcher.arrivals` so that it
  neither delays the arrival clock nor takes CPU from the services while they are measured.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import psutil
from confluent_kafka import Consumer, Producer

from finkportal_core.alerts import decode_message
from finkportal_core.classification import UNKNOWN, alert_class
from finkportal_core.indexing.layout import TIME_TABLE
from finkportal_core.kafka import MAX_MESSAGE_BYTES
from finkportal_core.storage import open_store
from finkportal_core.tables import jd_text
from finkportal_tools.sim import NightConfig, NightSimulator
from finkportal_tools.sim.parallel import ztf_wire_message

POLL_INTERVAL_S = 0.01
# Rows become readable in produce order (one partition, batches handled in turn), so only
# the oldest pending keys need reading: this keeps each poll cheap when the pipeline lags.
POLL_WINDOW = 2000


@dataclass(frozen=True)
class PreparedAlert:
    candid: int
    time_key: bytes  # its row key in ztf_index_time
    classified: bool  # Fink class not Unknown: expected on fink_all_classified_ztf
    value: bytes  # ZTF wire form, Fink added values kept


_SIMULATOR: NightSimulator | None = None


def _start_worker(config: NightConfig) -> None:
    global _SIMULATOR
    _SIMULATOR = NightSimulator(config)


def _prepare_exposure(index: int) -> list[PreparedAlert]:
    assert _SIMULATOR is not None, "worker not initialised"
    prepared = []
    for alert, _truth in _SIMULATOR.exposure_alerts(index):
        jd = alert["candidate"]["jd"]
        key = f"{jd_text(jd)}_{alert['objectId']}_{alert['candid']}".encode()
        prepared.append(PreparedAlert(alert["candid"], key, alert_class(alert) != UNKNOWN,
                                      ztf_wire_message(alert, keep_added_values=True)))
    return prepared


def prepared_night(n: int, seed: int, night: date, workers: int = 2) -> list[PreparedAlert]:
    """The first ``n`` alerts of a synthetic night (cutouts, history, Fink values)."""
    config = NightConfig(n_alerts=n, seed=seed, night=night)
    exposures = range(len(NightSimulator(config).exposures))
    alerts: list[PreparedAlert] = []
    # "spawn": librdkafka threads may already run in this process.
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_start_worker, initargs=(config,)) as pool:
        for batch in pool.imap(_prepare_exposure, exposures):
            alerts.extend(batch[: n - len(alerts)])
            if len(alerts) >= n:
                break
    return alerts


def bench_producer(bootstrap: str) -> Producer:
    """A producer that sends at once (little lingering): the latency clock starts at produce."""
    return Producer({"bootstrap.servers": bootstrap, "linger.ms": 2, "acks": "all",
                     "message.max.bytes": MAX_MESSAGE_BYTES,
                     "queue.buffering.max.kbytes": 1024 * 1024})


def produce_paced(producer: Producer, topic: str, alerts: Sequence[PreparedAlert],
                  rate: float, sent: dict[int, float], poller: IndexPoller | None) -> float:
    """Send ``alerts`` at ``rate``/s by wall clock; return the achieved rate.

    ``sent[candid]`` is the moment the alert was handed to the producer.
    """
    start = time.perf_counter()
    for i, alert in enumerate(alerts):
        ahead = start + i / rate - time.perf_counter()
        if ahead > 0:
            time.sleep(ahead)
        sent[alert.candid] = time.perf_counter()
        if poller is not None:
            poller.expect(alert.time_key, alert.candid)
        produce_when_room(producer, topic, alert.value, 0.01)
    producer.flush(60)
    return len(alerts) / (time.perf_counter() - start)


class IndexPoller(threading.Thread):
    """Every ~10 ms, reads the time-index rows of the oldest pending alerts; notes when each
    appears.

    The time noted is the start of the read that first found the row: the row became
    readable after the previous read, so the error is below one poll interval.
    """

    def __init__(self, store_url: str):
        super().__init__(name="index-poller", daemon=True)
        self._store_url = store_url
        self._incoming: queue.SimpleQueue[tuple[bytes, int]] = queue.SimpleQueue()
        self._pending: dict[bytes, int] = {}
        self._halt = threading.Event()
        self.seen: dict[int, float] = {}
        self.polls = 0

    def expect(self, key: bytes, candid: int) -> None:
        self._incoming.put((key, candid))

    @property
    def pending(self) -> int:
        return len(self._pending) + self._incoming.qsize()

    def stop(self) -> None:
        self._halt.set()
        self.join(10)

    def run(self) -> None:
        store = open_store(self._store_url)
        try:
            table = store.table(TIME_TABLE)
            while not self._halt.is_set():
                began = time.perf_counter()
                self._drain()
                if self._pending:
                    window = list(itertools.islice(self._pending, POLL_WINDOW))
                    for key, _cells in table.get_many(window):
                        self.seen[self._pending.pop(key)] = began
                    self.polls += 1
                self._halt.wait(max(0.0, POLL_INTERVAL_S - (time.perf_counter() - began)))
        finally:
            store.close()

    def _drain(self) -> None:
        while True:
            try:
                key, candid = self._incoming.get_nowait()
            except queue.Empty:
                return
            self._pending[key] = candid


class StreamWatcher(threading.Thread):
    """Consumes one live stream topic, keeping each message with its arrival time."""

    def __init__(self, bootstrap: str, topic: str, group: str):
        super().__init__(name="stream-watcher", daemon=True)
        self.topic = topic
        self._consumer = Consumer({
            "bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "max.poll.interval.ms": 10_000,
            "session.timeout.ms": 10_000, "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": MAX_MESSAGE_BYTES,
            # Tansu answers a fetch only after fetch.wait.max.ms (default 500) even when
            # data arrives meanwhile (~200 ms a hop measured): the observer must not add it.
            "fetch.wait.max.ms": 10,
        })
        self._raw: list[tuple[float, bytes | None, bytes]] = []
        self._halt = threading.Event()
        self.joined = threading.Event()

    def join_group(self, timeout_s: float = 60) -> float:
        """Subscribe and poll until partitions are assigned; return the seconds it took."""
        start = time.perf_counter()
        self._consumer.subscribe([self.topic])
        while not self._consumer.assignment():
            if time.perf_counter() - start > timeout_s:
                raise SystemExit(f"stream consumer did not join within {timeout_s} s")
            self._consumer.poll(0.2)
        self.joined.set()
        return time.perf_counter() - start

    def stop(self) -> None:
        self._halt.set()
        self.join(30)

    def run(self) -> None:
        try:
            while not self._halt.is_set():
                messages = self._consumer.consume(1000, 0.05)
                now = time.perf_counter()
                for message in messages:
                    value = message.value()
                    if message.error() is None and value is not None:
                        self._raw.append((now, message.key(), value))
        finally:
            self._consumer.close()

    @property
    def received(self) -> int:
        return len(self._raw)

    def arrivals(self) -> dict[int, float]:
        """First arrival time of each candid (decoded now, after the measurement)."""
        first: dict[int, float] = {}
        for arrived, key, value in self._raw:
            for alert in decode_message(value, key):
                first.setdefault(alert["candid"], arrived)
        self._raw.clear()
        return first


class CpuMeter:
    """Cores used by each process (CPU seconds of all its threads per wall second)."""

    def __init__(self, processes: dict[str, psutil.Process]):
        self._processes = processes
        self._start = time.perf_counter()
        self._cpu = {name: cpu_seconds(ps) for name, ps in processes.items()}

    def shares(self) -> dict[str, float]:
        wall = time.perf_counter() - self._start
        return {name: round((cpu_seconds(ps) - self._cpu[name]) / wall, 2)
                for name, ps in self._processes.items()}


def cpu_seconds(ps: psutil.Process) -> float:
    """User + system CPU seconds of a process, all its threads."""
    times = ps.cpu_times()
    return float(times.user + times.system)


def reference_loop_s() -> float:
    """CPU seconds of a fixed pure-Python loop (~0.25 s on this benchmark's VM when quiet).

    Run before and after the benchmark: on a shared or oversubscribed host the same work
    takes longer, which explains runs that differ for no reason in the code.
    """
    start, total = time.process_time(), 0
    for i in range(5_000_000):
        total += i * i % 7
    return round(time.process_time() - start, 3)


def latencies_ms(sent: dict[int, float], seen: dict[int, float],
                 candids: Iterator[int] | Sequence[int]) -> list[float]:
    """Milliseconds from produce to seen, for the ``candids`` that were seen."""
    return sorted((seen[c] - sent[c]) * 1000 for c in candids if c in seen and c in sent)


def p99_by_quarter(sent: dict[int, float], seen: dict[int, float],
                   candids: Sequence[int]) -> list[float]:
    """p99 of each quarter of the run (by produce order): flat if the pipeline keeps up,
    rising if it falls behind."""
    size = max(1, math.ceil(len(candids) / 4))
    return [round(percentile(latencies_ms(sent, seen, candids[i:i + size]), 99), 1)
            for i in range(0, len(candids), size)]


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (NaN when empty)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return float(sorted_values[rank - 1])


def latency_summary(values: Sequence[float]) -> dict[str, Any]:
    return {"p50_ms": round(percentile(values, 50), 1), "p99_ms": round(percentile(values, 99), 1),
            "max_ms": round(values[-1], 1) if values else float("nan")}


def produce_when_room(producer: Any, topic: str, value: bytes, wait_s: float) -> None:
    """Produce, serving delivery reports while the local queue is full."""
    while True:
        try:
            producer.produce(topic, value=value)
            break
        except BufferError:
            producer.poll(wait_s)
    producer.poll(0)
