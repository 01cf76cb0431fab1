"""``finkportal demo``: the whole cluster on embedded defaults with a replayed night.

Starts the embedded Kafka broker, every service as its own process (logs under
``<work_dir>/logs``), replays a night of alerts (the real ones when the data
directory exists, a synthetic night otherwise), prints where to look, and runs
until Ctrl-C, then stops every process it started.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import FrameType
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from finkportal_tools.broker import EmbeddedBroker
from finkportal_tools.processes import ServiceSpec, Supervisor
from finkportal_tools.settings import ToolsSettings

DEMO_TOPIC = "ztf_20181129_programid1"
DEAD_LETTER_TOPIC = "finkportal_ingest_dlq"


def service_specs(settings: ToolsSettings, bootstrap: str) -> list[ServiceSpec]:
    """Every service of the cluster with the embedded settings."""
    common = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "STORE_URL": settings.store_url}
    ingest = {f"FINK_INGEST_{k}": v for k, v in common.items()}
    ingest["FINK_INGEST_METRICS_PORT"] = str(settings.ingest_metrics_port)
    return [ServiceSpec("ingest", "finkportal_ingest", ingest)]


def metric_total(url: str, name: str) -> float:
    """Sum of a counter's samples on a Prometheus endpoint (0 when unreachable)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return 0.0
    return sum(sample.value for family in text_string_to_metric_families(text)
               if family.name == name for sample in family.samples
               if sample.name.endswith("_total"))


def replay_night(settings: ToolsSettings, bootstrap: str) -> int:
    """Replay the real alerts if present, else a synthetic night; return the count sent."""
    from finkportal_tools.replay import replay

    if (settings.data_dir / "alerts").is_dir():
        print(f"replaying the real alerts of {settings.data_dir}", flush=True)
        # Fink's added values are kept: this portal does not recompute Fink's science modules.
        summary = replay([settings.data_dir / "alerts"], None, bootstrap, DEMO_TOPIC,
                         keep_added_values=True)
    else:
        print(f"{settings.data_dir} absent: replaying a synthetic night of "
              f"{settings.synthetic_alerts} alerts", flush=True)
        summary = replay(None, settings.synthetic_alerts, bootstrap, DEMO_TOPIC,
                         seed=settings.seed)
    return int(summary.produced)


def wait_ingested(url: str, expected: int, stop: threading.Event,
                  timeout_s: float = 600) -> float:
    """Wait until ingest has stored or dead-lettered every replayed message."""
    deadline = time.monotonic() + timeout_s
    handled = 0.0
    while time.monotonic() < deadline and not stop.is_set():
        handled = (metric_total(url, "ingest_alerts_written")
                   + metric_total(url, "ingest_alerts_dead_lettered"))
        if handled >= expected:
            break
        stop.wait(0.5)
    return handled


def ingest_metrics_url(settings: ToolsSettings) -> str:
    return f"http://127.0.0.1:{settings.ingest_metrics_port}/metrics"


def print_where_to_look(settings: ToolsSettings, bootstrap: str, log_dir: Path) -> None:
    url = ingest_metrics_url(settings)
    written = metric_total(url, "ingest_alerts_written")
    dead = metric_total(url, "ingest_alerts_dead_lettered")
    print(f"""
finkportal demo is running
  Kafka (embedded Tansu):  {bootstrap}   nightly topic {DEMO_TOPIC}
  store:                   {settings.store_url}
  alerts written:          {written:.0f}   dead-lettered: {dead:.0f} (topic {DEAD_LETTER_TOPIC})
  ingest metrics:          {url}
  logs:                    {log_dir}/
  look at an object:       uv run finkportal show ZTF18acvqrrf --store-url {settings.store_url}
Press Ctrl-C to stop every process.""", flush=True)


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
    broker.create_topics([DEMO_TOPIC, DEAD_LETTER_TOPIC])
    for spec in service_specs(settings, broker.bootstrap_servers):
        supervisor.start(spec)
    sent = replay_night(settings, broker.bootstrap_servers)
    wait_ingested(ingest_metrics_url(settings), sent, stop)
    print_where_to_look(settings, broker.bootstrap_servers, log_dir)
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
