"""The real pipeline for indexer tests: broker, ingest and indexer processes, one store."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from finkportal_core.storage import open_store
from finkportal_indexer.statistics import PENDING_TABLE
from finkportal_tools.broker import EmbeddedBroker
from finkportal_tools.demo import metric_total
from tests.conftest import free_port
from tests.ingest.conftest import ServiceProcess


@dataclass
class Pipeline:
    """Names and processes of one isolated pipeline on the session broker."""

    broker: EmbeddedBroker
    tmp: Path
    nightly_topic: str
    index_topic: str
    stream_prefix: str
    store_url: str
    indexer_group: str
    processes: list[ServiceProcess] = field(default_factory=list)

    def start_ingest(self, **overrides: str) -> ServiceProcess:
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap_servers,
            "STORE_URL": self.store_url,
            "TOPIC_PATTERN": f"^{self.nightly_topic}$",
            "GROUP_ID": f"ingest-{self.nightly_topic}",
            "DEAD_LETTER_TOPIC": f"{self.nightly_topic}_dlq",
            "INDEX_TOPIC": self.index_topic,
            "METRICS_PORT": str(free_port()),
            **{k.upper(): v for k, v in overrides.items()},
        }
        return self._start("finkportal_ingest", "FINK_INGEST_", env)

    def start_indexer(self, **overrides: str) -> ServiceProcess:
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap_servers,
            "STORE_URL": self.store_url,
            "INDEX_TOPIC": self.index_topic,
            "GROUP_ID": self.indexer_group,
            "DEAD_LETTER_TOPIC": f"{self.index_topic}_dlq",
            "STREAM_TOPIC_PREFIX": self.stream_prefix,
            "STATISTICS_INTERVAL_S": "0.5",
            "METRICS_PORT": str(free_port()),
            **{k.upper(): v for k, v in overrides.items()},
        }
        return self._start("finkportal_indexer", "FINK_INDEXER_", env)

    def _start(self, module: str, prefix: str, env: dict[str, str]) -> ServiceProcess:
        full = {f"{prefix}{k}": v for k, v in env.items()}
        full[f"{prefix}LOG_LEVEL"] = "INFO"
        log = self.tmp / f"{module}-{len(self.processes)}.log"
        process = ServiceProcess(full, log, module).start()
        self.processes.append(process)
        return process

    def stream_topic(self, filter_name: str) -> str:
        return f"{self.stream_prefix}fink_{filter_name}_ztf"


def metrics_url(process: ServiceProcess) -> str:
    return f"http://127.0.0.1:{process.metrics_port}/metrics"


def wait_metric(process: ServiceProcess, name: str, expected: float,
                timeout_s: float = 180) -> float:
    """Poll a counter of a running service until it reaches ``expected``."""
    deadline = time.monotonic() + timeout_s
    value = 0.0
    while time.monotonic() < deadline:
        value = metric_total(metrics_url(process), name)
        if value >= expected:
            return value
        if process.process is not None and process.process.poll() is not None:
            raise AssertionError(f"{process.module} exited:\n{process.log()[-3000:]}")
        time.sleep(0.3)
    return value


def wait_statistics_settled(pipeline: Pipeline, timeout_s: float = 60) -> None:
    """Wait until no night is waiting for a statistics recount."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        store = open_store(pipeline.store_url)
        try:
            if not list(store.table(PENDING_TABLE).scan(limit=1)):
                return
        finally:
            store.close()
        time.sleep(0.2)
    raise AssertionError("statistics recount did not settle")


def make_pipeline(broker: EmbeddedBroker, tmp: Path) -> Pipeline:
    """Fresh topic names, consumer groups and store: nothing shared with other tests."""
    run = uuid.uuid4().hex[:8]
    return Pipeline(broker, tmp, f"ztf_{run}_programid1", f"stored_{run}", f"t{run}.",
                    f"sqlite:{tmp / 'store'}", f"indexer-{run}")


def stop_all(pipeline: Pipeline) -> None:
    for process in pipeline.processes:
        process.stop()


@pytest.fixture
def pipeline(broker: EmbeddedBroker, tmp_path: Path) -> Iterator[Pipeline]:
    made = make_pipeline(broker, tmp_path)
    yield made
    stop_all(made)
