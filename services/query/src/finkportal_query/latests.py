"""``/api/v1/latests``: the newest alerts of a class, optionally rising or fading.

Fink classes and the SIMBAD labels that replace them (``(SIMBAD) RRLyr`` or bare
``RRLyr``, as Fink accepts both) are one reversed scan of the class index. SIMBAD
labels that never replace Fink's class (``Unknown``, ``Transient``, ``Fail...``,
``Galaxy...``) are not keys of that index: the time index is scanned instead and
filtered on ``d:cdsxmatch``, within the ``max_scanned_rows`` guard. Fink writes TNS
classes into ``d:cdsxmatch`` as ``(TNS) SN Ia``, which the class index holds as such.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from finkportal_core.classification import FINK_CLASSES, simbad_overrides
from finkportal_core.indexing.layout import CLASS_TABLE, TIME_TABLE
from finkportal_core.tables import jd_text
from finkportal_query.colors import add_color_columns
from finkportal_query.computed import add_basic_columns
from finkportal_query.errors import BadParameterError
from finkportal_query.objects import Limits
from finkportal_query.params import LatestsParams, column_list, wants_heavy
from finkportal_query.reader import AlertReader, IndexHit
from finkportal_query.rows import FinkRow, select_columns
from finkportal_query.searches import checked_n, date_bounds

SIMBAD_PREFIX = "(SIMBAD) "
TNS_PREFIX = "(TNS) "
ALL_CLASSES = "allclasses"
_MIN_BATCH = 64


def latest_rows(reader: AlertReader, params: LatestsParams, limits: Limits) -> list[FinkRow]:
    """The ``n`` newest alerts of the class in the date range that match the trend."""
    n = checked_n(params, limits)
    start, stop = date_bounds(params.startdate, params.stopdate)
    hits = class_hits(reader, params.class_.strip(), start, stop)
    rows: list[FinkRow] = []
    batch_size = max(n, _MIN_BATCH) if params.trend else n
    while len(rows) < n and (batch := list(islice(hits, batch_size))):
        batch_rows = reader.alerts_of_hits(batch, heavy=wants_heavy(params.columns))
        if params.trend:
            batch_rows = [row for row in batch_rows if _follows(reader, row, params.trend)]
        rows.extend(batch_rows[: n - len(rows)])
    add_basic_columns(rows)
    if params.color:
        add_color_columns(rows)
    return select_columns(rows, column_list(params.columns))


def class_hits(reader: AlertReader, name: str, start: float, stop: float) -> Iterator[IndexHit]:
    """Index hits of a class, newest first."""
    if name == ALL_CLASSES:
        return _time_hits(reader, start, stop)
    if name.startswith(TNS_PREFIX):  # Fink writes TNS labels into d:cdsxmatch, keys as is
        return reader.jd_ordered_hits(CLASS_TABLE, name, start, stop, newest_first=True)
    label = name.removeprefix(SIMBAD_PREFIX).strip()
    if not label:
        raise BadParameterError("class is empty: see /api/v1/classes")
    if label in FINK_CLASSES or simbad_overrides(label):
        return reader.jd_ordered_hits(CLASS_TABLE, label, start, stop, newest_first=True)
    return (hit for hit in _time_hits(reader, start, stop) if hit.get("d:cdsxmatch") == label)


def _time_hits(reader: AlertReader, start: float, stop: float) -> Iterator[IndexHit]:
    return reader.time_hits(TIME_TABLE, jd_text(start).encode(), jd_text(stop).encode(),
                            newest_first=True)


def _follows(reader: AlertReader, row: FinkRow, trend: str) -> bool:
    rate = magnitude_rate(reader, row)
    if rate is None:
        return False
    return rate < 0 if trend == "rising" else rate > 0


def magnitude_rate(reader: AlertReader, row: FinkRow) -> float | None:
    """Fink's ``d:mag_rate`` when present, else mag/day since the previous alert in the band."""
    stored = row.get("d:mag_rate")
    if isinstance(stored, int | float) and not isinstance(stored, bool) and stored == stored:
        return float(stored)
    previous = reader.previous_in_band(row["i:objectId"], row["i:jd"], row["i:candid"],
                                       row.get("i:fid"))
    if previous is None or row.get("i:magpsf") is None or previous[1] is None:
        return None
    days = row["i:jd"] - previous[0]
    return (row["i:magpsf"] - previous[1]) / days if days > 0 else None
