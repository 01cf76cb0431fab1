"""The ``v:`` columns: values computed on the fly from an alert's stored cells.

The same names and definitions as fink-object-api's ``format_hbase_output``:
``v:classification`` (Fink's class, :func:`finkportal_core.classification.fink_class`),
``v:lastdate`` (the alert's date), ``v:firstdate`` (the first detection,
``jdstarthist``), ``v:lapse`` (days between them), ``v:constellation`` (IAU
constellation of the position). The colour columns are in :mod:`finkportal_query.colors`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from finkportal_core.classification import ADDED_VALUE_FIELDS, CANDIDATE_FIELDS, fink_class
from finkportal_query.constellations import constellations
from finkportal_query.dates import jd_to_iso
from finkportal_query.rows import FinkRow, number_or_nan

BASIC_COLUMNS = ("v:classification", "v:lastdate", "v:firstdate", "v:lapse",
                 "v:constellation")


def add_basic_columns(rows: Sequence[FinkRow]) -> None:
    """Add the basic ``v:`` columns to alert rows, in place."""
    constellations = constellations_of(rows)
    for row, constellation in zip(rows, constellations, strict=True):
        row["v:classification"] = fink_class(_classification_values(row))
        jd, first = number_or_nan(row.get("i:jd")), number_or_nan(row.get("i:jdstarthist"))
        row["v:lastdate"] = jd_to_iso(jd) if math.isfinite(jd) else None
        row["v:firstdate"] = jd_to_iso(first) if math.isfinite(first) else None
        row["v:lapse"] = jd - first if math.isfinite(jd - first) else None
        row["v:constellation"] = constellation


def _classification_values(row: FinkRow) -> dict[str, Any]:
    values = {name: row.get(f"i:{name}") for name in CANDIDATE_FIELDS}
    values.update({name: row.get(f"d:{name}") for name in ADDED_VALUE_FIELDS})
    return values


def constellations_of(rows: Sequence[FinkRow]) -> list[str | None]:
    """IAU constellation names of the rows' positions, in one vectorised call."""
    ra = np.array([number_or_nan(row.get("i:ra")) for row in rows], dtype=np.float64)
    dec = np.array([number_or_nan(row.get("i:dec")) for row in rows], dtype=np.float64)
    known = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90)
    names: list[str | None] = [None] * len(rows)
    if known.any():
        found = constellations(ra[known], dec[known])
        for position, name in zip(np.flatnonzero(known), found, strict=True):
            names[int(position)] = name
    return names
