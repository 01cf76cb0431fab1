"""Write prepared batches to the store: history first, then the main rows."""

from __future__ import annotations

import logging

from finkportal_core.storage.base import (
    Row,
    StorageError,
    Store,
    StoreUnavailableError,
)
from finkportal_core.tables import HISTORY_TABLE, MAIN_TABLE
from finkportal_ingest.batch import DeadLetter, PreparedBatch
from finkportal_ingest.errors import TransientIngestError
from finkportal_ingest.recent import RecentKeys

log = logging.getLogger(__name__)


class AlertSink:
    """Durable, idempotent writes: rows are keyed by natural keys, so rewrites change nothing."""

    def __init__(self, store: Store, history_cache_keys: int = 0):
        self._main = store.table(MAIN_TABLE)
        self._history = store.table(HISTORY_TABLE)
        self._written_history = RecentKeys(history_cache_keys)

    def write(self, batch: PreparedBatch) -> int:
        """Write the whole batch; return how many history rows it wrote.

        A row the store refuses makes the batch fall back to one message at a time.

        Raises ``TransientIngestError`` when the store is unavailable: nothing may be
        committed then, and the caller retries the same batch.
        """
        history = [(key, cells) for key, cells in batch.history_rows.items()
                   if key not in self._written_history]
        try:
            self._write_rows(batch.main_rows, history)
        except StoreUnavailableError as exc:
            raise TransientIngestError(str(exc)) from exc
        except StorageError as exc:
            log.warning("batch write refused, retrying per message", extra={"error": str(exc)})
            return self._write_each(batch)
        self._written_history.add_all(key for key, _ in history)
        return len(history)

    def _write_rows(self, main_rows: list[Row], history_rows: list[Row]) -> None:
        # History first: once a main row is readable its history is too.
        if history_rows:
            self._history.put_many(history_rows)
        if main_rows:
            self._main.put_many(main_rows)

    def _write_each(self, batch: PreparedBatch) -> int:
        """Isolate the messages the store refuses; they become dead letters."""
        kept = []
        for message, main, history in batch.rows_by_message:
            try:
                self._write_rows(main, history)
                kept.append((message, main, history))
            except StoreUnavailableError as exc:
                raise TransientIngestError(str(exc)) from exc
            except StorageError as exc:
                batch.dead_letters.append(DeadLetter(message, f"store refused: {exc}", "store"))
        batch.rows_by_message = kept
        batch.main_rows = [row for _, main, _ in kept for row in main]
        return sum(len(history) for _, _, history in kept)
