"""The fits cache: table ``ztf_fits``, one row per (object, model, normalised options).

Row key ``objectId_model_<digest>`` (:attr:`FitRequest.cache_key`), family ``f``:

==============  ==============================================================
``f:last_jd``   jd of the object's newest alert when the fit ran
``f:result``    the outcome: ``{"status": "done", "result": {...}}`` or
                ``{"status": "failed", "error": {"kind", "message"}}``
``f:finished``  unix time the fit finished
``f:fit_s``     how long the fit ran, seconds
``f:request``   the normalised request (what the digest stands for)
==============  ==============================================================

A request is a hit when the object's current last jd equals ``f:last_jd``: the fit saw
exactly the alerts there are now. A new alert moves the object's last jd, so the row no
longer matches and the next request refits and overwrites it; nothing needs deleting.
Failures that depend only on the data and options (bad light curve, no convergence,
options the light curve cannot support) are cached like results, so asking again answers
at once; timeouts and crashes are not (the next try may succeed). Cells are encoded with
:mod:`finkportal_core.codec`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from finkportal_core.codec import CellDecodeError, decode_value, encode_value
from finkportal_core.storage.base import Store, Table
from finkportal_fitter.options import FitRequest

FITS_TABLE = "ztf_fits"
FITS_FAMILIES = ("f",)
LAST_JD = b"f:last_jd"
RESULT = b"f:result"
FINISHED = b"f:finished"
FIT_SECONDS = b"f:fit_s"
REQUEST = b"f:request"
# Failure kinds that another try on the same alerts would repeat.
CACHEABLE_FAILURES = frozenset(("bad_light_curve", "no_convergence", "invalid_options"))


def ensure_fits_table(store: Store) -> None:
    """Create the cache table (idempotent)."""
    store.create_table(FITS_TABLE, FITS_FAMILIES)


@dataclass(frozen=True)
class CachedFit:
    """One cache row, decoded."""

    last_jd: float
    outcome: dict[str, Any]
    finished: float
    fit_seconds: float | None


def is_cacheable(outcome: dict[str, Any]) -> bool:
    """Results, and failures that only new data or other options can change."""
    if outcome.get("status") == "done":
        return True
    return outcome.get("error", {}).get("kind") in CACHEABLE_FAILURES


class FitCache:
    """Reads and writes ``ztf_fits``; calls may raise the store's ``StorageError``."""

    def __init__(self, store: Store):
        self._store = store

    def _table(self) -> Table:
        return self._store.table(FITS_TABLE)

    def lookup(self, request: FitRequest, last_jd: float) -> CachedFit | None:
        """The cached fit of ``request`` if it was made on alerts up to ``last_jd``."""
        cells = self._table().get(request.cache_key)
        cached = _decoded(cells)
        if cached is None or cached.last_jd != last_jd:
            return None
        return cached

    def read(self, request: FitRequest) -> CachedFit | None:
        """The row as stored, whatever its last jd (tests and tools)."""
        return _decoded(self._table().get(request.cache_key))

    def store(self, request: FitRequest, last_jd: float, outcome: dict[str, Any],
              fit_seconds: float | None) -> None:
        """Write (or overwrite) the row of ``request``; durable on return."""
        cells = {LAST_JD: encode_value(last_jd), RESULT: encode_value(outcome),
                 FINISHED: encode_value(time.time()), REQUEST: encode_value(request.as_dict()),
                 FIT_SECONDS: encode_value(fit_seconds)}
        self._table().put_many([(request.cache_key, cells)])


def _decoded(cells: dict[bytes, bytes]) -> CachedFit | None:
    """None for a missing row, and for one that does not decode (it is then refitted)."""
    if LAST_JD not in cells or RESULT not in cells:
        return None
    try:
        last_jd, outcome = decode_value(cells[LAST_JD]), decode_value(cells[RESULT])
        finished = decode_value(cells[FINISHED]) if FINISHED in cells else 0.0
        seconds = decode_value(cells[FIT_SECONDS]) if FIT_SECONDS in cells else None
    except CellDecodeError:
        return None
    if not isinstance(last_jd, (int, float)) or not isinstance(outcome, dict):
        return None
    return CachedFit(float(last_jd), outcome, float(finished), seconds)
