"""Replay alerts to Kafka as ZTF streams them: one Avro container per message.

Two sources:

- real files (directories, ``.avro`` packets or Spark Avro, Parquet, nightly
  ``.tar.gz``): every alert is read once, encoded once and spooled to a
  temporary file while an index ``(jd, candid) -> offset`` is kept in memory;
  duplicates (same ``candid``) keep the copy with cutouts, else the first seen;
  the index is sorted by ``candidate.jd`` so a night replays in time order.
- a synthetic night of any size from a seed (already in time order), streamed.

Broker added values (Fink's ``cdsxmatch``...) are dropped unless asked for: ZTF
does not send them. Topics are named like ZTF's (``ztf_YYYYMMDD_programid1``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any, TextIO

from confluent_kafka import KafkaError, Message, Producer

from finkportal_core.alerts import (
    CUTOUT_FIELDS,
    Alert,
    InvalidAlertError,
    UnsupportedAlertFileError,
    alert_files,
    iter_alert_files,
    validate_alert,
)
from finkportal_core.kafka import MAX_MESSAGE_BYTES
from finkportal_tools.broker import create_topics
from finkportal_tools.sim.night import NightConfig
from finkportal_tools.sim.parallel import encoded_night, ztf_wire_message
from finkportal_tools.sim.records import jd_to_date

PRODUCER_DEFAULTS: Mapping[str, Any] = {
    "linger.ms": 20,
    # Cutouts are gzipped FITS already: compressing again costs CPU for ~nothing.
    "compression.type": "none",
    "message.max.bytes": MAX_MESSAGE_BYTES,
    "batch.size": 4 * 1024 * 1024,
    "queue.buffering.max.kbytes": 512 * 1024,
    "queue.buffering.max.messages": 200_000,
    "acks": "all",
}


class ReplayError(RuntimeError):
    """The replay could not start (topic creation failed...); the message says why."""


def ztf_topic(night: date, program_id: int = 1) -> str:
    """ZTF's public topic name for a night: ``ztf_YYYYMMDD_programid1``."""
    return f"ztf_{night:%Y%m%d}_programid{program_id}"


@dataclass
class ReplaySummary:
    topic: str
    produced: int = 0  # delivered to the broker
    failed: int = 0  # delivery errors (and messages still queued after the final flush)
    bytes: int = 0  # delivered message bytes
    seconds: float = 0.0
    duplicates: int = 0  # alerts dropped because their candid was already replayed
    invalid: int = 0  # alerts without objectId/candid/jd, not replayed
    skipped_files: int = 0  # unreadable files found while scanning directories

    @property
    def rate(self) -> float:
        return self.produced / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        return (f"{self.produced} alerts ({self.bytes / 1e6:.1f} MB) to {self.topic} in "
                f"{self.seconds:.1f} s ({self.rate:.0f} alerts/s); failed {self.failed}, "
                f"duplicates {self.duplicates}, invalid {self.invalid}, "
                f"skipped files {self.skipped_files}")


# --- real files: read once, spool, sort -------------------------------------------


@dataclass(frozen=True)
class _Spooled:
    jd: float
    candid: int
    offset: int
    length: int
    has_cutouts: bool


def _iter_sources(
    sources: Iterable[Path], summary: ReplaySummary, warn: Callable[[str], None],
) -> Iterator[Alert]:
    """Alerts of every source; unreadable files inside directories are skipped."""
    for source in sources:
        source = Path(source)
        if not source.exists():
            raise FileNotFoundError(f"alert source {source} does not exist")
        if not source.is_dir():
            yield from iter_alert_files(source)
            continue
        for file in alert_files(source):
            try:
                yield from iter_alert_files(file)
            except UnsupportedAlertFileError as exc:
                summary.skipped_files += 1
                warn(f"skipping {exc}")


def _spool(alerts: Iterable[Alert], spool: IO[bytes], summary: ReplaySummary,
           keep_added_values: bool) -> list[_Spooled]:
    """Encode each distinct alert to ``spool``; returns the index sorted by (jd, candid)."""
    chosen: dict[int, _Spooled] = {}
    for alert in alerts:
        try:
            validate_alert(alert)
        except InvalidAlertError:
            summary.invalid += 1
            continue
        has_cutouts = any(alert.get(name) for name in CUTOUT_FIELDS)
        previous = chosen.get(alert["candid"])
        if previous is not None:
            summary.duplicates += 1
            if previous.has_cutouts or not has_cutouts:
                continue
        value = ztf_wire_message(alert, keep_added_values)
        offset = spool.seek(0, 2)
        spool.write(value)
        jd = float(alert["candidate"]["jd"])
        chosen[alert["candid"]] = _Spooled(jd, alert["candid"], offset, len(value), has_cutouts)
    return sorted(chosen.values(), key=lambda s: (s.jd, s.candid))


