"""``finkportal demo``: the whole cluster on embedded defaults with a replayed night.

Starts the embedded Kafka broker, every service as its own process (logs under
``<work_dir>/logs``), waits until the query API, the fitter and the portal answer
``/health``, replays a night of alerts (the real ones when the data directory exists, a
synthetic night otherwise), waits until ingest has stored it and the indexer has indexed
and streamed it, prints where to look (with example API calls, an example fit and portal
pages on the night), and runs until Ctrl-C, then stops every process it started.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from finkportal_core.filters import STREAM_FILTERS
from finkportal_tools.broker import EmbeddedBroker
from finkportal_tools.demo_api import api_base_url, api_lines, example_object, wait_healthy
from finkportal_tools.demo_fitter import fitter_lines
from finkportal_tools.demo_portal import PORTAL_START_TIMEOUT_S, portal_env, portal_lines
from finkportal_tools.processes import ServiceSpec, Supervisor
from finkportal_tools.settings import ToolsSettings

DEMO_TOPIC = "ztf_20181129_programid1"
DEAD_LETTER_TOPIC = "finkportal_ingest_dlq"
# The indexer's defaults (FINK_INDEXER_INDEX_TOPIC, _DEAD_LETTER_TOPIC, _GROUP_ID): the
# topics are created up front, as in production, where no topic is auto-created.
INDEX_TOPIC = "finkportal_alerts_stored"
INDEXER_DEAD_LETTER_TOPIC = "finkportal_indexer_dlq"
INDEXER_GROUP = "finkportal-indexer"
STREAM_TOPICS = tuple(f.topic for f in STREAM_FILTERS)
# The fitter's defaults (FINK_FITTER_REQUEST_TOPIC, _DEAD_LETTER_TOPIC): batch fit requests.
FIT_REQUEST_TOPIC = "finkportal_fit_requests"
FIT_DEAD_LETTER_TOPIC = "finkportal_fit_requests_dlq"
# Supervisor.stop_all waits 20 s: running fits get less than the service's 30 s default.
FITTER_SHUTDOWN_GRACE_S = "5"
# The fitter's fork server imports gatspy and pyLIMA before /health says ok.
FITTER_START_TIMEOUT_S = 180.0


def service_specs(settings: ToolsSettings, bootstrap: str) -> list[ServiceSpec]:
    """Every service of the cluster with the embedded settings."""
    common = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "STORE_URL": settings.store_url}
    ingest = {f"FINK_INGEST_{k}": v for k, v in common.items()}
    ingest["FINK_INGEST_METRICS_PORT"] = str(settings.ingest_metrics_port)
    indexer = {f"FINK_INDEXER_{k}": v for k, v in common.items()}
    indexer["FINK_INDEXER_METRICS_PORT"] = str(settings.indexer_metrics_port)
    # The API reads the same store; it talks to no Kafka.
    query = {"FINK_QUERY_STORE_URL": settings.store_url,
             "FINK_QUERY_PORT": str(settings.query_port)}
    # The fitter reads the same store (and writes its cache table there) and consumes
    # batch fit requests from the same broker.
    fitter = {f"FINK_FITTER_{k}": v for k, v in common.items()}
    fitter.update(FINK_FITTER_PORT=str(settings.fitter_port),
                  FINK_FITTER_SHUTDOWN_GRACE_S=FITTER_SHUTDOWN_GRACE_S)
    # The portal reads through the API and asks the fitter for fits: no store, no Kafka.
    portal = portal_env(settings.portal_port, settings.query_port, settings.fitter_port)
    return [ServiceSpec("ingest", "finkportal_ingest", ingest),
            ServiceSpec("indexer", "finkportal_indexer", indexer),
            ServiceSpec("query", "finkportal_query", query),
            ServiceSpec("fitter", "finkportal_fitter", fitter),
            ServiceSpec("portal", "finkportal_portal", portal)]


def counter_samples(url: str, name: str) -> list[Sample]:
    """The ``_total`` samples of a counter on a Prometheus endpoint (none when unreachable)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return []
    return [sample for family in text_string_to_metric_families(text)
            if family.name == name for sample in family.samples
            if sample.name.endswith("_total")]


def metric_total(url: str, name: str) -> float:
    """Sum of a counter's samples on a Prometheus endpoint (0 when unreachable)."""
    return sum(sample.value for sample in counter_samples(url, name))


def metric_by_label(url: str, name: str, label: str) -> dict[str, float]:
    """A counter's value per value of one of its labels (e.g. stream messages per topic)."""
    totals: dict[str, float] = {}
    for sample in counter_samples(url, name):
        key = sample.labels.get(label, "")
        totals[key] = totals.get(key, 0.0) + sample.value
    return totals


