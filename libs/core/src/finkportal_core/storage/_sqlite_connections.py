"""SQLite connections of the embedded store: one per (thread, table file), plus error mapping.

Each table is its own database file in WAL mode, so writers of different tables
never wait for one another, readers never block writers, and several processes
can share a store directory. SQLite connections must not be shared between
threads that use them at once, nor carried across ``fork``: every thread gets its
own, and a forked child silently opens fresh ones.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import msgpack

from finkportal_core.storage.base import (
    StorageError,
    StoreUnavailableError,
    TableNotFoundError,
)

SYNCHRONOUS_MODES = ("normal", "full")
TABLE_SUFFIX = ".sqlite"

# Primary SQLite result codes meaning "busy, out of resources or not reachable
# right now": a caller may retry them. Others (CORRUPT, NOTADB...) are permanent.
_TRANSIENT_CODES = {
    3: "SQLITE_PERM",
    5: "SQLITE_BUSY",
    6: "SQLITE_LOCKED",
    7: "SQLITE_NOMEM",
    8: "SQLITE_READONLY",
    10: "SQLITE_IOERR",
    13: "SQLITE_FULL",
    14: "SQLITE_CANTOPEN",
    15: "SQLITE_PROTOCOL",
}

# Connections inherited through fork: kept referenced forever so that the child
# never closes (and never checkpoints through) the parent's file handles.
_INHERITED: list[object] = []


@dataclass(frozen=True)
class SqliteOptions:
    """Tuning of the embedded store (defaults chosen by bench/bench_storage.py)."""

    synchronous: str = "normal"
    busy_timeout_s: float = 30.0
    page_size: int = 16384
    wal_autocheckpoint_pages: int = 4096
    cache_size_kib: int = 32768

    def __post_init__(self) -> None:
        if self.synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(
                f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}, "
                f"got {self.synchronous!r}"
            )


def storage_error(exc: sqlite3.Error, table: str) -> StorageError:
    """Map a sqlite3 exception to the storage error a caller can act on."""
    message = f"table {table!r}: {exc}"
    if "no such table" in str(exc):
        return TableNotFoundError(f"table {table!r} does not exist (deleted?): {exc}")
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and (code & 0xFF) in _TRANSIENT_CODES:
        return StoreUnavailableError(message)
    if isinstance(exc, sqlite3.OperationalError) and code is None:
        return StoreUnavailableError(message)
    return StorageError(message)


@contextlib.contextmanager
def sqlite_errors(table: str) -> Iterator[None]:
    """Re-raise sqlite3 errors as storage errors."""
    try:
        yield
    except sqlite3.Error as exc:
        raise storage_error(exc, table) from exc


def merge_packed(packer: msgpack.Packer, old: bytes, new: bytes) -> bytes:
    """HBase put semantics on packed families: the new cells win, the others stay."""
    old_cells = msgpack.unpackb(old)
    new_cells = msgpack.unpackb(new)
    if old_cells.keys() <= new_cells.keys():
        return new  # a full rewrite: nothing to keep, nothing to repack
    old_cells.update(new_cells)
    return packer.pack(old_cells)


@dataclass
class Handle:
    """One thread's connection to one table file, with its reusable packer."""

    db: sqlite3.Connection
    packer: msgpack.Packer
    generation: int


def table_path(directory: Path, table: str) -> Path:
    return directory / f"{table}{TABLE_SUFFIX}"


def connect(path: Path, options: SqliteOptions, *, create: bool) -> Handle:
    """Open a connection with the store's pragmas (``create``: make the file if absent)."""
    mode = "rwc" if create else "rw"
    db = sqlite3.connect(
        f"file:{quote(str(path))}?mode={mode}",
        uri=True,
        isolation_level=None,  # we issue BEGIN/COMMIT ourselves
        check_same_thread=False,  # closed by Store.close() from any thread
        timeout=options.busy_timeout_s,
        cached_statements=256,
    )
    try:
        _configure(db, options)
    except BaseException:
        db.close()
        raise
    packer = msgpack.Packer()
    merge_packer = msgpack.Packer()
    db.create_function(
        "fp_merge", 2, lambda old, new: merge_packed(merge_packer, old, new), deterministic=True
    )
    return Handle(db, packer, 0)


def _configure(db: sqlite3.Connection, options: SqliteOptions) -> None:
    # page_size only takes effect on a database that has no table yet.
    db.execute(f"PRAGMA page_size={int(options.page_size)}")
    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={options.synchronous.upper()}")
    db.execute(f"PRAGMA wal_autocheckpoint={int(options.wal_autocheckpoint_pages)}")
    db.execute(f"PRAGMA cache_size=-{int(options.cache_size_kib)}")


@dataclass
class ConnectionCache:
    """Per-thread connections to the table files of one store directory."""

    directory: Path
    options: SqliteOptions
    _local: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _opened: list[sqlite3.Connection] = field(default_factory=list)
    _generations: dict[str, int] = field(default_factory=dict)
    _pid: int = field(default_factory=os.getpid)
    closed: bool = False

    def handle(self, table: str) -> Handle:
        """This thread's connection to ``table`` (opened on first use)."""
        self._forget_if_forked()
        if self.closed:
            raise StorageError(f"the store at {self.directory} is closed")
        handles: dict[str, Handle] = self._thread_handles()
        current = handles.get(table)
        generation = self._generations.get(table, 0)
        if current is None or current.generation != generation:
            current = self._open(table, generation)
            handles[table] = current
        return current

    def invalidate(self, table: str) -> None:
        """Make every thread reopen ``table`` (after it was dropped and maybe recreated)."""
        with self._lock:
            self._generations[table] = self._generations.get(table, 0) + 1

    def forget(self, table: str) -> None:
        """Drop this thread's connection to ``table`` (it points at a deleted file)."""
        self._thread_handles().pop(table, None)

    def close(self) -> None:
        with self._lock:
            self.closed = True
            opened, self._opened = self._opened, []
        for db in opened:
            with contextlib.suppress(sqlite3.Error):
                db.close()

    def _open(self, table: str, generation: int) -> Handle:
        path = table_path(self.directory, table)
        if not path.exists():
            raise TableNotFoundError(f"table {table!r} does not exist in {self.directory}")
        with sqlite_errors(table):
            handle = connect(path, self.options, create=False)
        handle.generation = generation
        with self._lock:
            self._opened.append(handle.db)
        return handle

    def _thread_handles(self) -> dict[str, Handle]:
        handles = getattr(self._local, "handles", None)
        if handles is None:
            handles = self._local.handles = {}
        return handles

    def _forget_if_forked(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            _INHERITED.extend(self._opened)
            self._opened = []
            self._local = threading.local()
            self._pid = os.getpid()
