"""Mapping of happybase / Thrift / socket failures to storage errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import happybase
import Hbase_thrift  # created by `import happybase`, which loads Hbase.thrift
from thriftpy2.thrift import TException
from thriftpy2.transport import TTransportException

from finkportal_core.storage.base import (
    InvalidRequestError,
    StorageError,
    StoreUnavailableError,
    TableNotFoundError,
)

HBaseIOError = Hbase_thrift.IOError
HBaseIllegalArgument = Hbase_thrift.IllegalArgument
HBaseAlreadyExists = Hbase_thrift.AlreadyExists

# Java exception names found in the stack trace the HBase Thrift server sends back.
_MISSING_TABLE = ("TableNotFoundException", "table does not exist")
_BAD_REQUEST = ("NoSuchColumnFamilyException", "IllegalArgumentException")
_FIRST_LINE_MAX = 300


def _text(message: object) -> str:
    # happybase asks Thrift not to decode strings: messages arrive as bytes.
    if isinstance(message, bytes):
        return message.decode("utf-8", "replace")
    return "" if message is None else str(message)


def _first_line(message: object) -> str:
    text = _text(message).strip()
    return text.splitlines()[0][:_FIRST_LINE_MAX] if text else "(no message)"


def storage_error(exc: BaseException, table: str | None) -> StorageError:
    """The storage error for one failure of a call on ``table`` (``None``: store-level)."""
    where = f"table {table!r}" if table else "HBase"
    if isinstance(exc, HBaseIOError):
        message = _text(exc.message)
        if any(marker in message for marker in _MISSING_TABLE):
            return TableNotFoundError(f"{where} does not exist: {_first_line(message)}")
        if any(marker in message for marker in _BAD_REQUEST):
            return InvalidRequestError(f"{where}: HBase refused it: {_first_line(message)}")
        # Region moves, RegionTooBusy, server-side timeouts...: worth a retry.
        return StoreUnavailableError(f"{where}: HBase I/O error: {_first_line(message)}")
    if isinstance(exc, HBaseIllegalArgument):
        return InvalidRequestError(f"{where}: illegal argument: {_first_line(exc.message)}")
    if isinstance(exc, happybase.NoConnectionsAvailable):
        return StoreUnavailableError(f"{where}: no HBase connection free in the pool: {exc}")
    if isinstance(exc, TException | OSError):
        return StoreUnavailableError(f"{where}: HBase Thrift server unreachable: {exc!r}")
    return StorageError(f"{where}: unexpected HBase client failure: {exc!r}")


_CAUGHT = (TException, OSError, happybase.NoConnectionsAvailable)


@contextlib.contextmanager
def hbase_errors(table: str | None) -> Iterator[None]:
    """Re-raise Thrift/socket failures as storage errors."""
    try:
        yield
    except _CAUGHT as exc:
        raise storage_error(exc, table) from exc


def is_broken_connection(error: StorageError) -> bool:
    """Whether ``error`` came from a dead socket (e.g. a pooled connection the server
    closed while idle) rather than from an answer of the server."""
    return isinstance(error.__cause__, TTransportException | OSError)
