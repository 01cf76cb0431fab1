"""Searches through the index tables: cone, latest of a class, date range, SSO, tracklet."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

from finkportal_core.alerts.model import JD_MAX, JD_MIN
from finkportal_core.indexing.layout import SSO_TABLE, TIME_TABLE, TRACKLET_TABLE
from finkportal_core.sky import angular_separation_deg, parse_ra_dec
from finkportal_core.tables import jd_text
from finkportal_query.computed import add_basic_columns
from finkportal_query.dates import parse_date
from finkportal_query.errors import BadParameterError, TooLargeError
from finkportal_query.objects import Limits
from finkportal_query.params import (
    ConesearchParams,
    ExplorerParams,
    LatestsParams,
    SsoParams,
    TrackletParams,
    column_list,
    wants_heavy,
)
from finkportal_query.reader import AlertReader, IndexHit
from finkportal_query.rows import FinkRow, select_columns

CONE_COLUMNS = (b"i:objectId", b"i:candid", b"i:jd", b"i:ra", b"i:dec", b"i:jdstarthist")
SEPARATION_COLUMN = "v:separation_degree"
EXPLORER_DEFAULT_MINUTES = 1.0


def checked_n(params: ConesearchParams | ExplorerParams | LatestsParams, limits: Limits) -> int:
    """``n`` as asked, or its default capped at ``max_rows``; an asked n above it is refused."""
    if "n" not in params.model_fields_set:
        return min(params.n, limits.max_rows)
    if params.n > limits.max_rows:
        raise TooLargeError(f"n={params.n} is above the limit of {limits.max_rows} rows per "
                            "answer")
    return params.n


def date_bounds(startdate: str | None, stopdate: str | None,
                window_days: float | None = None) -> tuple[float, float]:
    """``[start, stop)`` Julian dates of a request (the whole archive when absent)."""
    start = parse_date(startdate, "startdate") if startdate else JD_MIN
    if window_days is not None and stopdate:
        raise BadParameterError("give stopdate or window, not both")
    if window_days is not None:
        if not startdate:
            raise BadParameterError("window needs a startdate")
        stop = start + window_days
    else:
        stop = parse_date(stopdate, "stopdate") if stopdate else JD_MAX - 1
    if stop <= start:
        raise BadParameterError("the date range is empty: stopdate must be after startdate")
    return start, min(stop, JD_MAX - 1)


def finish(reader: AlertReader, hits: list[IndexHit], columns: str | None) -> list[FinkRow]:
    """The main rows of ``hits`` with the basic ``v:`` columns, then the asked columns."""
    rows = reader.alerts_of_hits(hits, heavy=wants_heavy(columns))
    add_basic_columns(rows)
    return select_columns(rows, column_list(columns))


# -- conesearch ---------------------------------------------------------------------------


def cone_rows(reader: AlertReader, params: ConesearchParams, limits: Limits) -> list[FinkRow]:
    """One row per object within the cone (its latest alert), nearest first.

    As Fink's, the date range selects objects by their first detection (``jdstarthist``,
    else the alert's jd): "transients that started within the range".
    """
    try:
        ra, dec = parse_ra_dec(params.ra, params.dec)
    except ValueError as exc:
        raise BadParameterError(str(exc)) from None
    if params.radius > limits.max_radius_arcsec:
        raise BadParameterError(f"radius {params.radius} arcsec is above the limit of "
                                f"{limits.max_radius_arcsec:g} arcsec")
    n = checked_n(params, limits)
    start, stop = date_bounds(params.startdate, params.stopdate, params.window)
    radius_deg = params.radius / 3600.0
    if radius_deg == 0.0:  # a positive radius too small to survive the conversion
        raise BadParameterError(f"radius {params.radius} arcsec is too small")
    nearest = _latest_per_object(reader.cone_hits(ra, dec, radius_deg, CONE_COLUMNS),
                                 ra, dec, radius_deg, (start, stop))
    chosen = sorted(nearest.values(), key=lambda pair: pair[0])[:n]
    rows = reader.alerts_of_hits([hit for _separation, hit in chosen],
                                 heavy=wants_heavy(params.columns))
    add_basic_columns(rows)
    for row, (separation, _hit) in zip(rows, chosen, strict=False):
        row[SEPARATION_COLUMN] = separation
    return select_columns(rows, column_list(params.columns))


def _latest_per_object(hits: Iterable[IndexHit], ra: float, dec: float, radius_deg: float,
                       jd_range: tuple[float, float]) -> dict[str, tuple[float, IndexHit]]:
    latest: dict[str, tuple[float, IndexHit]] = {}
    for hit in hits:
        first = hit.get("i:jdstarthist")
        if not jd_range[0] <= (first if isinstance(first, float) else hit["i:jd"]) < jd_range[1]:
            continue
        separation = angular_separation_deg(ra, dec, hit["i:ra"], hit["i:dec"])
        if separation > radius_deg:
            continue
        known = latest.get(hit["i:objectId"])
        if known is None or (hit["i:jd"], hit["i:candid"]) > (known[1]["i:jd"],
                                                              known[1]["i:candid"]):
            latest[hit["i:objectId"]] = (separation, hit)
    return latest


# -- explorer (date range) ----------------------------------------------------------------


def explorer_rows(reader: AlertReader, params: ExplorerParams, limits: Limits) -> list[FinkRow]:
    """Alerts with jd in the range, oldest first, at most ``n``."""
    n = checked_n(params, limits)
    window = params.window if params.window is not None or params.stopdate else (
        EXPLORER_DEFAULT_MINUTES)
    start, stop = date_bounds(params.startdate, params.stopdate,
                              None if window is None else window / 1440.0)
    hits = reader.time_hits(TIME_TABLE, jd_text(start).encode(), jd_text(stop).encode(),
                            newest_first=False)
    return finish(reader, list(islice(hits, n)), params.columns)


# -- Solar System objects and tracklets --------------------------------------------------


def sso_rows(reader: AlertReader, params: SsoParams, limits: Limits) -> list[FinkRow]:
    """Every alert of the named Solar System objects, oldest first."""
    names = list(dict.fromkeys(name.replace(" ", "") for name in params.n_or_d.split(",")))
    names = [name for name in names if name]
    if not names:
        raise BadParameterError("n_or_d is empty: give a number ('8467') or a designation")
    if len(names) > limits.max_ids:
        raise TooLargeError(f"n_or_d lists {len(names)} names; at most {limits.max_ids}")
    hits: list[IndexHit] = []
    for name in names:
        hits.extend(reader.jd_ordered_hits(SSO_TABLE, name, JD_MIN, JD_MAX - 1,
                                           newest_first=False, limit=limits.max_rows + 1))
        _check_rows(len(hits), limits)
    return finish(reader, hits, params.columns)


def tracklet_rows(reader: AlertReader, params: TrackletParams,
                  limits: Limits) -> list[FinkRow]:
    """The alerts of one tracklet, or of every tracklet of a date prefix."""
    if (params.id is None) == (params.date is None):
        raise BadParameterError("give exactly one of id (a tracklet id) or date")
    if params.id is not None:
        hits = list(reader.jd_ordered_hits(TRACKLET_TABLE, params.id.strip(), JD_MIN,
                                           JD_MAX - 1, newest_first=False,
                                           limit=limits.max_rows + 1))
    else:
        prefix = f"TRCK_{tracklet_date(params.date or '')}".encode()
        hits = list(islice(reader.prefix_hits(TRACKLET_TABLE, prefix), limits.max_rows + 1))
    _check_rows(len(hits), limits)
    return finish(reader, hits, params.columns)


def tracklet_date(text: str) -> str:
    """``'2021-10-22 09:19'`` -> ``'20211022_0919'``: the date part of tracklet ids."""
    digits = text.strip().replace("-", "").replace(":", "").replace("T", " ")
    day, _, time_of_day = digits.partition(" ")
    if len(day) != 8 or not day.isdigit() or (time_of_day and not time_of_day.isdigit()) or (
            len(time_of_day) > 6):
        raise BadParameterError(f"date {text!r}: use 'YYYY-MM-DD' or 'YYYY-MM-DD hh:mm:ss'")
    return f"{day}_{time_of_day}" if time_of_day else day


def _check_rows(count: int, limits: Limits) -> None:
    if count > limits.max_rows:
        raise TooLargeError(f"the answer holds more than {limits.max_rows} rows")