def replay_night(settings: ToolsSettings, bootstrap: str) -> int:
    """Replay the real alerts if present, else a synthetic night; return the count sent."""
    from finkportal_tools.replay import replay

    # Fink's added values are kept (and simulated for a synthetic night): this portal does
    # not recompute Fink's science modules, and without them no alert has a Fink class,
    # so no live stream would get a message.
    if (settings.data_dir / "alerts").is_dir():
        print(f"replaying the real alerts of {settings.data_dir}", flush=True)
        summary = replay([settings.data_dir / "alerts"], None, bootstrap, DEMO_TOPIC,
                         keep_added_values=True)
    else:
        print(f"{settings.data_dir} absent: replaying a synthetic night of "
              f"{settings.synthetic_alerts} alerts", flush=True)
        summary = replay(None, settings.synthetic_alerts, bootstrap, DEMO_TOPIC,
                         seed=settings.seed, keep_added_values=True)
    return int(summary.produced)


def wait_counter(read: Callable[[], float], expected: float, stop: threading.Event,
                 timeout_s: float) -> float:
    """Poll ``read`` until it reaches ``expected``, the timeout or a stop; return the last value."""
    deadline = time.monotonic() + timeout_s
    value = 0.0
    while time.monotonic() < deadline and not stop.is_set():
        value = read()
        if value >= expected:
            break
        stop.wait(0.5)
    return value


def wait_ingested(url: str, expected: int, stop: threading.Event,
                  timeout_s: float = 600) -> float:
    """Wait until ingest has stored or dead-lettered every replayed message."""
    return wait_counter(lambda: metric_total(url, "ingest_alerts_written")
                        + metric_total(url, "ingest_alerts_dead_lettered"),
                        expected, stop, timeout_s)


def wait_indexed(url: str, written: float, stop: threading.Event,
                 timeout_s: float = 600) -> float:
    """Wait until the indexer has indexed (or dead-lettered) every alert ingest stored."""
    return wait_counter(lambda: metric_total(url, "indexer_alerts_indexed")
                        + metric_total(url, "indexer_records_dead_lettered"),
                        written, stop, timeout_s)


def wait_committed(bootstrap: str, stop: threading.Event, timeout_s: float = 60) -> bool:
    """Wait until the indexer group has committed the whole index topic.

    The indexer counts an alert as indexed before it publishes the batch's stream
    messages, but commits only once the broker has them: after this, the
    per-topic stream counters are final. Reads offsets without joining the group.
    """
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": INDEXER_GROUP,
                         "enable.auto.commit": False})
    try:
        topic = consumer.list_topics(INDEX_TOPIC, timeout=10).topics[INDEX_TOPIC]
        partitions = [TopicPartition(INDEX_TOPIC, p) for p in topic.partitions]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not stop.is_set():
            if all(_committed_to_end(consumer, partition) for partition in partitions):
                return True
            stop.wait(0.5)
        return False
    finally:
        consumer.close()


def _committed_to_end(consumer: Consumer, partition: TopicPartition) -> bool:
    _, end = consumer.get_watermark_offsets(partition, timeout=5)
    (committed,) = consumer.committed([partition], timeout=5)
    return bool(end == 0 or committed.offset >= end)


def ingest_metrics_url(settings: ToolsSettings) -> str:
    return f"http://127.0.0.1:{settings.ingest_metrics_port}/metrics"


def indexer_metrics_url(settings: ToolsSettings) -> str:
    return f"http://127.0.0.1:{settings.indexer_metrics_port}/metrics"


def print_where_to_look(settings: ToolsSettings, bootstrap: str, log_dir: Path,
                        stop: threading.Event) -> None:
    url = ingest_metrics_url(settings)
    written = metric_total(url, "ingest_alerts_written")
    dead = metric_total(url, "ingest_alerts_dead_lettered")
    example = example_object(settings.store_url)
    object_id = example.object_id if example else "ZTF18acvqrrf"
    print(f"""
finkportal demo is running
  Kafka (embedded Tansu):  {bootstrap}   nightly topic {DEMO_TOPIC}
  store:                   {settings.store_url}
  alerts written:          {written:.0f}   dead-lettered: {dead:.0f} (topic {DEAD_LETTER_TOPIC})
  ingest metrics:          {url}
{indexer_lines(indexer_metrics_url(settings), bootstrap)}
{api_lines(api_base_url(settings.query_port), example)}
{fitter_lines(api_base_url(settings.fitter_port), example, stop)}
{portal_lines(api_base_url(settings.portal_port), example)}
  logs:                    {log_dir}/
  look at an object:       uv run finkportal show {object_id} --store-url {settings.store_url}
Press Ctrl-C to stop every process.""", flush=True)


