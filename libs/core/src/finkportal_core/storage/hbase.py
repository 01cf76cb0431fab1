"""Production store: HBase through its Thrift (v1) gateway, with happybase.

The adapter keeps the semantics of ``finkportal_core.storage.base`` on top of
HBase's own:

- reversed scans: HBase takes the *upper* bound as (inclusive) start row and the
  lower bound as (exclusive) stop row; we ask for the range slightly widened and
  drop the two boundary cases client-side;
- ``b"i:"`` is sent as ``b"i"`` (HBase reads ``i:`` as the empty qualifier);
- every argument is checked before anything is sent, so a bad cell cannot leave
  half a batch written (HBase applies a batch row by row);
- scans open one short-lived scanner per batch: a slow consumer never sees a
  scanner lease expire and never holds a pooled connection between batches.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import happybase

from finkportal_core.storage._hbase_errors import (
    HBaseAlreadyExists,
    hbase_errors,
    is_broken_connection,
)
from finkportal_core.storage._hbase_scan import HBaseScan, run_scan
from finkportal_core.storage.base import Cells, InvalidRequestError, Row, StoreUnavailableError
from finkportal_core.storage.columns import (
    FamilyLayout,
    check_families,
    check_row_key,
    check_row_keys,
    check_scan_sizes,
    check_table_name,
    scan_bounds,
    select,
)

__all__ = ["HBaseStore", "HBaseTable"]

T = TypeVar("T")

_KEYS_PER_GET = 1000
DEFAULT_TIMEOUT_MS = 60_000
# Cap one mutateRows call: HBase's framed Thrift server refuses frames above
# hbase.regionserver.thrift.framed.max_frame_size_in_mb (2 MB by default).
DEFAULT_MAX_BATCH_BYTES = 1_500_000


class HBaseTable:
    """One HBase table (implements ``finkportal_core.storage.base.Table``)."""

    def __init__(self, name: str, families: Sequence[str], store: HBaseStore):
        self.name = name
        self.layout = FamilyLayout.of(families)
        self._store = store

    def __repr__(self) -> str:
        return f"HBaseTable({self.name!r}, families={list(self.layout.families)!r})"

    def put_many(self, rows: Iterable[tuple[bytes, Cells]]) -> None:
        """Send the rows in mutateRows calls of bounded size; durable (HBase WAL) on return."""
        checked = [self._checked(item) for item in rows]
        for chunk in _chunks_by_size(checked, self._store.max_batch_bytes):
            self._store.run(self.name, functools.partial(self._send_puts, chunk))

    def _send_puts(self, chunk: list[tuple[bytes, Cells]], conn: Any) -> None:
        batch = conn.table(self.name).batch()
        for key, cells in chunk:
            batch.put(key, cells)
        batch.send()  # one mutateRows call

    def _checked(self, item: object) -> tuple[bytes, Cells]:
        if not isinstance(item, tuple) or len(item) != 2:
            raise InvalidRequestError(f"put_many expects (row key, cells) pairs, got {item!r:.80}")
        key, cells = item
        self.layout.group(check_row_key(key), cells)  # raises on any bad cell
        return key, cells

    def delete_many(self, rows: Iterable[bytes]) -> None:
        keys = check_row_keys(rows)
        if not keys:
            return
        families = [family.encode() for family in self.layout.families]

        def send_deletes(conn: Any) -> None:
            batch = conn.table(self.name).batch()
            for key in keys:
                batch.delete(key, columns=families)
            batch.send()

        self._store.run(self.name, send_deletes)

    def get(self, row: bytes, columns: Sequence[bytes] | None = None) -> dict[bytes, bytes]:
        check_row_key(row)
        wire = self._wire_columns(columns)
        return self._store.run(self.name, lambda conn: dict(conn.table(self.name).row(row, wire)))

    def get_many(
        self, rows: Sequence[bytes], columns: Sequence[bytes] | None = None
    ) -> list[Row]:
        keys = check_row_keys(rows)
        wire = self._wire_columns(columns)
        unique = list(dict.fromkeys(keys))
        found: dict[bytes, dict[bytes, bytes]] = {}
        for start in range(0, len(unique), _KEYS_PER_GET):
            read = functools.partial(self._read_rows, unique[start : start + _KEYS_PER_GET], wire)
            results = self._store.run(self.name, read)
            found.update((key, dict(cells)) for key, cells in results)
        return [(key, found[key]) for key in keys if key in found]

    def _read_rows(self, keys: list[bytes], wire: list[bytes] | None, conn: Any) -> Any:
        return conn.table(self.name).rows(keys, wire)

    def scan(
        self,
        *,
        row_start: bytes | None = None,
        row_stop: bytes | None = None,
        row_prefix: bytes | None = None,
        columns: Sequence[bytes] | None = None,
        limit: int | None = None,
        reverse: bool = False,
        batch_size: int = 1000,
    ) -> Iterator[Row]:
        low, high = scan_bounds(row_start, row_stop, row_prefix)
        check_scan_sizes(limit, batch_size)
        plan = HBaseScan(low, high, self._wire_columns(columns), bool(reverse), limit, batch_size)
        if low is not None and high is not None and low >= high:
            return iter(())  # empty range: never send HBase a start row after its stop row
        return run_scan(plan, self._fetch)

    def _fetch(self, start: bytes | None, stop: bytes | None, plan: HBaseScan, count: int) -> list[
        Row
    ]:
        """One short-lived scanner: at most ``count`` raw rows from HBase."""

        def read(conn: Any) -> list[Row]:
            scanner = conn.table(self.name).scan(
                row_start=start, row_stop=stop, columns=plan.columns, batch_size=count,
                limit=count, reverse=plan.reverse,
            )
            return [(key, dict(cells)) for key, cells in scanner]

        return self._store.run(self.name, read)

    def _wire_columns(self, columns: Sequence[bytes] | None) -> list[bytes] | None:
        selection = select(columns, self.layout)
        return None if columns is None else selection.wire_columns()


class HBaseStore:
    """Tables of one HBase cluster (implements ``finkportal_core.storage.base.Store``).

    ``table_prefix`` puts every table under a prefix: ``"fink"`` gives tables
    ``fink_<name>``, ``"fink:"`` (trailing colon) the HBase namespace ``fink``.
    """

    def __init__(
        self,
        host: str,
        port: int = 9090,
        *,
        table_prefix: str | None = None,
        pool_size: int = 4,
        transport: str = "buffered",
        protocol: str = "binary",
        timeout_ms: int | None = DEFAULT_TIMEOUT_MS,
        max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    ):
        self.address = f"{host}:{port}"
        self.max_batch_bytes = max_batch_bytes
        self._wait_s = None if timeout_ms is None else timeout_ms / 1000
        prefix, separator = _prefix_and_separator(table_prefix)
        with hbase_errors(None):
            self._pool = happybase.ConnectionPool(
                pool_size, host=host, port=port, table_prefix=prefix,
                table_prefix_separator=separator, transport=transport, protocol=protocol,
                timeout=timeout_ms,
            )

    def __repr__(self) -> str:
        return f"HBaseStore({self.address!r})"

    @contextlib.contextmanager
    def connection(self, table: str | None = None) -> Iterator[Any]:
        """A pooled happybase connection; failures become storage errors."""
        with hbase_errors(table), self._pool.connection(timeout=self._wait_s) as conn:
            yield conn

    def run(self, table: str | None, action: Callable[[Any], T]) -> T:
        """``action(connection)`` on a pooled connection, retried once on a broken one.

        The Thrift server drops connections idle for too long (HBase:
        hbase.thrift.server.socket.read.timeout, 60 s), so the first call after a
        pause may meet a dead socket; the pool then reconnects. Every call of
        this adapter is idempotent, so one retry is safe.
        """
        try:
            with self.connection(table) as conn:
                return action(conn)
        except StoreUnavailableError as exc:
            if not is_broken_connection(exc):
                raise
        with self.connection(table) as conn:
            return action(conn)

    def create_table(self, name: str, families: Sequence[str]) -> None:
        check_table_name(name)
        # One version per cell: a put replaces the value, as in the embedded store.
        options = {family: {"max_versions": 1} for family in check_families(families)}

        def create(conn: Any) -> None:
            if name.encode() not in conn.tables():
                with contextlib.suppress(HBaseAlreadyExists):  # lost a race with a creator
                    conn.create_table(name, options)

        self.run(name, create)

    def table(self, name: str) -> HBaseTable:
        check_table_name(name)
        families = self.run(name, lambda conn: conn.table(name).families())
        return HBaseTable(name, [family.decode() for family in families], self)

    def tables(self) -> list[str]:
        return sorted(name.decode() for name in self.run(None, lambda conn: conn.tables()))

    def delete_table(self, name: str) -> None:
        check_table_name(name)
        self.run(name, lambda conn: conn.delete_table(name, disable=True))

    def close(self) -> None:
        # happybase pools have no close(): close the idle connections they queue.
        for conn in list(self._pool._queue.queue):
            with contextlib.suppress(Exception):
                conn.close()


def _prefix_and_separator(table_prefix: str | None) -> tuple[str | None, str]:
    if table_prefix is None:
        return None, "_"
    if table_prefix.endswith(":"):
        return table_prefix[:-1], ":"
    return table_prefix, "_"


def _chunks_by_size(rows: list[tuple[bytes, Cells]], max_bytes: int) -> Iterator[
    list[tuple[bytes, Cells]]
]:
    chunk: list[tuple[bytes, Cells]] = []
    size = 0
    for key, cells in rows:
        row_size = len(key) + sum(map(len, cells)) + sum(map(len, cells.values()))
        if chunk and size + row_size > max_bytes:
            yield chunk
            chunk, size = [], 0
        chunk.append((key, cells))
        size += row_size
    if chunk:
        yield chunk
