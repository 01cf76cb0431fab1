"""An HBase Thrift (v1) server double: happybase's own ``Hbase.thrift`` served by thriftpy2.

It keeps tables in memory and answers the Thrift calls happybase makes for what
the storage adapter uses, with HBase's semantics where they matter to a client:
row keys sorted as unsigned bytes; ``b"f"`` selects a family and ``b"f:"`` only the
empty qualifier (``KeyValue.parseColumn``); reversed scans start at ``startRow``
(inclusive, the upper bound) and stop before ``stopRow``; puts to an unknown family
fail with ``NoSuchColumnFamilyException`` inside an ``IOError`` while the other rows
of the batch are applied; tables must be disabled before deletion; errors carry the
Java exception names the real server puts in its messages.

Not modelled: cell versions (one version per cell, as tables are created with
max_versions=1), regions, filters, scan batching (``TScan.batchSize``).

Run as a script (``python hbase_double.py --port 0``): it prints the port it
listens on, then serves until killed. ``HBaseDouble`` (hbase_process.py) does that.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import itertools
import sys
import threading
import time
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import thriftpy2
from thriftpy2.protocol import TBinaryProtocolFactory, TCompactProtocolFactory
from thriftpy2.server import TThreadedServer
from thriftpy2.thrift import TApplicationException, TProcessor
from thriftpy2.transport import (
    TBufferedTransportFactory,
    TFramedTransportFactory,
    TServerSocket,
)


def load_hbase_idl() -> Any:
    """happybase's Hbase.thrift, loaded without importing happybase."""
    spec = importlib.util.find_spec("happybase")
    if spec is None or spec.origin is None:
        raise ImportError("happybase is not installed: its Hbase.thrift is needed")
    idl = Path(spec.origin).parent / "Hbase.thrift"
    return thriftpy2.load(str(idl), module_name="hbase_double_thrift")


HB = load_hbase_idl()
Cell = tuple[bytes, int]  # (value, timestamp)


def _io_error(java_class: str, detail: str) -> Any:
    return HB.IOError(message=f"{java_class}: {detail}\n\tat (hbase double)")


def _table_not_found(name: bytes) -> Any:
    return _io_error("org.apache.hadoop.hbase.TableNotFoundException", name.decode("latin-1"))


def parse_column(column: bytes) -> tuple[bytes, bytes | None]:
    """HBase's ``KeyValue.parseColumn``: ``f`` -> (f, None); ``f:`` -> (f, b""); ``f:q``."""
    family, colon, qualifier = column.partition(b":")
    return family, (qualifier if colon else None)


class _Table:
    def __init__(self, families: dict[bytes, Any]):
        self.families = families  # family name (no colon) -> ColumnDescriptor
        self.enabled = True
        self.keys: list[bytes] = []  # sorted
        self.rows: dict[bytes, dict[bytes, Cell]] = {}  # row -> {b"f:q": (value, ts)}

    def put(self, row: bytes, column: bytes, value: bytes, ts: int) -> None:
        if row not in self.rows:
            insort(self.keys, row)
            self.rows[row] = {}
        self.rows[row][column] = (value, ts)

    def delete(self, row: bytes, family: bytes, qualifier: bytes | None) -> None:
        cells = self.rows.get(row)
        if cells is None:
            return
        doomed = [c for c in cells if _matches(c, [(family, qualifier)])]
        for column in doomed:
            del cells[column]
        if not cells:
            self.drop_row(row)

    def drop_row(self, row: bytes) -> None:
        if self.rows.pop(row, None) is not None:
            del self.keys[bisect_left(self.keys, row)]


def _matches(column: bytes, wanted: list[tuple[bytes, bytes | None]]) -> bool:
    family, _, qualifier = column.partition(b":")
    return any(f == family and (q is None or q == qualifier) for f, q in wanted)


def _thrift_errors(method: Callable[..., Any]) -> Callable[..., Any]:
    """Unexpected failures become TApplicationException, as a Java Thrift server sends."""

    @functools.wraps(method)
    def wrapper(*args: Any) -> Any:
        try:
            return method(*args)
        except (HB.IOError, HB.IllegalArgument, HB.AlreadyExists, TApplicationException):
            raise
        except Exception as exc:
            raise TApplicationException(TApplicationException.INTERNAL_ERROR, repr(exc)) from exc

    return wrapper