def indexer_lines(url: str, bootstrap: str) -> str:
    """The indexer's part of "where to look": its counts, every stream and how to read one."""
    indexed = metric_total(url, "indexer_alerts_indexed")
    dead = metric_total(url, "indexer_records_dead_lettered")
    streamed = metric_by_label(url, "indexer_stream_messages", "topic")
    lines = [f"  alerts indexed:          {indexed:.0f}   dead-lettered: {dead:.0f} "
             f"(topic {INDEXER_DEAD_LETTER_TOPIC})",
             f"  indexer metrics:         {url}",
             "  live streams:            messages per topic (indexer_stream_messages)"]
    lines += [f"    {topic:<36} {streamed.get(topic, 0.0):.0f}" for topic in STREAM_TOPICS]
    lines.append(fink_client_hint(bootstrap, streamed))
    return "\n".join(lines)


def fink_client_hint(bootstrap: str, streamed: dict[str, float]) -> str:
    """A command reading the first alert of the busiest stream with Fink's own client."""
    topic = max(STREAM_TOPICS, key=lambda name: streamed.get(name, 0.0))
    config = f'{{"bootstrap.servers": "{bootstrap}", "group.id": "demo-reader"}}'
    code = (f'from fink_client.consumer import AlertConsumer as C; '
            f'c = C(["{topic}"], {config}, survey="ztf"); t, a, _ = c.poll(60); '
            f'print(t, a and (a["objectId"], a["candid"], a["finkclass"])); c.close()')
    return (f"  read a stream with fink-client (its group join takes ~25 s on this broker):\n"
            f"    uv run python -c '{code}'")


def run_demo(settings: ToolsSettings) -> int:
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    work = settings.work_dir
    shutil.rmtree(work / "store", ignore_errors=True)  # a fresh night each run
    log_dir = work / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    broker = EmbeddedBroker(settings.kafka_host, settings.kafka_port, log_dir / "kafka.log")
    supervisor = Supervisor(log_dir)
    try:
        return _run_cluster(settings, broker, supervisor, stop, log_dir)
    finally:
        print("stopping every process...", flush=True)
        supervisor.stop_all()
        broker.stop()
        print("stopped.", flush=True)


def _run_cluster(settings: ToolsSettings, broker: EmbeddedBroker, supervisor: Supervisor,
                 stop: threading.Event, log_dir: Path) -> int:
    broker.start()
    broker.create_topics([DEMO_TOPIC, DEAD_LETTER_TOPIC, INDEX_TOPIC,
                          INDEXER_DEAD_LETTER_TOPIC, *STREAM_TOPICS, FIT_REQUEST_TOPIC,
                          FIT_DEAD_LETTER_TOPIC])
    if not start_services(settings, broker.bootstrap_servers, supervisor, stop, log_dir):
        return 0 if stop.is_set() else 1
    sent = replay_night(settings, broker.bootstrap_servers)
    wait_ingested(ingest_metrics_url(settings), sent, stop)
    written = metric_total(ingest_metrics_url(settings), "ingest_alerts_written")
    wait_indexed(indexer_metrics_url(settings), written, stop)
    wait_committed(broker.bootstrap_servers, stop)
    print_where_to_look(settings, broker.bootstrap_servers, log_dir, stop)
    return run_until_stopped(supervisor, stop, log_dir)


def start_services(settings: ToolsSettings, bootstrap: str, supervisor: Supervisor,
                   stop: threading.Event, log_dir: Path) -> bool:
    """Start every service; True once the query API, the fitter and the portal answer
    (before any alert is sent)."""
    for spec in service_specs(settings, bootstrap):
        supervisor.start(spec)
    http_services = [("query", settings.query_port, 90.0),
                     ("fitter", settings.fitter_port, FITTER_START_TIMEOUT_S),
                     ("portal", settings.portal_port, PORTAL_START_TIMEOUT_S)]
    for name, port, timeout_s in http_services:
        if not wait_healthy(api_base_url(port), stop, lambda: bool(supervisor.dead()),
                            timeout_s):
            if not stop.is_set():
                print(f"the {name} service did not answer /health (exited: "
                      f"{supervisor.dead()}); see {log_dir}/{name}.log", file=sys.stderr)
            return False
    return True


def run_until_stopped(supervisor: Supervisor, stop: threading.Event, log_dir: Path) -> int:
    """Wait for Ctrl-C (exit 0), or for a service to die (exit 1)."""
    while not stop.is_set():
        if dead := supervisor.dead():
            print(f"a service exited: {dead}; see {log_dir}", file=sys.stderr)
            return 1
        stop.wait(1.0)
    return 0


def add_demo_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="run the whole cluster with a replayed night")
    parser.set_defaults(func=_run)


def _run(_args: argparse.Namespace) -> int:
    return run_demo(ToolsSettings())
