"""open_store: which URLs are accepted, and a clear ValueError for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from finkportal_core.storage import open_store
from finkportal_core.storage._urls import HBaseUrl, SqliteUrl, parse_store_url
from finkportal_core.storage.hbase import HBaseStore
from finkportal_core.storage.sqlite import SqliteStore
from tests.support.hbase_process import HBaseDouble


@pytest.mark.parametrize(("url", "parsed"), [
    ("sqlite:var/store", SqliteUrl("var/store")),
    ("sqlite:/abs/dir?synchronous=full", SqliteUrl("/abs/dir", "full")),
    ("sqlite:///abs/dir", SqliteUrl("/abs/dir")),
    ("sqlite:d?busy_timeout_ms=250", SqliteUrl("d", "normal", 250)),
    ("hbase://hbase-thrift", HBaseUrl("hbase-thrift")),
    ("hbase://10.0.0.5:9095?table_prefix=fink&pool_size=8&transport=framed&protocol=compact"
     "&timeout_ms=5000",
     HBaseUrl("10.0.0.5", 9095, "fink", 8, "framed", "compact", 5000)),
    ("hbase://h:1/?table_prefix=ns:", HBaseUrl("h", 1, table_prefix="ns:")),
])
def test_accepted_urls(url: str, parsed: object) -> None:
    assert parse_store_url(url) == parsed


@pytest.mark.parametrize("url", [
    "", "var/store", "postgres://x", "sqlite:", "sqlite://host/dir", "sqlite:d?synchronous=off",
    "sqlite:d?journal=wal", "sqlite:d?synchronous=full&synchronous=normal", "sqlite:d?bad",
    "sqlite:d?busy_timeout_ms=0", "sqlite:d?busy_timeout_ms=soon",
    "hbase://", "hbase://h:notaport", "hbase://h:99999", "hbase://h:1/path", "hbase://h?x=1",
    "hbase://h?pool_size=0", "hbase://h?pool_size=two", "hbase://h?transport=http",
    "hbase://h?protocol=json", "hbase://h?table_prefix=", "hbase://user@h", "HBASE://h",
])
def test_rejected_urls_say_what_is_accepted(url: str) -> None:
    with pytest.raises(ValueError, match="accepted: 'sqlite:<directory>") as refused:
        open_store(url)
    assert repr(url) in str(refused.value)


def test_open_store_builds_each_adapter(tmp_path: Path, hbase_double: HBaseDouble) -> None:
    embedded = open_store(f"sqlite:{tmp_path / 'new' / 'dir'}")
    assert isinstance(embedded, SqliteStore)
    assert (tmp_path / "new" / "dir").is_dir()
    remote = open_store(f"{hbase_double.url}&table_prefix=opened")
    assert isinstance(remote, HBaseStore)
    assert remote.tables() == []
    remote.close()
