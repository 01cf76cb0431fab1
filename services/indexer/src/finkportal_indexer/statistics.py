"""Night statistics: recounted from the object-night rows, never incremented.

The handler marks the nights a batch touched, durably (a row in
``ztf_statistics_pending``, written before the batch is committed) and in memory.
A background thread recounts marked nights at most every ``interval_s`` and then
clears their marks; at start-up it recounts what a previous process left marked,
so a crash between a batch and its recount cannot leave stale statistics.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from finkportal_core.codec import encode_value
from finkportal_core.indexing.layout import OBJECT_NIGHTS_TABLE, STATISTICS_TABLE
from finkportal_core.indexing.summary import night_prefix, night_statistics
from finkportal_core.storage.base import StorageError, Store
from finkportal_indexer.metrics import IndexerMetrics

log = logging.getLogger(__name__)
PENDING_TABLE = "ztf_statistics_pending"
_PENDING_CELL = b"p:pending"


def ensure_statistics_tables(store: Store) -> None:
    store.create_table(PENDING_TABLE, ("p",))


def recount_night(store: Store, night: str) -> dict[bytes, bytes]:
    """Recount one night from its object-night rows and store the statistics row."""
    rows = store.table(OBJECT_NIGHTS_TABLE).scan(row_prefix=night_prefix(night))
    cells = night_statistics(rows)
    table = store.table(STATISTICS_TABLE)
    old = table.get(night.encode())
    if set(old) - set(cells):  # a class or band vanished (an alert re-ingested): drop it
        table.delete_many([night.encode()])
    if cells:
        table.put_many([(night.encode(), cells)])
    return cells


class StatisticsRefresher:
    """Recounts marked nights in a background thread; ``mark`` is called by the handler."""

    def __init__(self, store: Store, metrics: IndexerMetrics, interval_s: float):
        self._store = store
        self._metrics = metrics
        self._interval = interval_s
        self._marked: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="statistics", daemon=True)

    def mark(self, nights: Iterable[str]) -> None:
        """Record durably, then in memory, that ``nights`` need a recount."""
        nights = sorted(set(nights))
        if not nights:
            return
        pending = self._store.table(PENDING_TABLE)
        with self._lock:  # with _clear_unless_marked: a durable mark is never cleared unseen
            pending.put_many([(night.encode(), {_PENDING_CELL: encode_value(True)})
                              for night in nights])
            self._marked.update(nights)

    def start(self) -> StatisticsRefresher:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread after a last recount of every marked night."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        self._load_pending()
        while not self._stop.wait(self._interval):
            self.refresh()
        self.refresh()

    def _load_pending(self) -> None:
        try:
            left = [key.decode() for key, _ in self._store.table(PENDING_TABLE).scan()]
        except StorageError as exc:
            log.warning("cannot read pending nights", extra={"error": str(exc)})
            return
        with self._lock:
            self._marked.update(left)

    def refresh(self) -> None:
        """Recount every marked night once."""
        with self._lock:
            nights, self._marked = sorted(self._marked), set()
        for night in nights:
            try:
                with self._metrics.statistics_seconds.time():
                    recount_night(self._store, night)
                self._clear_unless_marked(night)
            except StorageError as exc:  # retried at the next interval
                log.warning("statistics recount failed", extra={"night": night,
                                                                "error": str(exc)})
                with self._lock:
                    self._marked.add(night)

    def _clear_unless_marked(self, night: str) -> None:
        with self._lock:
            if night in self._marked:  # touched again meanwhile: keep the durable mark
                return
            self._store.table(PENDING_TABLE).delete_many([night.encode()])
