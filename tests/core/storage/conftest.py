"""Stores for the storage tests: the embedded one in a temporary directory, and the
HBase adapter talking real Thrift to the HBase double (one process per session)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from finkportal_core.storage import Store, open_store
from tests.support.hbase_process import HBaseDouble

_prefixes = itertools.count(1)


def open_test_store(kind: str, tmp_path: Path, double: HBaseDouble | None) -> Store:
    if kind == "sqlite":
        return open_store(f"sqlite:{tmp_path / 'store'}")
    assert double is not None
    # A fresh table prefix per test keeps tests independent on the shared server.
    return open_store(f"{double.url}&table_prefix=t{next(_prefixes)}&pool_size=2")


@pytest.fixture(params=["sqlite", "hbase"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The same tests run against both adapters."""
    double = request.getfixturevalue("hbase_double") if request.param == "hbase" else None
    opened = open_test_store(request.param, tmp_path, double)
    yield opened
    opened.close()
