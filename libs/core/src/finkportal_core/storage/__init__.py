"""Wide-column storage: the interface (``base``), two adapters and ``open_store``.

``open_store(settings.store_url)`` is the only way services obtain a store:

- ``sqlite:<directory>[?synchronous=normal|full&busy_timeout_ms=<ms>]``: the
  embedded store (a directory of SQLite files, created if missing; relative paths
  are relative to the working directory);
- ``hbase://<host>[:<port>][?table_prefix=..&pool_size=..&transport=buffered|framed
  &protocol=binary|compact&timeout_ms=..]``: HBase through its Thrift gateway.
"""

from __future__ import annotations

from finkportal_core.storage._urls import ACCEPTED, HBaseUrl, SqliteUrl, parse_store_url
from finkportal_core.storage.base import (
    Cells,
    InvalidRequestError,
    Row,
    StorageError,
    Store,
    StoreUnavailableError,
    Table,
    TableNotFoundError,
)

__all__ = [
    "ACCEPTED",
    "Cells",
    "InvalidRequestError",
    "Row",
    "StorageError",
    "Store",
    "StoreUnavailableError",
    "Table",
    "TableNotFoundError",
    "open_store",
]


def open_store(url: str) -> Store:
    """Open the store a URL names; ``ValueError`` if the URL is malformed or unknown."""
    parsed = parse_store_url(url)
    if isinstance(parsed, SqliteUrl):
        from finkportal_core.storage.sqlite import SqliteOptions, SqliteStore

        options = SqliteOptions(synchronous=parsed.synchronous,
                                busy_timeout_s=parsed.busy_timeout_ms / 1000)
        return SqliteStore(parsed.directory, options)
    return _open_hbase(parsed)


def _open_hbase(parsed: HBaseUrl) -> Store:
    # Imported here: happybase loads its Thrift IDL at import, which the embedded
    # store never needs.
    from finkportal_core.storage.hbase import DEFAULT_TIMEOUT_MS, HBaseStore

    return HBaseStore(
        parsed.host,
        parsed.port,
        table_prefix=parsed.table_prefix,
        pool_size=parsed.pool_size,
        transport=parsed.transport,
        protocol=parsed.protocol,
        timeout_ms=parsed.timeout_ms or DEFAULT_TIMEOUT_MS,
    )
