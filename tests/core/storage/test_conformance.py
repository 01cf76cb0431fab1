"""One behaviour, two adapters: every test runs on the embedded store and on the HBase
adapter (over real Thrift, against the HBase double)."""

from __future__ import annotations

import itertools

import pytest

from finkportal_core.storage import (
    InvalidRequestError,
    Store,
    Table,
    TableNotFoundError,
)
from tests.core.storage.model import expected_get_many, expected_scan

FAMILIES = ["i", "d", "b"]


@pytest.fixture
def table(store: Store) -> Table:
    store.create_table("alerts", FAMILIES)
    return store.table("alerts")


def fill(table: Table, count: int = 10) -> dict[bytes, dict[bytes, bytes]]:
    """Rows k00..k<count-1>; even rows also have a ``d`` cell, every third a cutout."""
    rows: dict[bytes, dict[bytes, bytes]] = {}
    for n in range(count):
        cells = {b"i:jd": b"%d" % n, b"i:mag": b"1%d.5" % n}
        if n % 2 == 0:
            cells[b"d:class"] = b"SN" if n % 4 == 0 else b"AGN"
        if n % 3 == 0:
            cells[b"b:science"] = bytes([n]) * 50
        rows[b"k%02d" % n] = cells
    table.put_many(rows.items())
    return rows


def keys_of(rows: object) -> list[bytes]:
    return [key for key, _ in rows]  # type: ignore[attr-defined]


# -- tables -----------------------------------------------------------------------


def test_create_table_is_idempotent_and_keeps_the_first_families(store: Store) -> None:
    store.create_table("alerts", FAMILIES)
    store.create_table("alerts", FAMILIES)
    store.create_table("alerts", ["other"])
    assert store.tables() == ["alerts"]
    table = store.table("alerts")
    table.put_many([(b"r", {b"i:a": b"1", b"d:b": b"2", b"b:c": b"3"})])
    with pytest.raises(InvalidRequestError):
        table.put_many([(b"r", {b"other:a": b"1"})])
    assert table.get(b"r") == {b"i:a": b"1", b"d:b": b"2", b"b:c": b"3"}


def test_tables_are_listed_sorted_and_deleted(store: Store) -> None:
    for name in ("zeta", "alpha", "mid.dle-1"):
        store.create_table(name, ["f"])
    assert store.tables() == ["alpha", "mid.dle-1", "zeta"]
    store.delete_table("mid.dle-1")
    assert store.tables() == ["alpha", "zeta"]


def test_missing_tables_raise_table_not_found(store: Store) -> None:
    with pytest.raises(TableNotFoundError):
        store.table("nope")
    with pytest.raises(TableNotFoundError):
        store.delete_table("nope")


def test_a_deleted_table_is_gone_for_its_table_objects(store: Store, table: Table) -> None:
    fill(table, 3)
    store.delete_table("alerts")
    with pytest.raises(TableNotFoundError):
        table.get(b"k00")
    with pytest.raises(TableNotFoundError):
        table.put_many([(b"k00", {b"i:jd": b"1"})])
    store.create_table("alerts", FAMILIES)
    assert list(store.table("alerts").scan()) == []


@pytest.mark.parametrize("name", ["", "a/b", "../x", ".hidden", "sp ace", "é"])
def test_invalid_table_names_are_refused(store: Store, name: str) -> None:
    with pytest.raises(InvalidRequestError):
        store.create_table(name, ["f"])


@pytest.mark.parametrize("families", [[], ["a:b"], ["a", "a"], [""], "i"])
def test_invalid_families_are_refused(store: Store, families: list[str]) -> None:
    with pytest.raises(InvalidRequestError):
        store.create_table("t", families)
    assert store.tables() == []


# -- puts and gets ----------------------------------------------------------------


def test_put_merges_cells_into_existing_rows(table: Table) -> None:
    table.put_many([(b"r", {b"i:a": b"1", b"d:x": b"2"})])
    table.put_many([(b"r", {b"i:b": b"3", b"i:a": b"new"})])
    assert table.get(b"r") == {b"i:a": b"new", b"i:b": b"3", b"d:x": b"2"}


def test_later_cells_win_within_one_batch(table: Table) -> None:
    table.put_many([(b"r", {b"i:a": b"1", b"i:b": b"1"}), (b"r", {b"i:a": b"2"})])
    assert table.get(b"r") == {b"i:a": b"2", b"i:b": b"1"}


def test_get_selects_families_and_cells(table: Table) -> None:
    rows = fill(table)
    full = rows[b"k00"]
    assert table.get(b"k00") == full
    assert table.get(b"k00", [b"i"]) == {b"i:jd": b"0", b"i:mag": b"10.5"}
    assert table.get(b"k00", [b"i:"]) == table.get(b"k00", [b"i"])
    assert table.get(b"k00", [b"i:jd", b"d"]) == {b"i:jd": b"0", b"d:class": b"SN"}
    assert table.get(b"k00", [b"i:jd", b"i"]) == table.get(b"k00", [b"i"])
    assert table.get(b"k00", [b"i:absent"]) == {}
    assert table.get(b"k01", [b"d"]) == {}
    assert table.get(b"missing") == {}


