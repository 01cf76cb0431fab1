"""Run the real ingest service as an OS process against the session broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from finkportal_core.storage import open_store
from finkportal_core.storage.base import Store, TableNotFoundError
from finkportal_core.tables import MAIN_TABLE
from finkportal_tools.broker import EmbeddedBroker
from tests.conftest import free_port


class ServiceProcess:
    """One ``python -m <module>`` service process with its own log file."""

    def __init__(self, env: dict[str, str], log_path: Path, module: str = "finkportal_ingest"):
        self.env = env
        self.log_path = log_path
        self.module = module
        prefix = "FINK_" + module.removeprefix("finkportal_").upper()
        self.metrics_port = int(env[f"{prefix}_METRICS_PORT"])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", self.module],
                                            env={**os.environ, **self.env},
                                            stdout=log, stderr=subprocess.STDOUT)
        return self

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float = 30) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


IngestProcess = ServiceProcess


@pytest.fixture
def topic() -> str:
    """A fresh nightly-style topic per test, matched only by that test's pattern."""
    return f"ztf_{uuid.uuid4().hex[:10]}_programid1"


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:{tmp_path / 'store'}"


@pytest.fixture
def ingest_factory(
    broker: EmbeddedBroker, tmp_path: Path, store_url: str, topic: str
) -> Iterator[Callable[..., IngestProcess]]:
    started: list[IngestProcess] = []
    group = f"ingest-{uuid.uuid4().hex[:8]}"

    def make(**overrides: str) -> IngestProcess:
        env = {
            "FINK_INGEST_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "FINK_INGEST_STORE_URL": store_url,
            "FINK_INGEST_TOPIC_PATTERN": f"^{topic}$",
            "FINK_INGEST_GROUP_ID": group,
            "FINK_INGEST_DEAD_LETTER_TOPIC": f"{topic}_dlq",
            "FINK_INGEST_METRICS_PORT": str(free_port()),
            "FINK_INGEST_BATCH_TIMEOUT_S": "0.2",
            "FINK_INGEST_LOG_LEVEL": "INFO",
        }
        env.update({f"FINK_INGEST_{k.upper()}": v for k, v in overrides.items()})
        process = IngestProcess(env, tmp_path / f"ingest-{len(started)}.log").start()
        started.append(process)
        return process

    yield make
    for process in started:
        process.stop()


def row_count(store: Store, table: str = MAIN_TABLE) -> int:
    """Rows of ``table`` (the main table and the index tables all have ``i:candid``)."""
    try:
        return sum(1 for _ in store.table(table).scan(columns=[b"i:candid"]))
    except TableNotFoundError:
        return 0


def stored_row_count(store_url: str, table: str = MAIN_TABLE) -> int:
    store = open_store(store_url)
    try:
        return row_count(store, table)
    finally:
        store.close()


def wait_for_rows(store_url: str, expected: int, timeout_s: float = 120,
                  process: ServiceProcess | None = None, table: str = MAIN_TABLE) -> int:
    """Poll the store until ``table`` holds ``expected`` rows (or time runs out)."""
    deadline = time.monotonic() + timeout_s
    count = 0
    while time.monotonic() < deadline:
        count = stored_row_count(store_url, table)
        if count >= expected:
            return count
        if process and process.process and process.process.poll() is not None:
            raise AssertionError(f"{process.module} exited early:\n{process.log()[-3000:]}")
        time.sleep(0.3)
    return count
