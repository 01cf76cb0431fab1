"""Light curves and last-alert jds, read straight from the store.

The fitter reads the tables through the shared storage interface rather than over the
query service's HTTP API:

- it is an internal service next to the store, so one hop (and one JSON round trip of up
  to thousands of rows) less;
- its cache key needs the object's last-alert jd, which the indexer keeps in the object's
  summary row (``ztf_objects``, ``s:last_jd``): one ``get``, which the public API does not
  expose as such;
- it keeps working when the API is down or saturated by public traffic, and the API never
  queues behind fits.

Light curves are the main-table alerts of the object (Fink's light curve without upper
limits), newest ``max_points`` first read, only the ``i:`` cells a fit uses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from finkportal_core.codec import CellDecodeError, decode_value
from finkportal_core.indexing.layout import OBJECTS_TABLE
from finkportal_core.indexing.summary import LAST_JD
from finkportal_core.storage.base import Store, Table
from finkportal_core.tables import MAIN_TABLE, object_prefix

# What light_curve_from_rows reads (DC magnitudes need the reference-source cells).
LIGHT_CURVE_FIELDS = ("jd", "fid", "magpsf", "sigmapsf", "isdiffpos", "magnr", "sigmagnr",
                      "distnr")
LIGHT_CURVE_COLUMNS = tuple(f"i:{name}".encode() for name in LIGHT_CURVE_FIELDS)
_JD_COLUMN = b"i:jd"
# The same str objects in every row: pickling rows for the workers then stores each once.
_KEYS = tuple(column.decode() for column in LIGHT_CURVE_COLUMNS)

LightCurveRows = list[dict[str, Any]]


class LightCurveReader:
    """Reads what a fit needs; every call may raise the store's ``StorageError``."""

    def __init__(self, store: Store, max_points: int):
        self._store = store
        self._max_points = max_points

    def _table(self, name: str) -> Table:
        return self._store.table(name)

    def last_jd(self, object_id: str) -> float | None:
        """The jd of the object's newest alert, None when the store has no alert of it.

        From the summary row the indexer maintains; when the indexer has not summarised
        the object yet (it trails ingest by a moment), from the newest main-table row.
        """
        cells = self._table(OBJECTS_TABLE).get(object_id.encode(), columns=[LAST_JD])
        summary = _decoded(cells.get(LAST_JD))
        if isinstance(summary, (int, float)) and math.isfinite(summary):
            return float(summary)
        newest = next(iter(self._table(MAIN_TABLE).scan(
            row_prefix=object_prefix(object_id), columns=[_JD_COLUMN], reverse=True, limit=1)),
            None)
        if newest is None:
            return None
        jd = _decoded(newest[1].get(_JD_COLUMN))
        return float(jd) if isinstance(jd, (int, float)) else None

    def rows(self, object_id: str) -> LightCurveRows:
        """The object's newest ``max_points`` alerts as ``{"i:jd": ..., ...}``, oldest first."""
        scanned = self._table(MAIN_TABLE).scan(
            row_prefix=object_prefix(object_id), columns=LIGHT_CURVE_COLUMNS, reverse=True,
            limit=self._max_points)
        rows = [_row(cells) for _key, cells in scanned]
        rows.reverse()
        return rows


def _row(cells: Mapping[bytes, bytes]) -> dict[str, Any]:
    return {key: _decoded(cells.get(column))
            for key, column in zip(_KEYS, LIGHT_CURVE_COLUMNS, strict=True)}


def _decoded(raw: bytes | None) -> Any:
    """A cell's value; a missing or undecodable cell is None (the point is then dropped)."""
    if raw is None:
        return None
    try:
        return decode_value(raw)
    except CellDecodeError:
        return None
