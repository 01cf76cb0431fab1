"""One table of the embedded store: a SQLite database file with one table per family.

Each SQLite table ``f_<family>`` holds one row per (row key, family): the row key
and the family's cells packed with msgpack (``{b"fam:qual": value}``). Reading
family ``i`` therefore never touches the pages of family ``b`` (the cutouts), and
a put is one upsert per family whose merge function runs only on conflicts whose
bytes differ, so identical rewrites (most history rows) cost a lookup.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache

import msgpack

from finkportal_core.storage._sqlite_connections import (
    ConnectionCache,
    Handle,
    sqlite_errors,
)
from finkportal_core.storage._sqlite_scan import Fetched, ScanPlan, Statement, scan_rows
from finkportal_core.storage.base import (
    Cells,
    InvalidRequestError,
    Row,
    TableNotFoundError,
)
from finkportal_core.storage.columns import (
    FamilyLayout,
    Selection,
    check_row_key,
    check_row_keys,
    check_scan_sizes,
    scan_bounds,
    select,
)

# Keeps each IN (...) list well under SQLite's bound-parameter limit.
_KEYS_PER_QUERY = 500


@lru_cache(maxsize=256)
def _upsert_sql(family: str) -> str:
    return (
        f'INSERT INTO "f_{family}"(row, cells) VALUES (?, ?) '
        "ON CONFLICT(row) DO UPDATE SET cells = fp_merge(cells, excluded.cells) "
        "WHERE cells IS NOT excluded.cells"
    )


@lru_cache(maxsize=256)
def _select_one_sql(family: str) -> str:
    return f'SELECT cells FROM "f_{family}" WHERE row = ?'


@lru_cache(maxsize=1024)
def _select_in_sql(family: str, count: int) -> str:
    marks = ", ".join("?" * count)
    return f'SELECT row, cells FROM "f_{family}" WHERE row IN ({marks})'


class SqliteTable:
    """A table of the embedded store (implements ``finkportal_core.storage.base.Table``)."""

    def __init__(self, name: str, families: Sequence[str], connections: ConnectionCache):
        self.name = name
        self.layout = FamilyLayout.of(families)
        self._connections = connections

    def __repr__(self) -> str:
        return f"SqliteTable({self.name!r}, families={list(self.layout.families)!r})"

    # -- writes ---------------------------------------------------------------

    def put_many(self, rows: Iterable[tuple[bytes, Cells]]) -> None:
        """Merge the rows' cells in one transaction; durable (per ``synchronous``) on return."""
        with self._errors():
            handle = self._handle()
            by_family = self._pack(rows, handle.packer)
            if by_family:
                self._write(handle.db, by_family)

    def _pack(
        self, rows: Iterable[tuple[bytes, Cells]], packer: msgpack.Packer
    ) -> dict[str, list[tuple[bytes, bytes]]]:
        # Everything is checked and packed before the transaction starts: a bad row
        # anywhere in the batch writes nothing.
        by_family: dict[str, list[tuple[bytes, bytes]]] = {}
        group = self.layout.group
        pack = packer.pack
        for item in rows:
            key, cells = _unpack_item(item)
            for family, family_cells in group(key, cells):
                by_family.setdefault(family, []).append((key, pack(family_cells)))
        return by_family

    def _write(self, db: sqlite3.Connection, by_family: dict[str, list[tuple[bytes, bytes]]]
               ) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            for family, params in by_family.items():
                db.executemany(_upsert_sql(family), params)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def delete_many(self, rows: Iterable[bytes]) -> None:
        keys = [(key,) for key in check_row_keys(rows)]
        if not keys:
            return
        with self._errors():
            db = self._handle().db
            db.execute("BEGIN IMMEDIATE")
            try:
                for family in self.layout.families:
                    db.executemany(f'DELETE FROM "f_{family}" WHERE row = ?', keys)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    # -- point reads ----------------------------------------------------------

    def get(self, row: bytes, columns: Sequence[bytes] | None = None) -> dict[bytes, bytes]:
        check_row_key(row)
        selection = select(columns, self.layout)
        found: dict[bytes, bytes] = {}
        with self._errors():
            db = self._handle().db
            with _snapshot(db, len(selection.by_family) > 1):
                for family in selection.families:
                    hit = db.execute(_select_one_sql(family), (row,)).fetchone()
                    if hit is not None:
                        found.update(selection.pick(family, msgpack.unpackb(hit[0])))
        return found

    def get_many(
        self, rows: Sequence[bytes], columns: Sequence[bytes] | None = None
    ) -> list[Row]:
        keys = check_row_keys(rows)
        selection = select(columns, self.layout)
        if not keys:
            return []
        with self._errors():
            found = self._read_keys(self._handle().db, list(dict.fromkeys(keys)), selection)
        return [(key, found[key]) for key in keys if key in found]

    def _read_keys(
        self, db: sqlite3.Connection, keys: list[bytes], selection: Selection
    ) -> dict[bytes, dict[bytes, bytes]]:
        found: dict[bytes, dict[bytes, bytes]] = {}
        with _snapshot(db, len(selection.by_family) > 1):
            for family in selection.families:
                for start in range(0, len(keys), _KEYS_PER_QUERY):
                    chunk = keys[start : start + _KEYS_PER_QUERY]
                    for key, packed in db.execute(_select_in_sql(family, len(chunk)), chunk):
                        cells = selection.pick(family, msgpack.unpackb(packed))
                        if cells:
                            found.setdefault(key, {}).update(cells)
        return found

    # -- scans ----------------------------------------------------------------

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
        # Arguments are checked now, not at the first next(): errors surface at the call.
        low, high = scan_bounds(row_start, row_stop, row_prefix)
        check_scan_sizes(limit, batch_size)
        plan = ScanPlan(select(columns, self.layout), low, high, bool(reverse), limit, batch_size)

        return scan_rows(plan, self._read_batch)

    def _read_batch(self, statements: list[Statement], many: bool) -> Fetched:
        with self._errors():
            db = self._handle().db
            with _snapshot(db, many):
                return [(family, db.execute(sql, params).fetchall())
                        for family, sql, params in statements]

    # -- plumbing -------------------------------------------------------------

    def _handle(self) -> Handle:
        return self._connections.handle(self.name)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Map sqlite3 errors; on "no such table" also drop the connection to the dead file."""
        try:
            with sqlite_errors(self.name):
                yield
        except TableNotFoundError:
            self._connections.forget(self.name)
            raise


class _snapshot:  # noqa: N801 - used like a function, as contextlib helpers are
    """A read transaction around several statements, so that they see one snapshot."""

    def __init__(self, db: sqlite3.Connection, needed: bool):
        self._db = db
        self._needed = needed and not db.in_transaction

    def __enter__(self) -> None:
        if self._needed:
            self._db.execute("BEGIN")

    def __exit__(self, *exc: object) -> None:
        if self._needed and self._db.in_transaction:
            self._db.execute("COMMIT")


def _unpack_item(item: object) -> tuple[bytes, Mapping[bytes, bytes]]:
    if not isinstance(item, tuple) or len(item) != 2:
        raise InvalidRequestError(f"put_many expects (row key, cells) pairs, got {item!r:.80}")
    key, cells = item
    return check_row_key(key), cells
