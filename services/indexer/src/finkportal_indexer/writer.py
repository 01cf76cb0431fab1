"""Write the index rows, object-night cells and object summaries of classified records.

Shared by the live indexer and the reindex command, so both write exactly the same
rows. Every write is idempotent: index rows and object-night cells are keyed by the
alert, and a summary is an order-free merge (see :mod:`finkportal_core.indexing.summary`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from finkportal_core.indexing.layout import (
    OBJECT_NIGHTS_TABLE,
    OBJECTS_TABLE,
    check_indexable,
    index_rows,
    night_of,
    record_cells,
    rows_by_table,
)
from finkportal_core.indexing.records import Record, record_class
from finkportal_core.indexing.summary import (
    merge_summary,
    object_night_cells,
    object_night_key,
)
from finkportal_core.storage.base import Row, Store, Table

Classified = tuple[Record, str]


def classify(record: Record) -> Classified:
    """``record`` with its Fink class, once it is known indexable (else ``RecordError``)."""
    check_indexable(record)
    return record, record_class(record)


class IndexWriter:
    """Writes batches of ``(record, fink_class)``; returns what it wrote per table."""

    def __init__(self, store: Store):
        self._store = store
        self._tables: dict[str, Table] = {}

    def table(self, name: str) -> Table:
        if name not in self._tables:
            self._tables[name] = self._store.table(name)
        return self._tables[name]

    def write(self, classified: Sequence[Classified]) -> dict[str, int]:
        """Write everything derived from ``classified``; rows written per table."""
        written: dict[str, int] = {}
        sky = record_cells([record for record, _ in classified])
        pairs = [pair for (record, cls), cell in zip(classified, sky, strict=True)
                 for pair in index_rows(record, cls, cell)]
        for name, rows in rows_by_table(pairs).items():
            self.table(name).put_many(rows)
            written[name] = len(rows)
        written[OBJECT_NIGHTS_TABLE] = self._write_object_nights(classified)
        # Summaries last: a summary never points at an alert whose index rows are missing.
        written[OBJECTS_TABLE] = self._write_summaries(classified)
        return written

    def _write_object_nights(self, classified: Sequence[Classified]) -> int:
        rows: dict[bytes, dict[bytes, bytes]] = defaultdict(dict)
        for record, cls in classified:
            rows[object_night_key(record)].update(object_night_cells(record, cls))
        self.table(OBJECT_NIGHTS_TABLE).put_many(rows.items())
        return len(rows)

    def _write_summaries(self, classified: Sequence[Classified]) -> int:
        by_object: dict[str, list[Classified]] = defaultdict(list)
        for record, cls in classified:
            by_object[record["objectId"]].append((record, cls))
        table = self.table(OBJECTS_TABLE)
        keys = [object_id.encode() for object_id in by_object]
        existing = dict(table.get_many(keys))
        rows: list[Row] = [
            (key, merge_summary(existing.get(key, {}), by_object[key.decode()])) for key in keys
        ]
        table.put_many(rows)
        return len(rows)


def nights_of(classified: Sequence[Classified]) -> set[str]:
    """The observing nights a batch touched."""
    return {night_of(record["jd"]) for record, _ in classified}
