"""The real alerts through the real pipeline, and the query service over them.

``build_indexed_store``: broker, ingest and indexer processes store and index every real
alert; ``start_query_server`` runs ``python -m finkportal_query`` on a store. The session
fixtures of tests/conftest.py (``indexed_store``, ``query_server``) use them, so the query
and portal suites share one store and one service per session.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finkportal_core.storage import open_store
from finkportal_tools.broker import EmbeddedBroker
from finkportal_tools.replay import replay
from tests.conftest import free_port
from tests.indexer.conftest import make_pipeline, stop_all, wait_metric, wait_statistics_settled
from tests.indexer.snapshots import stored_alerts
from tests.support.http_process import stop_process, wait_http_healthy


@dataclass
class IndexedStore:
    """A store holding the real alerts, stored and indexed by the real services."""

    store_url: str
    alerts: list[dict[str, Any]]  # every stored alert, rebuilt from the main table


@dataclass
class QueryServer:
    """A running ``python -m finkportal_query`` process."""

    base_url: str
    store_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def build_indexed_store(broker: EmbeddedBroker, real_data_dir: Path, tmp: Path) -> IndexedStore:
    """Replay every real alert through ingest and indexer processes into a fresh store."""
    pipeline = make_pipeline(broker, tmp)
    try:
        ingest, indexer = pipeline.start_ingest(), pipeline.start_indexer(
            streams_enabled="false")
        sent = replay([real_data_dir / "alerts"], None, broker.bootstrap_servers,
                      pipeline.nightly_topic, keep_added_values=True).produced
        written = wait_metric(ingest, "ingest_alerts_written", sent)
        assert wait_metric(indexer, "indexer_alerts_indexed", written) == written > 2000
        wait_statistics_settled(pipeline)
    finally:
        stop_all(pipeline)
    store = open_store(pipeline.store_url)
    try:
        return IndexedStore(pipeline.store_url, stored_alerts(store))
    finally:
        store.close()


def start_query_server(store_url: str, log_path: Path, **settings: str) -> QueryServer:
    """Start the service and wait until /health answers."""
    port = free_port()
    env = {"FINK_QUERY_STORE_URL": store_url, "FINK_QUERY_PORT": str(port),
           "FINK_QUERY_LOG_LEVEL": "INFO",
           **{f"FINK_QUERY_{name.upper()}": value for name, value in settings.items()}}
    with open(log_path, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "finkportal_query"],
                                   env={**os.environ, **env}, stdout=log,
                                   stderr=subprocess.STDOUT)
    server = QueryServer(f"http://127.0.0.1:{port}", store_url, process, log_path)
    wait_healthy(server)
    return server


def wait_healthy(server: QueryServer, timeout_s: float = 60) -> None:
    wait_http_healthy(server.process, f"{server.base_url}/health", server.log, "query service",
                      timeout_s)


def stop_query_server(server: QueryServer) -> int:
    return stop_process(server.process)
