"""The index tables, their row keys, and the index rows of one record.

Every index table holds the same compact cells (see :data:`INDEX_CELL_FIELDS`) under
a different row key, so each search is one scan (or a few, for a cone):

==========================  ==============================================  =================
table                       row key                                          search
==========================  ==============================================  =================
``ztf_index_time``          ``jd_objectId_candid``                           date range
``ztf_index_sky``           8-byte HEALPix cell (depth 29) + main key  cone
``ztf_index_class``         ``class_jd_objectId_candid``                     latest N of a class
``ztf_index_sso``           ``ssnamenr_jd_candid``                           one Solar System name
``ztf_index_tracklet``      ``tracklet_jd_objectId_candid``                  one tracklet / night
==========================  ==============================================  =================

``candid`` ends every key for the reason the main key carries it (two alerts of one
object may share a jd). Values are encoded with :mod:`finkportal_core.codec`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from finkportal_core.alerts.model import JD_MAX, JD_MIN
from finkportal_core.codec import decode_value, value_encoder
from finkportal_core.indexing.records import Record, RecordError
from finkportal_core.sky import cell_key, sky_cells
from finkportal_core.storage.base import Row, Store, Table
from finkportal_core.tables import jd_text, row_key

TIME_TABLE = "ztf_index_time"
SKY_TABLE = "ztf_index_sky"
CLASS_TABLE = "ztf_index_class"
SSO_TABLE = "ztf_index_sso"
TRACKLET_TABLE = "ztf_index_tracklet"
OBJECTS_TABLE = "ztf_objects"
OBJECT_NIGHTS_TABLE = "ztf_object_nights"
STATISTICS_TABLE = "ztf_statistics"
INDEX_FAMILIES = ("i", "d")
# Tables the indexer writes, with their families (reindex rebuilds all of them).
INDEX_TABLES: dict[str, tuple[str, ...]] = {
    TIME_TABLE: INDEX_FAMILIES,
    SKY_TABLE: INDEX_FAMILIES,
    CLASS_TABLE: INDEX_FAMILIES,
    SSO_TABLE: INDEX_FAMILIES,
    TRACKLET_TABLE: INDEX_FAMILIES,
    OBJECTS_TABLE: ("s", "a"),
    OBJECT_NIGHTS_TABLE: ("c",),
    STATISTICS_TABLE: ("c",),
}
CLASS_FIELD = "finkclass"  # the name Fink's streams and fink-client use
INDEX_CELL_FIELDS = (
    "objectId", "candid", "jd", "ra", "dec", "fid", "magpsf", "sigmapsf", "ndethist",
    "jdstarthist", "ssnamenr",
)
ADDED_CELL_FIELDS = ("cdsxmatch", "tracklet")
# ZTF writes "null" (a string) in ssnamenr when no Solar System object is near.
_NO_SSO_NAMES = frozenset(("", "null", "None"))
TRACKLET_PREFIX = "TRCK_"
_pack = value_encoder()
_JD_EPOCH_UNIX = 2440587.5
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Nights are 8-digit dates: years 1000 to 9999 (jds the alert model accepts reach further).
NIGHT_JD_MIN = _JD_EPOCH_UNIX + (datetime(1000, 1, 1, tzinfo=UTC) - _UNIX_EPOCH).days
NIGHT_JD_MAX = _JD_EPOCH_UNIX + (datetime(9999, 12, 31, tzinfo=UTC) - _UNIX_EPOCH).days + 1
# After "<prefix>_" a key of a jd-ordered index goes on with the jd text and "_".
_JD_THEN_SEPARATOR = re.compile(rb"\d{7}\.\d{7}_")


def ensure_index_tables(store: Store) -> None:
    """Create every index table (idempotent)."""
    for name, families in INDEX_TABLES.items():
        store.create_table(name, families)


def night_of(jd: float) -> str:
    """The observing night ``YYYYMMDD`` of ``jd``: its UTC date.

    ZTF observes from Palomar (UTC-8), so a whole night falls within one UTC date,
    the date of ZTF's nightly topic names (``ztf_20181129_programid1``).
    """
    day = int((jd - _JD_EPOCH_UNIX) // 1)
    return (_UNIX_EPOCH + timedelta(days=day)).strftime("%Y%m%d")


def sso_name(record: Record) -> str | None:
    """The Solar System name the alert is associated with, if any."""
    name = record.get("ssnamenr")
    return name if isinstance(name, str) and name.strip() not in _NO_SSO_NAMES else None


def tracklet_id(record: Record) -> str | None:
    """The tracklet id Fink added (``TRCK_<date>_<n>``), if any."""
    name = record.get("tracklet")
    return name if isinstance(name, str) and name.startswith(TRACKLET_PREFIX) else None


def index_cells(record: Record, fink_class: str) -> dict[bytes, bytes]:
    """The cells every index row of ``record`` holds."""
    cells = {f"i:{name}".encode(): _pack(record.get(name)) for name in INDEX_CELL_FIELDS
             if name in record}
    cells.update({f"d:{name}".encode(): _pack(record[name]) for name in ADDED_CELL_FIELDS
                  if name in record})
    cells[f"d:{CLASS_FIELD}".encode()] = _pack(fink_class)
    return cells


def check_indexable(record: Record) -> None:
    """Raise ``RecordError`` unless ``record`` has a jd and a position the keys can hold."""
    jd = _jd(record)
    if not NIGHT_JD_MIN <= record["jd"] < NIGHT_JD_MAX:
        raise RecordError(f"record {record.get('key')!r}: jd {jd} is outside the years "
                          "1000-9999 that night keys can hold")
    ra, dec = float(record["ra"]), float(record["dec"])
    if not (math.isfinite(ra) and math.isfinite(dec) and -90.0 <= dec <= 90.0):
        raise RecordError(f"record {record.get('key')!r}: position ({ra}, {dec}) is not on the sky")


def record_cells(records: Sequence[Record]) -> list[int]:
    """The depth-29 sky cell of every record, in one vectorised call."""
    if not records:
        return []
    ra = [float(record["ra"]) for record in records]
    dec = [float(record["dec"]) for record in records]
    return [int(cell) for cell in sky_cells(ra, dec)]


def index_rows(record: Record, fink_class: str, cell: int) -> list[tuple[str, Row]]:
    """``(table, row)`` of every index row of ``record`` at sky ``cell`` (objects aside)."""
    cells = index_cells(record, fink_class)
    object_id, jd, candid = record["objectId"], _jd(record), record["candid"]
    rows = [
        (TIME_TABLE, (f"{jd}_{object_id}_{candid}".encode(), cells)),
        (SKY_TABLE, (cell_key(cell) + row_key(object_id, record["jd"], candid), cells)),
        (CLASS_TABLE, (f"{fink_class}_{jd}_{object_id}_{candid}".encode(), cells)),
    ]
    if (name := sso_name(record)) is not None:
        rows.append((SSO_TABLE, (f"{name}_{jd}_{candid}".encode(), cells)))
    if (tracklet := tracklet_id(record)) is not None:
        rows.append((TRACKLET_TABLE, (f"{tracklet}_{jd}_{object_id}_{candid}".encode(), cells)))
    return rows


def _jd(record: Record) -> str:
    try:
        return jd_text(record["jd"])
    except ValueError as exc:
        raise RecordError(f"record {record.get('key')!r}: {exc}") from exc


def jd_range_bounds(prefix: str, start_jd: float = JD_MIN,
                    stop_jd: float = JD_MAX - 1) -> tuple[bytes, bytes]:
    """Scan bounds of the rows of ``prefix`` (a class, a name...) with jd in [start, stop).

    Bounds rather than a bare ``prefix_`` scan: class and SIMBAD names may contain
    ``_`` (``Seyfert_1``), and ``Seyfert_`` would also match ``Seyfert_1_...``; a jd
    (seven digits, then a point) right after the separator rules most of that out, but
    not all (``Seyfert_1_…`` lies between ``Seyfert_1000000…`` and ``Seyfert_2000000…``):
    keep only the rows :func:`has_prefix` accepts, or use :func:`scan_jd_range`.
    """
    return (f"{prefix}_{jd_text(start_jd)}".encode(), f"{prefix}_{jd_text(stop_jd)}".encode())


def has_prefix(key: bytes, prefix: str) -> bool:
    """Whether ``key`` of a jd-ordered index belongs to ``prefix`` (not to ``prefix_1``...)."""
    head = f"{prefix}_".encode()
    return key.startswith(head) and _JD_THEN_SEPARATOR.match(key, len(head)) is not None


def scan_jd_range(table: Table, prefix: str, start_jd: float = JD_MIN,
                  stop_jd: float = JD_MAX - 1, *, reverse: bool = False,
                  limit: int | None = None,
                  columns: Sequence[bytes] | None = None) -> Iterator[Row]:
    """Rows of ``prefix`` (a class, a Solar System name, a tracklet) with jd in [start, stop).

    One scan; ``reverse=True`` gives the newest first ("latest N of a class").
    """
    start, stop = jd_range_bounds(prefix, start_jd, stop_jd)
    kept = 0
    for key, cells in table.scan(row_start=start, row_stop=stop, reverse=reverse,
                                 columns=columns):
        if limit is not None and kept >= limit:
            return
        if has_prefix(key, prefix):
            kept += 1
            yield key, cells


def decode_index_cells(cells: dict[bytes, bytes]) -> dict[str, Any]:
    """Index-row cells as ``{"i:ra": 12.3, ...}`` (for tests and the query service)."""
    return {qualifier.decode(): decode_value(raw) for qualifier, raw in cells.items()}


def rows_by_table(pairs: Iterable[tuple[str, Row]]) -> dict[str, list[Row]]:
    """Group ``(table, row)`` pairs per table, keeping the last row of a repeated key."""
    grouped: dict[str, dict[bytes, dict[bytes, bytes]]] = {}
    for table, (key, cells) in pairs:
        grouped.setdefault(table, {})[key] = cells
    return {table: list(rows.items()) for table, rows in grouped.items()}