class InMemoryHBase:
    """The Thrift handler: one method per Hbase service call the adapter needs."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tables: dict[bytes, _Table] = {}
        self._scanners: dict[int, dict[str, Any]] = {}
        self._scanner_ids = itertools.count(1)
        self._clock = 0

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)

        def not_modelled(*_args: Any) -> None:
            raise TApplicationException(
                TApplicationException.UNKNOWN_METHOD, f"{name} is not implemented by the double"
            )

        return not_modelled


    def _now(self) -> int:
        self._clock = max(self._clock + 1, int(time.time() * 1000))
        return self._clock

    def _table(self, name: bytes, *, enabled: bool = True) -> _Table:
        table = self._tables.get(name)
        if table is None:
            raise _table_not_found(name)
        if enabled and not table.enabled:
            raise _io_error("org.apache.hadoop.hbase.TableNotEnabledException", name.decode())
        return table

    def _selection(self, table: _Table, columns: list[bytes] | None
                   ) -> list[tuple[bytes, bytes | None]] | None:
        if not columns:
            return None
        wanted = [parse_column(column) for column in columns]
        for family, _ in wanted:
            if family not in table.families:
                raise _io_error(
                    "org.apache.hadoop.hbase.regionserver.NoSuchColumnFamilyException",
                    f"Column family {family.decode('latin-1')} does not exist",
                )
        return wanted

    def _result(self, table: _Table, row: bytes, wanted: list[tuple[bytes, bytes | None]] | None,
                before: int | None = None, sort: bool = False) -> Any | None:
        cells = {
            column: HB.TCell(value=value, timestamp=ts)
            for column, (value, ts) in table.rows.get(row, {}).items()
            if (wanted is None or _matches(column, wanted)) and (before is None or ts < before)
        }
        if not cells:
            return None
        if sort:
            ordered = [HB.TColumn(columnName=c, cell=cells[c]) for c in sorted(cells)]
            return HB.TRowResult(row=row, sortedColumns=ordered)
        return HB.TRowResult(row=row, columns=cells)


    @_thrift_errors
    def getTableNames(self) -> list[bytes]:
        with self._lock:
            return sorted(self._tables)

    @_thrift_errors
    def createTable(self, name: bytes, families: list[Any]) -> None:
        with self._lock:
            if name in self._tables:
                raise HB.AlreadyExists(message="table name already in use")
            if not families:
                raise HB.IllegalArgument(message="Table should have at least one column family.")
            by_name = {d.name.rstrip(b":"): d for d in families}
            self._tables[name] = _Table(by_name)

    @_thrift_errors
    def getColumnDescriptors(self, name: bytes) -> dict[bytes, Any]:
        with self._lock:
            table = self._table(name, enabled=False)
            return {f + b":": HB.ColumnDescriptor(name=f + b":", maxVersions=d.maxVersions)
                    for f, d in sorted(table.families.items())}

    @_thrift_errors
    def isTableEnabled(self, name: bytes) -> bool:
        with self._lock:
            return self._table(name, enabled=False).enabled

    @_thrift_errors
    def enableTable(self, name: bytes) -> None:
        with self._lock:
            self._table(name, enabled=False).enabled = True

    @_thrift_errors
    def disableTable(self, name: bytes) -> None:
        with self._lock:
            self._table(name).enabled = False

    @_thrift_errors
    def deleteTable(self, name: bytes) -> None:
        with self._lock:
            if name not in self._tables:
                raise _io_error("java.io.IOException", "table does not exist")
            if self._tables[name].enabled:
                raise _io_error("org.apache.hadoop.hbase.TableNotDisabledException", name.decode())
            del self._tables[name]


    @_thrift_errors
    def getRowWithColumnsTs(self, name: bytes, row: bytes, columns: list[bytes] | None,
                            timestamp: int | None, _attributes: Any = None) -> list[Any]:
        return self.getRowsWithColumnsTs(name, [row], columns, timestamp)

    @_thrift_errors
    def getRowsWithColumnsTs(self, name: bytes, rows: list[bytes], columns: list[bytes] | None,
                             timestamp: int | None, _attributes: Any = None) -> list[Any]:
        with self._lock:
            table = self._table(name)
            wanted = self._selection(table, columns)
            results = (self._result(table, row, wanted, timestamp) for row in rows)
            return [result for result in results if result is not None]

    def getRowWithColumns(self, name: bytes, row: bytes, columns: list[bytes] | None,
                          attributes: Any = None) -> list[Any]:
        return self.getRowWithColumnsTs(name, row, columns, None)

    def getRowsWithColumns(self, name: bytes, rows: list[bytes], columns: list[bytes] | None,
                           attributes: Any = None) -> list[Any]:
        return self.getRowsWithColumnsTs(name, rows, columns, None)


    @_thrift_errors
    def mutateRowsTs(self, name: bytes, batches: list[Any], timestamp: int | None,
                     _attributes: Any = None) -> None:
        with self._lock:
            table = self._table(name)
            puts, deletes = _split_mutations(batches)  # IllegalArgument before any write
            ts = self._now() if timestamp is None else timestamp
            failed = [row for row, column, value in puts if not self._apply_put(table, row, column,
                                                                                value, ts)]
            for row, family, qualifier in deletes:
                table.delete(row, family, qualifier)
        if failed:
            raise _io_error(
                "org.apache.hadoop.hbase.client.RetriesExhaustedWithDetailsException",
                f"Failed {len(failed)} actions: org.apache.hadoop.hbase.regionserver."
                f"NoSuchColumnFamilyException: Column family does not exist (rows {failed[:3]!r})",
            )

    def _apply_put(self, table: _Table, row: bytes, column: bytes, value: bytes, ts: int) -> bool:
        if parse_column(column)[0] not in table.families:
            return False
        table.put(row, column, value, ts)
        return True

    def mutateRows(self, name: bytes, batches: list[Any], attributes: Any = None) -> None:
        self.mutateRowsTs(name, batches, None)

    @_thrift_errors
    def deleteAllRow(self, name: bytes, row: bytes, _attributes: Any = None) -> None:
        with self._lock:
            self._table(name).drop_row(row)

    @_thrift_errors
    def deleteAll(self, name: bytes, row: bytes, column: bytes, _attributes: Any = None) -> None:
        with self._lock:
            self._table(name).delete(row, *parse_column(column))


    @_thrift_errors
    def scannerOpenWithScan(self, name: bytes, scan: Any, _attributes: Any = None) -> int:
        if scan.filterString or scan.batchSize:
            raise TApplicationException(TApplicationException.UNKNOWN,
                                        "filters and scan batching are not modelled by the double")
        with self._lock:
            table = self._table(name)
            state = {"table": name, "wanted": self._selection(table, scan.columns),
                     "start": scan.startRow or b"", "stop": scan.stopRow or b"",
                     "reversed": bool(scan.reversed), "sort": bool(scan.sortColumns),
                     "before": scan.timestamp, "last": None}
            scanner_id = next(self._scanner_ids)
            self._scanners[scanner_id] = state
            return scanner_id

    @_thrift_errors
    def scannerGetList(self, scanner_id: int, count: int) -> list[Any]:
        with self._lock:
            state = self._scanners.get(scanner_id)
            if state is None:
                raise HB.IllegalArgument(message="scanner ID is invalid")
            table = self._table(state["table"])
            results: list[Any] = []
            for row in _keys_in_range(table.keys, state):
                state["last"] = row
                result = self._result(table, row, state["wanted"], state["before"], state["sort"])
                if result is not None:
                    results.append(result)
                    if len(results) >= count:
                        break
            return results

    def scannerGet(self, scanner_id: int) -> list[Any]:
        return self.scannerGetList(scanner_id, 1)

    @_thrift_errors
    def scannerClose(self, scanner_id: int) -> None:
        with self._lock:
            if self._scanners.pop(scanner_id, None) is None:
                raise HB.IllegalArgument(message="scanner ID is invalid")


def _split_mutations(batches: list[Any]) -> tuple[list[tuple[bytes, bytes, bytes]],
                                                  list[tuple[bytes, bytes, bytes | None]]]:
    puts, deletes = [], []
    for batch in batches:
        if not batch.row:
            raise HB.IllegalArgument(message="java.lang.IllegalArgumentException: Row length is 0")
        for mutation in batch.mutations:
            family, qualifier = parse_column(mutation.column)
            if mutation.isDelete:
                deletes.append((batch.row, family, qualifier))
            elif qualifier is None:
                raise HB.IllegalArgument(message="Invalid famAndQf provided.")
            else:
                puts.append((batch.row, mutation.column, mutation.value or b""))
    return puts, deletes


def _keys_in_range(keys: list[bytes], state: dict[str, Any]) -> Iterable[bytes]:
    """Keys after the scanner's last one, in its direction and bounds (HBase semantics)."""
    start, stop, last = state["start"], state["stop"], state["last"]
    if state["reversed"]:
        # startRow is the inclusive upper bound, stopRow the exclusive lower one.
        upper = bisect_left(keys, last) if last is not None else (
            bisect_right(keys, start) if start else len(keys))
        lower = bisect_right(keys, stop) if stop else 0
        return reversed(keys[lower:upper])
    begin = bisect_right(keys, last) if last is not None else bisect_left(keys, start)
    end = bisect_left(keys, stop) if stop else len(keys)
    return keys[begin:end]