def _read_spooled(index: list[_Spooled], spool: IO[bytes]) -> Iterator[bytes]:
    for entry in index:
        spool.seek(entry.offset)
        yield spool.read(entry.length)


# --- producing --------------------------------------------------------------------


class _Delivery:
    """Counts delivery reports."""

    def __init__(self, summary: ReplaySummary, warn: Callable[[str], None]):
        self.summary = summary
        self.warn = warn
        self.first_error: str | None = None

    def __call__(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self.summary.failed += 1
            if self.first_error is None:
                self.first_error = str(error)
                self.warn(f"delivery failed: {error}")
            return
        self.summary.produced += 1
        self.summary.bytes += len(message.value() or b"")


class _Progress:
    """A status line on stderr every ``interval`` seconds: count, rate and ETA."""

    def __init__(self, total: int, stream: TextIO | None, interval: float):
        self.total, self.stream, self.interval = total, stream, interval
        self.start = self.last = time.monotonic()

    def update(self, sent: int, final: bool = False) -> None:
        now = time.monotonic()
        if self.stream is None or (not final and now - self.last < self.interval):
            return
        self.last = now
        rate = sent / max(now - self.start, 1e-9)
        eta = (self.total - sent) / rate if rate > 0 else float("inf")
        self.stream.write(f"replay: {sent}/{self.total} alerts, {rate:.0f}/s, ETA {eta:.0f} s\n")
        self.stream.flush()


def _produce_all(
    producer: Producer, topic: str, values: Iterable[bytes], total: int,
    rate: float | None, delivery: _Delivery, progress: _Progress,
) -> int:
    """Send every value (honouring ``rate`` alerts/s); returns how many were queued."""
    start, sent = time.monotonic(), 0
    for value in values:
        if rate:
            ahead = start + sent / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        _produce_one(producer, topic, value, delivery)
        sent += 1
        producer.poll(0)
        progress.update(sent)
    return sent


def _produce_one(producer: Producer, topic: str, value: bytes, delivery: _Delivery) -> None:
    while True:
        try:
            producer.produce(topic, value, on_delivery=delivery)
            return
        except BufferError:  # local queue full: let deliveries drain it
            producer.poll(0.1)


def _flush(producer: Producer, summary: ReplaySummary, timeout_s: float) -> None:
    remaining = producer.flush(timeout_s)
    if remaining:
        summary.failed += remaining


def _limited(values: Iterable[bytes], limit: int | None) -> Iterator[bytes]:
    for count, value in enumerate(values):
        if limit is not None and count >= limit:
            return
        yield value


def _stderr_warn(message: str) -> None:
    print(f"replay: {message}", file=sys.stderr)


def replay(
    sources: list[Path] | None,
    synthetic: int | None,
    bootstrap_servers: str,
    topic: str | None = None,
    *,
    seed: int = 0,
    night: date | None = None,
    rate: float | None = None,
    limit: int | None = None,
    cutouts: bool = True,
    keep_added_values: bool = False,
    workers: int = 1,
    partitions: int = 1,
    create_topic: bool = True,
    producer_config: Mapping[str, Any] | None = None,
    progress: TextIO | None = sys.stderr,
    progress_interval: float = 5.0,
    flush_timeout: float = 120.0,
    spool_dir: Path | None = None,
) -> ReplaySummary:
    """Produce real alerts (``sources``) or a synthetic night (``synthetic`` alerts).

    ``topic`` defaults to ``ztf_YYYYMMDD_programid1`` of ``night`` (for real files:
    of the earliest alert). The topic is created when missing (``create_topic``).
    ``workers`` > 1 builds synthetic alerts in that many processes.
    ``producer_config`` adds to or overrides the producer settings (security...).
    """
    if (sources is None) == (synthetic is None):
        raise ValueError("give either sources (real alert files) or synthetic (a count)")
    if rate is not None and rate <= 0:
        raise ValueError(f"rate must be positive alerts/s, got {rate}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    config = {**PRODUCER_DEFAULTS, **(producer_config or {}),
              "bootstrap.servers": bootstrap_servers}
    run = _Run(config, rate, limit, partitions if create_topic else 0, progress,
               progress_interval, flush_timeout)
    if synthetic is not None:
        night = night or date.today()
        night_config = NightConfig(n_alerts=synthetic, seed=seed, night=night, cutouts=cutouts,
                                   fink_values=keep_added_values)
        values = (e.value for e in encoded_night(night_config, keep_added_values, workers))
        total = synthetic if limit is None else min(synthetic, limit)
        return run.send(topic or ztf_topic(night), values, total, ReplaySummary(""))
    with tempfile.TemporaryFile(dir=spool_dir) as spool:
        summary = ReplaySummary("")
        index = _spool(_iter_sources(sources or [], summary, _stderr_warn), spool, summary,
                       keep_added_values)
        if topic is None:
            topic = ztf_topic(night or (jd_to_date(index[0].jd) if index else date.today()))
        total = len(index) if limit is None else min(len(index), limit)
        return run.send(topic, _read_spooled(index, spool), total, summary)


@dataclass
class _Run:
    config: dict[str, Any]
    rate: float | None
    limit: int | None
    partitions: int  # of the topic to create; 0: do not create it
    progress: TextIO | None
    progress_interval: float
    flush_timeout: float

    def send(self, topic: str, values: Iterable[bytes], total: int,
             summary: ReplaySummary) -> ReplaySummary:
        summary.topic = topic
        if self.partitions:
            self._create(topic)
        producer = Producer(self.config)
        delivery = _Delivery(summary, _stderr_warn)
        progress = _Progress(total, self.progress, self.progress_interval)
        start = time.monotonic()
        sent = _produce_all(producer, topic, _limited(values, self.limit), total, self.rate,
                            delivery, progress)
        _flush(producer, summary, self.flush_timeout)
        summary.seconds = time.monotonic() - start
        progress.update(sent, final=True)
        return summary

    def _create(self, topic: str) -> None:
        servers = self.config["bootstrap.servers"]
        try:
            create_topics(servers, [topic], self.partitions)
        except Exception as exc:  # KafkaException, RuntimeError...: one clear message
            raise ReplayError(f"cannot create topic {topic} on {servers}: {exc}") from exc


# --- command line -------------------------------------------------------------------


def add_replay_parser(subparsers: Any) -> argparse.ArgumentParser:
    """``replay``: send real alert files or a synthetic night to a Kafka topic."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "replay", help="replay real or synthetic ZTF alerts to Kafka",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="*", type=Path,
                        help="alert files or directories (.avro, .parquet, .tar.gz)")
    parser.add_argument("--synthetic", type=int, metavar="N",
                        help="replay N synthetic alerts instead of files")
    parser.add_argument("--seed", type=int, default=0, help="synthetic night seed")
    parser.add_argument("--night", type=date.fromisoformat, help="YYYY-MM-DD (synthetic, topic)")
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    parser.add_argument("--topic", help="default: ztf_YYYYMMDD_programid1 of the night")
    parser.add_argument("--partitions", type=int, default=1, help="when creating the topic")
    parser.add_argument("--no-create-topic", dest="create_topic", action="store_false",
                        help="the topic exists already (no admin rights needed)")
    parser.add_argument("--rate", type=float, help="alerts per second (default: unlimited)")
    parser.add_argument("--limit", type=int, help="send at most this many alerts")
    parser.add_argument("--no-cutouts", dest="cutouts", action="store_false",
                        help="synthetic alerts without cutouts")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes building synthetic alerts (default 1)")
    parser.add_argument("--keep-added-values", action="store_true",
                        help="keep broker added values (Fink's) in the messages")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(func=run_replay_command)
    return parser


def run_replay_command(args: argparse.Namespace) -> int:
    """Handler of ``replay``: 0 when every alert was delivered, 1 otherwise, 2 on bad use."""
    if bool(args.sources) == (args.synthetic is not None):
        print("replay: give alert files/directories or --synthetic N (not both)", file=sys.stderr)
        return 2
    try:
        summary = replay(
            args.sources or None, args.synthetic, args.bootstrap_servers, args.topic,
            seed=args.seed, night=args.night, rate=args.rate, limit=args.limit,
            cutouts=args.cutouts, keep_added_values=args.keep_added_values, workers=args.workers,
            partitions=args.partitions, create_topic=args.create_topic,
            progress=None if args.quiet else sys.stderr)
    except (ValueError, OSError, ReplayError) as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2
    print(summary.describe(), file=sys.stderr)
    return 0 if summary.failed == 0 else 1
