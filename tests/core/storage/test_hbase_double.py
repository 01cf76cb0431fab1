"""The HBase double behaves as the HBase Thrift server does where the adapter relies on it.

These talk to the double with plain happybase, as the adapter does, and pin down the
HBase semantics the adapter translates (see tests/support/hbase_double.py for the
references in HBase's ThriftServerRunner / KeyValue.parseColumn).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import happybase
import pytest
from thriftpy2.thrift import TApplicationException

from finkportal_core.storage._hbase_errors import (
    HBaseAlreadyExists,
    HBaseIllegalArgument,
    HBaseIOError,
)
from tests.support.hbase_process import HBaseDouble

_names = itertools.count(1)


@pytest.fixture
def connection(hbase_double: HBaseDouble) -> Iterator[happybase.Connection]:
    conn = happybase.Connection(hbase_double.host, hbase_double.port,
                                table_prefix=f"raw{next(_names)}")
    yield conn
    conn.close()


@pytest.fixture
def table(connection: happybase.Connection) -> happybase.Table:
    connection.create_table("t", {"f": {}, "g": {}})
    table = connection.table("t")
    for key in (b"a", b"b", b"c", b"d"):
        table.put(key, {b"f:x": key, b"f:": b"empty-qualifier", b"g:y": b"1"})
    return table


def keys(rows: object) -> list[bytes]:
    return [key for key, _ in rows]  # type: ignore[attr-defined]


def test_reversed_scans_start_at_the_upper_bound_inclusive(table: happybase.Table) -> None:
    assert keys(table.scan(row_start=b"c", row_stop=b"a", reverse=True)) == [b"c", b"b"]
    assert keys(table.scan(row_start=b"bb", reverse=True)) == [b"b", b"a"]
    assert keys(table.scan(reverse=True)) == [b"d", b"c", b"b", b"a"]
    assert keys(table.scan(row_start=b"a", row_stop=b"c")) == [b"a", b"b"]


def test_happybase_reverse_prefix_scans_are_off_by_one_as_on_hbase(table: happybase.Table) -> None:
    # happybase sends startRow=increment(prefix), stopRow=prefix: the row equal to the
    # prefix is lost and the next key is included. The adapter never uses row_prefix.
    assert keys(table.scan(row_prefix=b"b", reverse=True)) == [b"c"]


def test_family_colon_selects_only_the_empty_qualifier(table: happybase.Table) -> None:
    assert table.row(b"a", columns=[b"f"]) == {b"f:x": b"a", b"f:": b"empty-qualifier"}
    assert table.row(b"a", columns=[b"f:"]) == {b"f:": b"empty-qualifier"}
    assert table.row(b"a", columns=[b"f:x", b"g"]) == {b"f:x": b"a", b"g:y": b"1"}


def test_missing_rows_are_left_out_of_multi_gets(table: happybase.Table) -> None:
    assert keys(table.rows([b"d", b"zz", b"a"])) == [b"d", b"a"]
    assert table.row(b"zz") == {}


def test_a_put_to_an_unknown_family_fails_but_other_rows_are_written(
        table: happybase.Table) -> None:
    batch = table.batch()
    batch.put(b"ok", {b"f:x": b"1"})
    batch.put(b"bad", {b"nope:x": b"1"})
    with pytest.raises(HBaseIOError, match="NoSuchColumnFamilyException"):
        batch.send()
    assert table.row(b"ok") == {b"f:x": b"1"}
    assert table.row(b"bad") == {}


def test_reads_of_unknown_families_fail(table: happybase.Table) -> None:
    with pytest.raises(HBaseIOError, match="NoSuchColumnFamilyException"):
        table.row(b"a", columns=[b"nope"])
    with pytest.raises(HBaseIOError, match="NoSuchColumnFamilyException"):
        list(table.scan(columns=[b"nope:x"]))


def test_deleting_a_family_or_a_row(table: happybase.Table) -> None:
    table.delete(b"a", columns=[b"f"])
    assert table.row(b"a") == {b"g:y": b"1"}
    table.delete(b"b")
    assert table.row(b"b") == {}
    assert keys(table.scan()) == [b"a", b"c", b"d"]


def test_tables_must_be_disabled_before_deletion(connection: happybase.Connection) -> None:
    connection.create_table("gone", {"f": {}})
    with pytest.raises(HBaseAlreadyExists):
        connection.create_table("gone", {"f": {}})
    with pytest.raises(HBaseIOError, match="TableNotDisabledException"):
        connection.delete_table("gone")
    connection.delete_table("gone", disable=True)
    assert connection.tables() == []
    with pytest.raises(HBaseIOError, match="TableNotFoundException"):
        connection.table("gone").row(b"a")


def test_timestamps_and_limits(table: happybase.Table) -> None:
    value, stamp = table.row(b"a", columns=[b"f:x"], include_timestamp=True)[b"f:x"]
    assert value == b"a"
    assert stamp > 1_600_000_000_000  # milliseconds, as HBase
    assert table.row(b"a", timestamp=stamp) == {}
    assert keys(table.scan(limit=2, batch_size=1)) == [b"a", b"b"]


def test_unmodelled_calls_are_refused_loudly(table: happybase.Table) -> None:
    with pytest.raises(TApplicationException) as refused:
        table.counter_inc(b"a", b"f:n")
    # happybase asks Thrift for undecoded strings: the message arrives as bytes.
    assert refused.value.message == b"atomicIncrement is not implemented by the double"
    with pytest.raises(HBaseIllegalArgument, match="scanner ID is invalid"):
        table.connection.client.scannerGetList(424242, 1)
