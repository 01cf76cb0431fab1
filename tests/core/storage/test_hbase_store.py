"""HBase adapter specifics, over real Thrift: failures, prefixes, transports, batching."""

from __future__ import annotations

import time

import happybase
import pytest

from finkportal_core.storage import (
    InvalidRequestError,
    StoreUnavailableError,
    TableNotFoundError,
    open_store,
)
from finkportal_core.storage.hbase import HBaseStore
from tests.support.hbase_process import HBaseDouble

ROWS = [(bytes([n, 0xFF - n]), {b"i:v": bytes(range(n, 256)), b"d:e": b""}) for n in range(40)]


def round_trip(url: str) -> None:
    store = open_store(url)
    store.create_table("t", ["i", "d"])
    table = store.table("t")
    table.put_many(ROWS)
    assert list(table.scan()) == sorted(ROWS)
    assert list(table.scan(reverse=True, batch_size=7)) == sorted(ROWS, reverse=True)
    assert table.get(ROWS[3][0], [b"i"]) == {b"i:v": ROWS[3][1][b"i:v"]}
    store.close()


def test_the_store_reports_unavailable_when_the_server_goes_away() -> None:
    double = HBaseDouble().start()
    store = open_store(double.url)
    store.create_table("t", ["i"])
    table = store.table("t")
    table.put_many([(b"r", {b"i:a": b"1"})])
    double.kill()
    with pytest.raises(StoreUnavailableError):
        table.put_many([(b"r", {b"i:a": b"2"})])
    with pytest.raises(StoreUnavailableError):
        table.get(b"r")
    with pytest.raises(StoreUnavailableError):
        list(table.scan())
    with pytest.raises(StoreUnavailableError):
        store.tables()
    with pytest.raises(StoreUnavailableError, match="unreachable"):
        open_store(double.url)


def test_a_connection_the_server_dropped_while_idle_is_replaced_transparently() -> None:
    with HBaseDouble(idle_timeout_ms=200) as double:
        store = open_store(f"{double.url}&pool_size=1")
        store.create_table("t", ["i"])
        table = store.table("t")
        table.put_many([(b"r", {b"i:a": b"1"})])
        time.sleep(0.6)  # the server has closed our only pooled connection by now
        assert table.get(b"r") == {b"i:a": b"1"}
        time.sleep(0.6)
        table.put_many([(b"s", {b"i:a": b"2"})])
        assert [key for key, _ in table.scan()] == [b"r", b"s"]


@pytest.mark.parametrize(("transport", "protocol"),
                         [("framed", "binary"), ("buffered", "compact"), ("framed", "compact")])
def test_other_thrift_transports_and_protocols(transport: str, protocol: str) -> None:
    with HBaseDouble(transport=transport, protocol=protocol) as double:
        round_trip(double.url)


def test_table_prefixes_separate_tables(hbase_double: HBaseDouble) -> None:
    first = open_store(f"{hbase_double.url}&table_prefix=apple")
    second = open_store(f"{hbase_double.url}&table_prefix=pear")
    first.create_table("alerts", ["i"])
    first.table("alerts").put_many([(b"r", {b"i:a": b"1"})])
    assert first.tables() == ["alerts"]
    assert second.tables() == []
    with pytest.raises(TableNotFoundError):
        second.table("alerts")
    raw = happybase.Connection(hbase_double.host, hbase_double.port)
    assert b"apple_alerts" in raw.tables()
    raw.close()


def test_a_trailing_colon_makes_the_prefix_an_hbase_namespace(hbase_double: HBaseDouble) -> None:
    store = open_store(f"{hbase_double.url}&table_prefix=finkns:")
    store.create_table("alerts", ["i"])
    raw = happybase.Connection(hbase_double.host, hbase_double.port)
    assert b"finkns:alerts" in raw.tables()
    raw.close()
    assert store.tables() == ["alerts"]


def test_large_batches_are_split_into_several_calls(hbase_double: HBaseDouble) -> None:
    store = HBaseStore(hbase_double.host, hbase_double.port, table_prefix="split",
                       max_batch_bytes=5_000)
    store.create_table("t", ["b"])
    rows = [(b"r%03d" % n, {b"b:blob": bytes([n]) * 1000}) for n in range(60)]
    store.table("t").put_many(rows)
    assert list(store.table("t").scan(batch_size=13)) == rows


def test_server_side_refusals_map_to_storage_errors(hbase_double: HBaseDouble) -> None:
    store = HBaseStore(hbase_double.host, hbase_double.port, table_prefix="refusals")
    store.create_table("t", ["i"])
    # Bypass the adapter's own checks to see how the server's answers are mapped.
    with pytest.raises(InvalidRequestError, match="NoSuchColumnFamilyException"):
        store.run("t", lambda conn: conn.table("t").put(b"r", {b"zz:q": b"1"}))
    with pytest.raises(TableNotFoundError, match="TableNotFoundException"):
        store.run("gone", lambda conn: conn.table("gone").row(b"r"))
    with pytest.raises(InvalidRequestError, match="illegal argument"):
        store.run("t", lambda conn: conn.client.scannerGetList(987654, 1))

