"""The wide-column table interface every storage adapter implements.

Modelled on HBase as happybase exposes it: byte row keys, cells addressed by
``family:qualifier`` byte strings, values as bytes. Two adapters implement it:
``finkportal_core.storage.sqlite`` (embedded, the default on one machine) and
``finkportal_core.storage.hbase`` (production, through happybase/Thrift).

Semantics that differ from raw happybase, chosen so that callers never need to
know which adapter they hold:

- ``scan`` bounds are always ``row_start`` (inclusive, lower) and ``row_stop``
  (exclusive, upper), whatever the direction; ``reverse=True`` only changes the
  order rows come back in. (HBase's own reversed scan takes the *upper* bound as
  start; the HBase adapter translates.)
- ``columns`` selects cells: an entry ``b"i"`` (or ``b"i:"``) selects a whole
  family, ``b"i:jd"`` one cell. ``None`` selects every cell. A row with no
  selected cell is not returned by ``scan``/``get_many`` and is ``{}`` for
  ``get``.
- ``put_many`` merges cells into existing rows (an HBase put), and is durable
  when it returns: callers commit Kafka offsets after it.
- An empty ``row_start``/``row_stop`` (``b""``) means "no bound", as in HBase.
- Row keys are non-empty ``bytes``, column names ``b"family:qualifier"`` of a
  family of the table (the qualifier may be empty), values ``bytes`` (possibly
  empty). Anything else raises ``InvalidRequestError`` before anything is
  written: one bad row refuses the whole ``put_many`` batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Protocol, runtime_checkable

Row = tuple[bytes, dict[bytes, bytes]]
Cells = Mapping[bytes, bytes]


class StorageError(Exception):
    """Base of every storage error."""


class StoreUnavailableError(StorageError):
    """The store cannot be reached or is busy: transient, retry with backoff."""


class TableNotFoundError(StorageError):
    """The named table does not exist: permanent until someone creates it."""


class InvalidRequestError(StorageError):
    """A call with arguments no adapter can honour (bad column name, empty key...)."""


@runtime_checkable
class Table(Protocol):
    """One table: rows sorted by their byte keys."""

    name: str

    def put_many(self, rows: Iterable[tuple[bytes, Cells]]) -> None:
        """Write a batch of rows, merging cells into existing rows; durable on return."""
        ...

    def get(self, row: bytes, columns: Sequence[bytes] | None = None) -> dict[bytes, bytes]:
        """Return the selected cells of one row (``{}`` when absent)."""
        ...

    def get_many(
        self, rows: Sequence[bytes], columns: Sequence[bytes] | None = None
    ) -> list[Row]:
        """Return the rows that exist, in the order asked, with their selected cells."""
        ...

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
        """Iterate rows in key order (or reverse) within the bounds or prefix.

        ``row_prefix`` cannot be combined with ``row_start``/``row_stop``.
        """
        ...

    def delete_many(self, rows: Iterable[bytes]) -> None:
        """Delete whole rows; absent rows are ignored."""
        ...


@runtime_checkable
class Store(Protocol):
    """A set of tables: an HBase namespace or a directory of SQLite files."""

    def create_table(self, name: str, families: Sequence[str]) -> None:
        """Create a table with its column families; a no-op if it already exists."""
        ...

    def table(self, name: str) -> Table:
        """Return an existing table (``TableNotFoundError`` otherwise)."""
        ...

    def tables(self) -> list[str]:
        """Names of the existing tables, sorted."""
        ...

    def delete_table(self, name: str) -> None:
        """Drop a table and all its rows (used by tests and reindex)."""
        ...

    def close(self) -> None:
        """Release connections and file handles."""
        ...
