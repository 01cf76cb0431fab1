"""Session fixtures: real processes started once per session."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from finkportal_tools.broker import EmbeddedBroker
from tests.support.fink_client import shorten_group_join
from tests.support.hbase_process import HBaseDouble

if TYPE_CHECKING:
    from tests.support.real_store import IndexedStore, QueryServer

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The real ZTF alerts (``FINK_TEST_DATA_DIR``, default ``../shared/data``)."""
    path = Path(os.environ.get("FINK_TEST_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
    if not (path / "alerts").is_dir():
        pytest.skip(f"real alert directory {path} is absent")
    return path


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """One real Tansu broker for the whole session on a free loopback port."""
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(port=free_port(), log_path=log) as running:
        yield running


@pytest.fixture(scope="session")
def hbase_double() -> Iterator[HBaseDouble]:
    """One HBase Thrift double process (happybase's own Hbase.thrift) for the session."""
    with HBaseDouble() as double:
        yield double


@pytest.fixture
def quick_group_join(monkeypatch: pytest.MonkeyPatch) -> None:
    """fink-client with a short poll interval, so Tansu lets it join at once."""
    shorten_group_join(monkeypatch)


@pytest.fixture(scope="session")
def indexed_store(broker: EmbeddedBroker, real_data_dir: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> IndexedStore:
    """Every real alert, stored and indexed by the real ingest and indexer processes."""
    # Imported here: real_store imports this module (free_port) through the indexer's helpers.
    from tests.support.real_store import build_indexed_store

    return build_indexed_store(broker, real_data_dir, tmp_path_factory.mktemp("query-store"))


@pytest.fixture(scope="session")
def query_server(indexed_store: IndexedStore,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueryServer]:
    """``python -m finkportal_query`` on the real store (shared by the query and portal tests)."""
    from tests.support.real_store import start_query_server, stop_query_server

    server = start_query_server(indexed_store.store_url,
                                tmp_path_factory.mktemp("query") / "query.log")
    yield server
    stop_query_server(server)