def test_get_many_keeps_the_order_asked_and_skips_absent_rows(table: Table) -> None:
    rows = fill(table)
    asked = [b"k05", b"missing", b"k01", b"k05", b"k00"]
    assert table.get_many(asked) == [(k, rows[k]) for k in asked if k in rows]
    assert table.get_many(asked, [b"d"]) == [(b"k00", {b"d:class": b"SN"})]
    assert table.get_many([]) == []


def test_get_many_with_many_keys(table: Table) -> None:
    table.put_many((b"r%05d" % n, {b"i:n": b"%d" % n}) for n in range(1500))
    asked = [b"r%05d" % n for n in range(1499, -1, -3)]
    found = table.get_many(asked, [b"i:n"])
    assert found == [(key, {b"i:n": b"%d" % int(key[1:])}) for key in asked]


def test_binary_keys_and_values_round_trip_in_unsigned_byte_order(table: Table) -> None:
    every_byte = bytes(range(256))
    keys = [bytes([b]) for b in range(256)] + [b"\x00\x00", b"\xff\xff", every_byte]
    table.put_many((key, {b"i:v": every_byte, b"i:": b"", b"d:k": key}) for key in keys)
    scanned = list(table.scan())
    assert keys_of(scanned) == sorted(keys)
    assert all(cells == {b"i:v": every_byte, b"i:": b"", b"d:k": key} for key, cells in scanned)
    assert table.get(b"\x00") == {b"i:v": every_byte, b"i:": b"", b"d:k": b"\x00"}
    assert keys_of(table.scan(reverse=True)) == sorted(keys, reverse=True)


def test_binary_qualifiers_round_trip(table: Table) -> None:
    odd = b"i:" + bytes(range(256))
    table.put_many([(b"r", {odd: b"x", b"i:\xff": b"y"})])
    assert table.get(b"r", [odd]) == {odd: b"x"}
    assert table.get(b"r") == {odd: b"x", b"i:\xff": b"y"}


def test_large_values(table: Table) -> None:
    big = bytes(range(256)) * 400  # 100 KiB
    table.put_many([(b"big%d" % n, {b"b:cutout": big[n:] + big[:n]}) for n in range(3)])
    assert table.get(b"big1", [b"b"]) == {b"b:cutout": big[1:] + big[:1]}
    assert [len(cells[b"b:cutout"]) for _, cells in table.scan(batch_size=1)] == [len(big)] * 3


# -- deletes ----------------------------------------------------------------------


def test_delete_many_removes_whole_rows_and_ignores_absent_ones(table: Table) -> None:
    rows = fill(table, 6)
    table.delete_many([b"k00", b"k03", b"never"])
    assert keys_of(table.scan()) == [k for k in rows if k not in (b"k00", b"k03")]
    assert table.get(b"k00") == {}
    table.put_many([(b"k00", {b"i:jd": b"again"})])
    assert table.get(b"k00") == {b"i:jd": b"again"}
    table.delete_many([])


# -- scans ------------------------------------------------------------------------


def test_scan_bounds_prefix_limit_and_reverse(table: Table) -> None:
    rows = fill(table, 12)
    keys = list(rows)
    assert keys_of(table.scan()) == keys
    assert keys_of(table.scan(row_start=b"k03", row_stop=b"k07")) == keys[3:7]
    assert keys_of(table.scan(row_start=b"k03", row_stop=b"k07", reverse=True)) == keys[6:2:-1]
    assert keys_of(table.scan(row_start=b"k025", reverse=True)) == keys[:2:-1]
    assert keys_of(table.scan(row_stop=b"k025", reverse=True)) == [b"k02", b"k01", b"k00"]
    assert keys_of(table.scan(row_prefix=b"k1")) == [b"k10", b"k11"]
    assert keys_of(table.scan(row_prefix=b"k1", reverse=True)) == [b"k11", b"k10"]
    assert keys_of(table.scan(limit=4)) == keys[:4]
    assert keys_of(table.scan(limit=4, reverse=True, row_stop=b"k10")) == keys[9:5:-1]
    assert keys_of(table.scan(row_prefix=b"zz")) == []
    assert keys_of(table.scan(row_start=b"k05", row_stop=b"k05")) == []


