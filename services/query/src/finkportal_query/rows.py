"""Stored cells -> Fink's flat rows (``{"i:jd": ..., "d:cdsxmatch": ..., "b:...": ...}``).

The main table already names its cells the way Fink's API names its columns
(``i:`` ZTF candidate and root fields, ``d:`` added values, ``b:`` cutouts), so a
row is the decoded cells minus our bookkeeping ones (qualifiers starting with ``_``,
which only serve to rebuild the exact alert).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from finkportal_core.codec import decode_value, decode_values
from finkportal_core.storage.base import Row
from finkportal_core.tables import TAG_CELL, TAG_VALID

FinkRow = dict[str, Any]
TAG_COLUMN = TAG_CELL.decode()  # "d:tag": the history tag cell is the column Fink returns
HEAVY_COLUMN = "i:fp_hists"
HEAVY_CELL = HEAVY_COLUMN.encode()

def main_row(cells: Mapping[bytes, bytes], *, heavy: bool = False) -> FinkRow:
    """One alert's row: every cell but the bookkeeping ones, decoded.

    ``i:fp_hists`` (ZTF 4.02's forced photometry, ~15 KB of nested records, a few times
    the decoding time of all other cells) only when ``heavy``: asked for in ``columns``.
    """
    if not heavy and HEAVY_CELL in cells:
        cells = {qualifier: raw for qualifier, raw in cells.items() if qualifier != HEAVY_CELL}
    names = list(map(_column_name, cells))
    row = dict(zip(names, decode_values(list(cells.values())), strict=True))
    for name in names:
        if name[2] == "_":  # i:_prv... rebuild the exact alert; not a column
            del row[name]
    return row


@functools.lru_cache(maxsize=8192)
def _column_name(qualifier: bytes) -> str:
    """``b"i:jd"`` -> ``"i:jd"`` (alerts share their few hundred qualifiers)."""
    return qualifier.decode()


def history_row(cells: Mapping[bytes, bytes]) -> FinkRow:
    """One ``prv_candidates`` measurement as a row, ``d:tag`` upperlim or badquality."""
    return {qualifier.decode(): decode_value(raw) for qualifier, raw in cells.items()}


def tag_valid(rows: Iterable[FinkRow]) -> list[FinkRow]:
    """Main-table alerts carry ``d:tag`` = valid when upper limits are asked for."""
    return [{**row, TAG_COLUMN: TAG_VALID} for row in rows]


def extra_history(alerts: Sequence[FinkRow], history: Iterable[Row]) -> list[FinkRow]:
    """History rows that are not already alerts, one per measurement.

    A measurement appears in the ``prv_candidates`` of every later alert, under one
    row per serialization (``isdiffpos`` 't' or '1'...): keep the first row of each
    (jd, candid or pid), and drop detections that are alerts of their own.
    """
    seen = {(row.get("i:jd"), row.get("i:candid")) for row in alerts}
    kept: list[FinkRow] = []
    for _key, cells in history:
        row = history_row(cells)
        identity = (row.get("i:jd"), _measurement(row))
        if identity in seen:
            continue
        seen.add(identity)
        kept.append(row)
    return kept


def _measurement(row: FinkRow) -> Any:
    candid = row.get("i:candid")
    return candid if candid is not None else ("pid", row.get("i:pid"))


def by_time_newest_first(rows: list[FinkRow]) -> list[FinkRow]:
    """Rows sorted as Fink returns an object's light curve: the latest first."""
    return sorted(rows, key=lambda row: (row.get("i:jd") or 0.0, row.get("i:candid") or 0),
                  reverse=True)


def select_columns(rows: list[FinkRow], columns: Sequence[str] | None) -> list[FinkRow]:
    """Keep the asked columns, in the asked order (absent values as None)."""
    if columns is None:
        return rows
    return [{name: row.get(name) for name in columns} for row in rows]


def number_or_nan(value: Any) -> float:
    """A row value as a float; NaN for None, text, booleans and anything not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return float("nan")
    return float(value)
