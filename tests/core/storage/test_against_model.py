"""Random sequences of puts and deletes, then random reads: each adapter must answer
exactly what a plain dict model answers."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finkportal_core.storage import Store
from tests.core.storage.model import Model, expected_get_many, expected_scan

# Few distinct bytes, so that keys collide, share prefixes and sit on 0x00/0xff edges.
KEY_BYTES = [0x00, 0x01, 0x3A, 0x7F, 0x80, 0xFF]
keys = st.lists(st.sampled_from(KEY_BYTES), min_size=1, max_size=3).map(bytes)
bounds = st.none() | st.lists(st.sampled_from(KEY_BYTES), min_size=0, max_size=3).map(bytes)
columns_names = st.sampled_from([b"a:", b"a:x", b"a:\xff", b"b:x", b"b:y\x00"])
cells = st.dictionaries(columns_names, st.binary(max_size=12), min_size=1, max_size=4)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.lists(st.tuples(keys, cells), max_size=6)),
        st.tuples(st.just("delete"), st.lists(keys, max_size=4)),
    ),
    min_size=1,
    max_size=8,
)
selections = st.none() | st.lists(
    st.sampled_from([b"a", b"b", b"a:", b"a:x", b"b:y\x00", b"a:\xff"]), min_size=1, max_size=3
)
reads = st.tuples(bounds, bounds, st.booleans(), selections, st.none() | st.integers(1, 5),
                  st.integers(1, 4))

_tables = itertools.count(1)


def apply(model: Model, operation: tuple) -> None:
    kind, payload = operation
    if kind == "put":
        for key, row_cells in payload:
            model.setdefault(key, {}).update(row_cells)
    else:
        for key in payload:
            model.pop(key, None)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations, checks=st.lists(reads, min_size=1, max_size=5),
       asked=st.lists(keys, max_size=6))
def test_adapter_matches_a_dict_model(store: Store, ops: list, checks: list,
                                      asked: list[bytes]) -> None:
    name = f"model{next(_tables)}"
    store.create_table(name, ["a", "b"])
    table = store.table(name)
    model: Model = {}
    for operation in ops:
        if operation[0] == "put":
            table.put_many(operation[1])
        else:
            table.delete_many(operation[1])
        apply(model, operation)
    assert list(table.scan()) == expected_scan(model, None, None, False, None, None)
    for low, high, reverse, columns, limit, batch_size in checks:
        got = list(table.scan(row_start=low, row_stop=high, reverse=reverse, columns=columns,
                              limit=limit, batch_size=batch_size))
        assert got == expected_scan(model, low or None, high or None, reverse, columns, limit)
        assert table.get_many(asked, columns) == expected_get_many(model, asked, columns)
    store.delete_table(name)