_TRANSPORTS = {"buffered": TBufferedTransportFactory, "framed": TFramedTransportFactory}
_PROTOCOLS = {"binary": TBinaryProtocolFactory, "compact": TCompactProtocolFactory}


def serve(host: str, port: int, transport: str, protocol: str, idle_timeout_ms: int | None) -> None:
    """Listen, print the bound port on stdout, then serve forever (a thread per client)."""
    # Built by hand rather than with thriftpy2's make_server, which refuses port 0.
    server = TThreadedServer(
        TProcessor(HB.Hbase, InMemoryHBase()),
        TServerSocket(host=host, port=port, client_timeout=idle_timeout_ms),
        iprot_factory=_PROTOCOLS[protocol](),
        itrans_factory=_TRANSPORTS[transport](),
    )
    server.trans.listen()
    print(server.trans.sock.getsockname()[1], flush=True)
    while True:
        client = server.trans.accept()
        threading.Thread(target=server.handle, args=(client,), daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    parser.add_argument("--transport", choices=sorted(_TRANSPORTS), default="buffered")
    parser.add_argument("--protocol", choices=sorted(_PROTOCOLS), default="binary")
    parser.add_argument("--idle-timeout-ms", type=int, default=None,
                        help="drop client connections idle this long (HBase: 60000)")
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.transport, args.protocol, args.idle_timeout_ms)


if __name__ == "__main__":
    sys.exit(main())