def test_scan_selects_columns_and_skips_rows_without_them(table: Table) -> None:
    rows = fill(table, 8)
    assert list(table.scan(columns=[b"d"])) == [
        (k, {b"d:class": c[b"d:class"]}) for k, c in rows.items() if b"d:class" in c
    ]
    assert list(table.scan(columns=[b"b:science", b"i:jd"], reverse=True)) == [
        (k, {c: v for c, v in rows[k].items() if c in (b"b:science", b"i:jd")})
        for k in reversed(rows)
    ]


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("batch_size", [1, 2, 3, 7, 1000])
def test_scan_batches_do_not_change_results(table: Table, reverse: bool, batch_size: int) -> None:
    rows = fill(table, 15)
    model = dict(rows)
    for low, high, columns, limit in itertools.product(
        [None, b"k00", b"k04", b"k045"], [None, b"k10", b"k14"], [None, [b"d"], [b"i:jd", b"b"]],
        [None, 1, 5],
    ):
        got = list(table.scan(row_start=low, row_stop=high, columns=columns, limit=limit,
                              reverse=reverse, batch_size=batch_size))
        assert got == expected_scan(model, low, high, reverse, columns, limit), (low, high)


def test_scan_is_lazy_and_sees_rows_in_key_order_across_batches(table: Table) -> None:
    table.put_many((b"r%04d" % n, {b"i:n": b"x"}) for n in range(250))
    scanner = table.scan(batch_size=100, columns=[b"i"])
    first = next(scanner)
    table.put_many([(b"r9999", {b"i:n": b"late"})])  # beyond the first batch
    rest = list(scanner)
    assert first[0] == b"r0000"
    assert keys_of(rest)[-1] == b"r9999"
    assert len(rest) == 250


def test_prefix_scans_with_high_bytes(table: Table) -> None:
    keys = [b"\xff", b"\xff\x00", b"\xff\xff", b"\xff\xff\x01", b"\xfe\xff", b"a\xff", b"b"]
    table.put_many((key, {b"i:x": b"1"}) for key in keys)
    assert keys_of(table.scan(row_prefix=b"\xff\xff")) == [b"\xff\xff", b"\xff\xff\x01"]
    assert keys_of(table.scan(row_prefix=b"\xff", reverse=True)) == [
        b"\xff\xff\x01", b"\xff\xff", b"\xff\x00", b"\xff"]
    assert keys_of(table.scan(row_prefix=b"a\xff")) == [b"a\xff"]
    assert keys_of(table.scan(row_prefix=b"")) == sorted(keys)


# -- bad input --------------------------------------------------------------------


BAD_ROWS = [
    (b"", {b"i:a": b"1"}),
    ("text-key", {b"i:a": b"1"}),
    (b"r", {}),
    (b"r", {b"i:a": "text value"}),
    (b"r", {b"i:a": 5}),
    (b"r", {b"i:a": None}),
    (b"r", {"i:a": b"1"}),
    (b"r", {b"ia": b"1"}),
    (b"r", {b"i": b"1"}),
    (b"r", {b"x:a": b"1"}),
    (b"r", {b"I:a": b"1"}),
    (b"r", {b":a": b"1"}),
    (b"r",),
]


@pytest.mark.parametrize("bad", BAD_ROWS, ids=repr)
def test_a_bad_row_is_refused_and_writes_nothing(table: Table, bad: tuple) -> None:
    fill(table, 2)
    before = list(table.scan())
    with pytest.raises(InvalidRequestError):
        table.put_many([(b"new-good", {b"i:a": b"1"}), bad, (b"k00", {b"i:jd": b"changed"})])
    assert list(table.scan()) == before


@pytest.mark.parametrize("columns", [[b"x"], [b"x:y"], [], b"i", ["i"], [b"i", 3]], ids=repr)
def test_bad_column_selections_are_refused(table: Table, columns: object) -> None:
    fill(table, 2)
    with pytest.raises(InvalidRequestError):
        table.get(b"k00", columns)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError):
        table.scan(columns=columns)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError):
        table.get_many([b"k00"], columns)  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs", [
    {"row_prefix": b"k", "row_start": b"k"},
    {"row_prefix": b"k", "row_stop": b"z"},
    {"limit": 0},
    {"batch_size": 0},
    {"row_start": "k"},
    {"row_prefix": "k"},
])
def test_bad_scan_arguments_are_refused_at_the_call(table: Table, kwargs: dict) -> None:
    with pytest.raises(InvalidRequestError):
        table.scan(**kwargs)


@pytest.mark.parametrize("key", [b"", "k", None])
def test_bad_keys_in_reads_and_deletes_are_refused(table: Table, key: object) -> None:
    fill(table, 2)
    with pytest.raises(InvalidRequestError):
        table.get(key)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError):
        table.get_many([b"k00", key])  # type: ignore[list-item]
    with pytest.raises(InvalidRequestError):
        table.delete_many([b"k00", key])  # type: ignore[list-item]
    assert table.get(b"k00") != {}


def test_expected_get_many_model_agrees_with_both_adapters(table: Table) -> None:
    rows = fill(table, 5)
    asked = [b"k04", b"k00", b"zz", b"k04"]
    assert table.get_many(asked, [b"d", b"i:jd"]) == expected_get_many(rows, asked,
                                                                     [b"d", b"i:jd"])
