"""Data shaping between the query API's rows and the pages (pure, except ``RowCache``).

Rows are the query API's JSON row dicts (Fink column names), newest first.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from finkportal_portal.photometry import BAND_NAMES, as_float, row_kind

Row = dict[str, Any]
SUMMARY_COLUMNS = ("objectId", "class", "lastdate", "ndet", "mag", "band", "ra", "dec",
                   "separation_arcsec")


def data_attributes(**values: Any) -> Any:
    """``data-*`` attributes for a component's keyword arguments (typed Any: Dash's typed
    signatures cannot name wildcard attributes)."""
    return {f"data-{name}": str(value) for name, value in values.items()}


def is_alert(row: Row) -> bool:
    """Alert rows (not the upper-limit or bad-quality history rows of ``withupperlim``)."""
    return row_kind(row) == "valid"


def band_label(fid: Any, unknown: str = "?") -> str:
    """'g', 'r' or 'i' for a ZTF filter id; ``unknown`` for anything else (null included)."""
    value = as_float(fid)
    return BAND_NAMES.get(int(value), unknown) if math.isfinite(value) else unknown


def summarise(rows: Iterable[Row]) -> list[Row]:
    """One summary per object, in first-seen order: its newest row's values, its alert count."""
    summaries: dict[str, Row] = {}
    for row in rows:
        object_id = str(row.get("i:objectId", ""))
        if object_id in summaries:
            summaries[object_id]["ndet"] += 1
            continue
        summaries[object_id] = _summary(row)
    return list(summaries.values())


def _summary(row: Row) -> Row:
    separation = as_float(row.get("v:separation_degree"))
    return {
        "objectId": row.get("i:objectId"), "class": row.get("v:classification") or "Unknown",
        "lastdate": row.get("v:lastdate") or "", "ndet": 1,
        "mag": round(as_float(row.get("i:magpsf")), 2), "band": band_label(row.get("i:fid")),
        "ra": round(as_float(row.get("i:ra")), 6), "dec": round(as_float(row.get("i:dec")), 6),
        "separation_arcsec": None if math.isnan(separation) else round(separation * 3600, 2),
    }


def rows_by_object(rows: Iterable[Row]) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = {}
    for row in rows:
        grouped.setdefault(str(row.get("i:objectId", "")), []).append(row)
    return grouped


def tag_counts(rows: Iterable[Row]) -> dict[str, int]:
    """How many valid, upper-limit and bad-quality points (``d:tag``)."""
    counts = {"valid": 0, "upperlim": 0, "badquality": 0}
    for row in rows:
        tag = str(row.get("d:tag", "valid"))
        counts[tag] = counts.get(tag, 0) + 1
    return counts


class TimedValue:
    """A value fetched at most once per ``ttl_s`` (the API's class names for suggestions:
    they change only with new alerts, and every keystroke asks for them)."""

    def __init__(self, fetch: Callable[[], Any], ttl_s: float = 60.0) -> None:
        self._fetch, self._ttl_s = fetch, ttl_s
        self._value: Any = None
        self._at = -math.inf

    def get(self) -> Any:
        if time.monotonic() - self._at > self._ttl_s:
            self._value, self._at = self._fetch(), time.monotonic()
        return self._value


class RowCache:
    """The rows of recently viewed objects, for the callbacks that follow a page load.

    A unit switch or a click on the light curve needs the rows the page was drawn from;
    asking the API again each time would cost a round trip per click. Entries expire
    after ``ttl_s`` so a new alert shows up on the next page load.
    """

    def __init__(self, fetch: Callable[[str], list[Row]], ttl_s: float = 120.0,
                 size: int = 256) -> None:
        self._fetch, self._ttl_s, self._size = fetch, ttl_s, size
        self._entries: OrderedDict[str, tuple[float, list[Row]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, object_id: str, *, fresh: bool = False) -> list[Row]:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(object_id)
            if entry is not None and not fresh and now - entry[0] < self._ttl_s:
                self._entries.move_to_end(object_id)
                return entry[1]
        rows = self._fetch(object_id)
        with self._lock:
            self._entries[object_id] = (now, rows)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return rows
