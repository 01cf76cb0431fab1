"""Embedded store: a directory of SQLite files in WAL mode, one file per table.

Layout of ``<directory>/<table>.sqlite`` (plus SQLite's ``-wal``/``-shm`` files):

- ``families(name TEXT PRIMARY KEY, position INTEGER)``: the column families;
- ``f_<family>(row BLOB PRIMARY KEY, cells BLOB) WITHOUT ROWID``: per row key, the
  family's cells as a msgpack map ``{b"fam:qualifier": value}``.

Safe for several threads (one connection each) and several processes (SQLite
locks; writers wait up to ``busy_timeout_s`` for each other, then
``StoreUnavailableError``). ``put_many`` is one transaction, committed before it
returns: with ``synchronous=normal`` it survives a crash or SIGKILL of the process,
with ``synchronous=full`` also a power loss. See docs/storage.md.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from finkportal_core.storage._sqlite_connections import (
    TABLE_SUFFIX,
    ConnectionCache,
    SqliteOptions,
    connect,
    sqlite_errors,
    table_path,
)
from finkportal_core.storage._sqlite_table import SqliteTable
from finkportal_core.storage.base import (
    InvalidRequestError,
    StoreUnavailableError,
    TableNotFoundError,
)
from finkportal_core.storage.columns import check_families, check_table_name

__all__ = ["SqliteOptions", "SqliteStore", "SqliteTable"]


class SqliteStore:
    """A directory of tables (implements ``finkportal_core.storage.base.Store``)."""

    def __init__(self, directory: str | os.PathLike[str], options: SqliteOptions | None = None):
        self.directory = Path(directory).absolute()
        self.options = options or SqliteOptions()
        _prepare_directory(self.directory)
        self._connections = ConnectionCache(self.directory, self.options)

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.directory)!r}, synchronous={self.options.synchronous!r})"

    def create_table(self, name: str, families: Sequence[str]) -> None:
        """Create the table file and its families; a no-op if the table exists.

        Safe against concurrent creators: the check and the creation are one
        write transaction.
        """
        check_table_name(name)
        wanted = check_families(families)
        with sqlite_errors(name):
            handle = connect(table_path(self.directory, name), self.options, create=True)
            try:
                _create_schema(handle.db, wanted)
            finally:
                handle.db.close()

    def table(self, name: str) -> SqliteTable:
        check_table_name(name)
        handle = self._connections.handle(name)
        with sqlite_errors(name):
            families = _read_families(handle.db)
        if not families:
            self._connections.forget(name)
            raise TableNotFoundError(f"table {name!r} does not exist in {self.directory}")
        return SqliteTable(name, families, self._connections)

    def tables(self) -> list[str]:
        files = self.directory.glob(f"*{TABLE_SUFFIX}")
        names = (path.name[: -len(TABLE_SUFFIX)] for path in files)
        return sorted(name for name in names if _is_table_name(name))

    def delete_table(self, name: str) -> None:
        """Drop the table's contents, then its files.

        Dropping first makes other processes that still hold the file open see
        ``TableNotFoundError`` instead of writing into an unlinked file.
        """
        check_table_name(name)
        path = table_path(self.directory, name)
        if not path.exists():
            raise TableNotFoundError(f"table {name!r} does not exist in {self.directory}")
        with sqlite_errors(name):
            handle = connect(path, self.options, create=False)
            try:
                _drop_schema(handle.db)
            finally:
                handle.db.close()
        self._connections.invalidate(name)
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{path}{suffix}")

    def close(self) -> None:
        self._connections.close()


def _prepare_directory(directory: Path) -> None:
    """Create the store directory; refuse clearly one this process cannot write."""
    try:
        if directory.exists() and not directory.is_dir():
            raise StoreUnavailableError(f"store path {directory} exists and is not a directory")
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreUnavailableError(
            f"cannot create or reach store directory {directory}: {exc}"
        ) from exc
    # SQLite needs to create -wal/-shm files next to each table, even to read it.
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StoreUnavailableError(
            f"store directory {directory} is not writable by this process "
            f"(uid {os.getuid()}); SQLite needs to create files there even to read"
        )


def _is_table_name(name: str) -> bool:
    try:
        check_table_name(name)
    except InvalidRequestError:
        return False
    return True


def _create_schema(db: sqlite3.Connection, families: tuple[str, ...]) -> None:
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("CREATE TABLE IF NOT EXISTS families(name TEXT PRIMARY KEY, position INTEGER)")
        if db.execute("SELECT 1 FROM families LIMIT 1").fetchone() is None:
            for position, family in enumerate(families):
                db.execute(
                    f'CREATE TABLE "f_{family}"(row BLOB PRIMARY KEY, cells BLOB NOT NULL) '
                    "WITHOUT ROWID"
                )
                db.execute("INSERT INTO families VALUES (?, ?)", (family, position))
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _read_families(db: sqlite3.Connection) -> list[str]:
    try:
        rows = db.execute("SELECT name FROM families ORDER BY position").fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []  # a file whose creation never committed
        raise
    return [name for (name,) in rows]


def _drop_schema(db: sqlite3.Connection) -> None:
    db.execute("BEGIN IMMEDIATE")
    try:
        for family in _read_families(db):
            db.execute(f'DROP TABLE IF EXISTS "f_{family}"')
        db.execute("DROP TABLE IF EXISTS families")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
