"""Every store read the API makes, through the shared storage interface.

Searches go through an index table (time, sky, class, SSO, tracklet) to main-table
keys, then read those alerts with one ``get_many``. Each index row carries the
alert's ``objectId``, ``jd`` and ``candid``, from which :func:`row_key` rebuilds
its main key. Scans are bounded by ``max_scanned_rows`` so a search that would read
a large part of a table stops with :class:`TooLargeError` instead of running on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from finkportal_core.codec import decode_value
from finkportal_core.indexing.layout import (
    OBJECTS_TABLE,
    SKY_TABLE,
    STATISTICS_TABLE,
    decode_index_cells,
    scan_jd_range,
)
from finkportal_core.indexing.summary import decode_statistics
from finkportal_core.sky import MAX_CELL, cell_key, cone_ranges
from finkportal_core.storage.base import Row, Store, Table
from finkportal_core.tables import HISTORY_TABLE, MAIN_TABLE, object_prefix, row_key
from finkportal_query.errors import TooLargeError
from finkportal_query.rows import FinkRow, main_row

IndexHit = dict[str, Any]  # decoded index cells: "i:objectId", "i:jd", "i:ra", "d:finkclass"...
NO_CUTOUTS = (b"i", b"d")
WITH_CUTOUTS = (b"i", b"d", b"b")


class AlertReader:
    """Reads alerts, histories, index rows and statistics for the endpoints."""

    def __init__(self, store: Store, max_scanned_rows: int) -> None:
        self._store = store
        self.max_scanned_rows = max_scanned_rows

    def table(self, name: str) -> Table:
        return self._store.table(name)

    # -- alerts ---------------------------------------------------------------------------

    def object_alerts(self, object_id: str, *, cutouts: bool = False,
                      heavy: bool = False) -> list[FinkRow]:
        """Every alert of one object, oldest first (``heavy``: see :func:`main_row`)."""
        columns = WITH_CUTOUTS if cutouts else NO_CUTOUTS
        rows = self.table(MAIN_TABLE).scan(row_prefix=object_prefix(object_id), columns=columns)
        return [main_row(cells, heavy=heavy)
                for _key, cells in self._bounded(rows, "alerts of the object")]

    def object_history(self, object_id: str) -> Iterator[Row]:
        """The history rows (``prv_candidates`` measurements) of one object."""
        rows = self.table(HISTORY_TABLE).scan(row_prefix=object_prefix(object_id))
        return self._bounded(rows, "history rows of the object")

    def alerts_of_hits(self, hits: Sequence[IndexHit], *, cutouts: bool = False,
                       heavy: bool = False) -> list[FinkRow]:
        """The main rows of index hits, in the hits' order (hits whose alert is gone dropped)."""
        keys = [hit_key(hit) for hit in hits]
        columns = WITH_CUTOUTS if cutouts else NO_CUTOUTS
        found = dict(self.table(MAIN_TABLE).get_many(keys, columns=columns))
        return [main_row(found[key], heavy=heavy) for key in keys if key in found]

    def previous_in_band(self, object_id: str, jd: float, candid: int,
                         fid: object) -> tuple[float, float | None] | None:
        """``(jd, magpsf)`` of the object's alert before this one in band ``fid``, if any."""
        rows = self.table(MAIN_TABLE).scan(
            row_start=object_prefix(object_id), row_stop=row_key(object_id, jd, candid),
            columns=[b"i:jd", b"i:fid", b"i:magpsf"], reverse=True)
        for _key, cells in self._bounded(rows, "alerts of the object"):
            if b"i:fid" in cells and decode_value(cells[b"i:fid"]) == fid:
                magpsf = cells.get(b"i:magpsf")
                return decode_value(cells[b"i:jd"]), None if magpsf is None else decode_value(
                    magpsf)
        return None

    # -- objects --------------------------------------------------------------------------

    def existing_objects(self, object_ids: Sequence[str]) -> list[str]:
        """The ids among ``object_ids`` that have a summary row (i.e. were indexed)."""
        keys = [object_id.encode() for object_id in object_ids]
        rows = self.table(OBJECTS_TABLE).get_many(keys, columns=[b"s:last_jd"])
        return [key.decode() for key, _cells in rows]

    def objects_with_prefix(self, prefix: str, limit: int) -> list[str]:
        """Up to ``limit`` object ids starting with ``prefix``, in id order."""
        rows = self.table(OBJECTS_TABLE).scan(row_prefix=prefix.encode(),
                                             columns=[b"s:last_jd"], limit=limit)
        return [key.decode() for key, _cells in rows]

    # -- index scans ----------------------------------------------------------------------

    def jd_ordered_hits(self, table: str, prefix: str, start_jd: float, stop_jd: float, *,
                        newest_first: bool = True, limit: int | None = None) -> Iterator[IndexHit]:
        """Index hits of ``prefix`` (a class, a name, a tracklet) with jd in [start, stop)."""
        rows = scan_jd_range(self.table(table), prefix, start_jd, stop_jd,
                             reverse=newest_first, limit=limit)
        return self._decoded(rows, table)

    def time_hits(self, table: str, start: bytes, stop: bytes, *,
                  newest_first: bool = True) -> Iterator[IndexHit]:
        """Hits of a key range of a jd-first index (``ztf_index_time``)."""
        rows = self.table(table).scan(row_start=start, row_stop=stop, reverse=newest_first)
        return self._decoded(rows, table)

    def prefix_hits(self, table: str, prefix: bytes) -> Iterator[IndexHit]:
        return self._decoded(self.table(table).scan(row_prefix=prefix), table)

    def cone_hits(self, ra: float, dec: float, radius_deg: float,
                  columns: Sequence[bytes] | None = None) -> Iterator[IndexHit]:
        """Index hits of every sky cell range covering the cone (unfiltered by distance)."""
        table = self.table(SKY_TABLE)
        scanned = 0
        for start, stop in cone_ranges(ra, dec, radius_deg):
            stop_key = cell_key(stop) if stop < MAX_CELL else b""
            for _key, cells in table.scan(row_start=cell_key(start), row_stop=stop_key,
                                          columns=columns):
                scanned += 1
                self._check_scanned(scanned, "sky index rows")
                yield decode_index_cells(cells)

    def distinct_prefixes(self, table: str, prefix: str, limit: int) -> list[str]:
        """Distinct names (the key part before ``_<jd>``) of a jd-ordered index under a prefix."""
        names: list[str] = []
        start = prefix.encode()
        while len(names) < limit:
            row = next(iter(self.table(table).scan(row_start=start, limit=1)), None)
            if row is None or not row[0].startswith(prefix.encode()):
                break
            name = _name_of(row[0])
            names.append(name)
            start = name.encode() + b"_\xff"  # past every key of that name
        return names

    # -- statistics -----------------------------------------------------------------------

    def statistics(self, night_prefix: str) -> list[tuple[str, dict[str, Any]]]:
        """``(YYYYMMDD, counts)`` of every night whose key starts with ``night_prefix``."""
        table = self.table(STATISTICS_TABLE)
        rows = table.scan(row_prefix=night_prefix.encode()) if night_prefix else table.scan()
        return [(key.decode(), decode_statistics(cells)) for key, cells in rows]

    # -- helpers --------------------------------------------------------------------------

    def _bounded(self, rows: Iterator[Row], what: str) -> Iterator[Row]:
        for count, row in enumerate(rows, start=1):
            self._check_scanned(count, what)
            yield row

    def _decoded(self, rows: Iterator[Row], table: str) -> Iterator[IndexHit]:
        """The decoded cells of index rows, within the scanned-rows guard."""
        for _key, cells in self._bounded(rows, f"rows of {table}"):
            yield decode_index_cells(cells)

    def _check_scanned(self, count: int, what: str) -> None:
        if count > self.max_scanned_rows:
            raise TooLargeError(
                f"the search reads more than {self.max_scanned_rows} {what} (the "
                "max_scanned_rows limit): narrow it (smaller radius, shorter date range, "
                "lower n or a more specific name)")


def hit_key(hit: IndexHit) -> bytes:
    """The main-table key of the alert an index row points at."""
    return row_key(hit["i:objectId"], hit["i:jd"], hit["i:candid"])


def _name_of(key: bytes) -> str:
    """``name`` of a ``name_<jd>_...`` key (names may hold '_': split at the jd)."""
    text = key.decode()
    parts = text.split("_")
    for position in range(1, len(parts)):
        if _is_jd_text(parts[position]):
            return "_".join(parts[:position])
    return text


def _is_jd_text(part: str) -> bool:
    return len(part) == 15 and part[7] == "." and part.replace(".", "", 1).isdigit()
