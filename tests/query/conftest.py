"""The query service over the real alerts.

The session fixtures ``indexed_store`` and ``query_server`` (tests/conftest.py, built by
tests/support/real_store.py) store and index every real alert with the real pipeline, then
run the query service as its own process on that store. Tests talk to it over HTTP on
loopback.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.real_store import (
    IndexedStore,
    QueryServer,
    start_query_server,
    stop_query_server,
)

# The query tests import these names from here.
__all__ = ["IndexedStore", "QueryServer", "start_query_server", "stop_query_server"]


@pytest.fixture(scope="session")
def api(query_server: QueryServer) -> Iterator[httpx.Client]:
    """An HTTP client on the service's /api/v1."""
    with httpx.Client(base_url=f"{query_server.base_url}/api/v1", timeout=60) as client:
        yield client
