"""Rebuild every index table from the main table, with progress, resumable.

The main table is scanned in key order, reading only the cells an index record
needs; each chunk goes through the same record, classification and writer code
as the live indexer, so the rebuilt tables equal the live ones. After each chunk
the last main key done is checkpointed in ``finkportal_reindex``: an interrupted
run resumes after it. When the scan is done every night is recounted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from finkportal_core.codec import decode_value, encode_value
from finkportal_core.indexing.layout import (
    INDEX_TABLES,
    OBJECT_NIGHTS_TABLE,
    ensure_index_tables,
)
from finkportal_core.indexing.records import (
    RECORD_COLUMNS,
    RecordError,
    index_record,
)
from finkportal_core.storage.base import Row, Store, TableNotFoundError
from finkportal_core.tables import MAIN_TABLE
from finkportal_indexer.errors import ReindexError
from finkportal_indexer.statistics import PENDING_TABLE, ensure_statistics_tables, recount_night
from finkportal_indexer.writer import Classified, IndexWriter, classify

log = logging.getLogger(__name__)
CHECKPOINT_TABLE = "finkportal_reindex"
_CHECKPOINT_ROW = b"main"
_AFTER, _DONE, _COMPLETE = b"r:after", b"r:done", b"r:complete"


@dataclass
class ReindexReport:
    """What one run did."""

    resumed_after: bytes | None = None
    alerts: int = 0
    skipped: list[tuple[bytes, str]] = field(default_factory=list)
    nights: int = 0
    complete: bool = False


Progress = Callable[[str], None]


def reindex(store: Store, batch_size: int, *, drop: bool = False, restart: bool = False,
            stop: threading.Event | None = None, progress: Progress = log.info) -> ReindexReport:
    """Rebuild the index tables; resume an interrupted run unless ``restart``/``drop``."""
    _require_main(store)
    if drop:
        existing = set(store.tables())
        for name in (*INDEX_TABLES, PENDING_TABLE, CHECKPOINT_TABLE):
            if name in existing:
                store.delete_table(name)
    ensure_index_tables(store)
    ensure_statistics_tables(store)
    store.create_table(CHECKPOINT_TABLE, ("r",))
    checkpoint = store.table(CHECKPOINT_TABLE)
    state = {} if restart or drop else checkpoint.get(_CHECKPOINT_ROW)
    if state.get(_COMPLETE) and decode_value(state[_COMPLETE]):
        state = {}  # the last run finished: this is a new one
    report = ReindexReport(resumed_after=decode_value(state[_AFTER]) if _AFTER in state else None)
    done = decode_value(state[_DONE]) if _DONE in state else 0
    _scan_and_index(store, batch_size, report, done, stop, progress)
    if stop is not None and stop.is_set():
        progress(f"interrupted after {report.alerts} alerts; run again to resume")
        return report
    report.nights = recount_all_nights(store, progress)
    checkpoint.put_many([(_CHECKPOINT_ROW, {_COMPLETE: encode_value(True)})])
    report.complete = True
    return report


def _require_main(store: Store) -> None:
    try:
        store.table(MAIN_TABLE)
    except TableNotFoundError as exc:
        raise ReindexError(f"no main table {MAIN_TABLE!r} in this store: nothing to index") from exc


def _scan_and_index(store: Store, batch_size: int, report: ReindexReport, done: int,
                    stop: threading.Event | None, progress: Progress) -> None:
    writer = IndexWriter(store)
    checkpoint = store.table(CHECKPOINT_TABLE)
    started, last_report = time.monotonic(), 0.0
    for chunk in _chunks(store, report.resumed_after, batch_size):
        writer.write(_classify(chunk, report))
        done += len(chunk)
        report.alerts += len(chunk)
        checkpoint.put_many([(_CHECKPOINT_ROW, {
            _AFTER: encode_value(chunk[-1][0]), _DONE: encode_value(done),
            _COMPLETE: encode_value(False)})])
        if time.monotonic() - last_report >= 2.0:
            last_report = time.monotonic()
            rate = report.alerts / max(last_report - started, 1e-9)
            progress(f"reindexed {done} alerts ({rate:.0f}/s), last key {chunk[-1][0].decode()}")
        if stop is not None and stop.is_set():
            return
    progress(f"scan done: {done} alerts indexed, {len(report.skipped)} skipped")


def _chunks(store: Store, after: bytes | None, size: int) -> Iterator[list[Row]]:
    start = after + b"\x00" if after else None  # the smallest key greater than ``after``
    rows = store.table(MAIN_TABLE).scan(row_start=start, columns=list(RECORD_COLUMNS))
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _classify(chunk: list[Row], report: ReindexReport) -> list[Classified]:
    classified: list[Classified] = []
    for key, cells in chunk:
        try:
            classified.append(classify(index_record(key, cells)))
        except RecordError as exc:
            report.skipped.append((key, str(exc)))
            log.warning("skipped: not indexable", extra={"key": key.decode(), "error": str(exc)})
    return classified


def recount_all_nights(store: Store, progress: Progress) -> int:
    """Recount the statistics of every night that has object-night rows."""
    nights = list(stored_nights(store))
    for night in nights:
        recount_night(store, night)
    progress(f"statistics recounted for {len(nights)} nights")
    return len(nights)


def stored_nights(store: Store) -> Iterator[str]:
    """Every night with object-night rows, one short scan per night (skip scan)."""
    table = store.table(OBJECT_NIGHTS_TABLE)
    start = b""
    while True:
        first = next(table.scan(row_start=start, columns=[b"c"], limit=1), None)
        if first is None:
            return
        night = first[0].split(b"_", 1)[0]
        yield night.decode()
        start = night + b"`"  # "`" follows "_": the first key of the next night
