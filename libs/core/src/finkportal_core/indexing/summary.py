"""Per-object summary rows and per-night statistics, both idempotent by construction.

A summary row (``ztf_objects``, key ``objectId``) is a merge that does not depend on
order or repetition: first and last detection are a min and a max over ``(jd, candid)``,
the number of detections is the size of a set (family ``a``, one cell per candid).
Re-delivered records, restarts and reindex therefore all give the same row.

Night statistics are never incremented. Each alert is one cell ``c:<candid>`` of its
object-night row (``ztf_object_nights``, key ``YYYYMMDD_objectId``), written by an
idempotent put; a night's statistics row (``ztf_statistics``, key ``YYYYMMDD``) is a
count over that night's object-night rows, recomputed from them. Nothing can be
counted twice, and a recount always equals the statistics.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from finkportal_core.codec import decode_value, value_encoder
from finkportal_core.indexing.layout import night_of
from finkportal_core.indexing.records import Record
from finkportal_core.storage.base import Row

_pack = value_encoder()
# The latest detection's values copied into the summary (s:<name>).
LAST_FIELDS = ("candid", "ra", "dec", "fid", "magpsf", "ndethist")
FIRST_JD = b"s:first_jd"
LAST_JD = b"s:last_jd"
LAST_CANDID = b"s:candid"
LAST_CLASS = b"s:finkclass"
NDET = b"s:ndet"
ALERTS = b"c:alerts"
OBJECTS = b"c:objects"


def merge_summary(existing: Mapping[bytes, bytes],
                  classified: Iterable[tuple[Record, str]]) -> dict[bytes, bytes]:
    """Cells to put into an object's summary row after ``classified`` records.

    ``existing`` is the row as stored (``{}`` for a new object); every record must be
    of that object. Returns only what changes plus the derived cells.
    """
    known = {q for q in existing if q.startswith(b"a:")}
    first = decode_value(existing[FIRST_JD]) if FIRST_JD in existing else None
    last = _last_of(existing)
    cells: dict[bytes, bytes] = {}
    for record, fink_class in classified:
        candid_cell = f"a:{record['candid']}".encode()
        known.add(candid_cell)
        cells[candid_cell] = _pack(record["jd"])
        first = record["jd"] if first is None else min(first, record["jd"])
        if last is None or (record["jd"], record["candid"]) >= last:
            last = (record["jd"], record["candid"])
            cells.update(_last_cells(record, fink_class))
    if first is not None:
        cells[FIRST_JD] = _pack(first)
    cells[NDET] = _pack(len(known))
    return cells


def _last_of(existing: Mapping[bytes, bytes]) -> tuple[float, int] | None:
    if LAST_JD not in existing or LAST_CANDID not in existing:
        return None
    return decode_value(existing[LAST_JD]), decode_value(existing[LAST_CANDID])


def _last_cells(record: Record, fink_class: str) -> dict[bytes, bytes]:
    cells = {f"s:{name}".encode(): _pack(record.get(name)) for name in LAST_FIELDS}
    cells[LAST_JD] = _pack(record["jd"])
    cells[LAST_CLASS] = _pack(fink_class)
    return cells


def object_night_key(record: Record) -> bytes:
    return f"{night_of(record['jd'])}_{record['objectId']}".encode()


def object_night_cells(record: Record, fink_class: str) -> dict[bytes, bytes]:
    """The one cell an alert adds to its object-night row: its band and class."""
    return {f"c:{record['candid']}".encode(): _pack([record.get("fid"), fink_class])}


def night_prefix(night: str) -> bytes:
    return f"{night}_".encode()


def night_statistics(object_night_rows: Iterable[Row]) -> dict[bytes, bytes]:
    """A night's statistics cells from all of its object-night rows."""
    counts: Counter[str] = Counter()
    objects = 0
    for _key, cells in object_night_rows:
        objects += 1
        for raw in cells.values():
            fid, fink_class = decode_value(raw)
            counts["alerts"] += 1
            counts[f"fid_{fid}"] += 1
            counts[f"class:{fink_class}"] += 1
    counts["objects"] = objects
    return {f"c:{name}".encode(): _pack(count) for name, count in sorted(counts.items())}


def decode_statistics(cells: Mapping[bytes, bytes]) -> dict[str, Any]:
    """``{"alerts": 120, "fid_1": 70, "class:SN candidate": 3, ...}`` of a statistics row."""
    return {q.decode()[2:]: decode_value(raw) for q, raw in cells.items()}
