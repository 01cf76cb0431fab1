"""``/api/v1/objects``: the alerts (and on request the history and cutouts) of objects."""

from __future__ import annotations

import re
from dataclasses import dataclass

from finkportal_query.colors import add_color_columns
from finkportal_query.computed import add_basic_columns
from finkportal_query.cutouts import CUTOUT_KINDS, CutoutDecodeError, stamp_to_array
from finkportal_query.errors import BadParameterError, TooLargeError
from finkportal_query.params import ObjectsParams, column_list, wants_heavy
from finkportal_query.reader import AlertReader
from finkportal_query.rows import (
    FinkRow,
    by_time_newest_first,
    extra_history,
    select_columns,
    tag_valid,
)

# ZTF ids: 'ZTF', two digits of the year, seven lower-case letters.
FULL_OBJECT_ID = re.compile(r"^ZTF\d{2}[a-z]{7}$")
MIN_PREFIX_LENGTH = 5


@dataclass(frozen=True)
class Limits:
    """The enforced limits (settings), documented in docs/api.md."""

    max_rows: int
    max_ids: int
    max_radius_arcsec: float
    max_cutouts: int


def resolve_object_ids(reader: AlertReader, text: str, limits: Limits) -> list[str]:
    """The object ids a comma list of ids and prefixes names, without repeats."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise BadParameterError("objectId is empty: give an id such as ZTF21abfmbix")
    if len(names) > limits.max_ids:
        raise TooLargeError(f"objectId lists {len(names)} names; at most {limits.max_ids}")
    found: dict[str, None] = {}
    for name in names:
        for object_id in _ids_of(reader, name, limits.max_ids + 1):
            found[object_id] = None
    if len(found) > limits.max_ids:
        raise TooLargeError(f"objectId matches more than {limits.max_ids} objects: give "
                            "longer prefixes")
    return list(found)


def _ids_of(reader: AlertReader, name: str, limit: int) -> list[str]:
    if FULL_OBJECT_ID.match(name):
        return [name]
    prefix = name.removesuffix("*")
    if len(prefix) < MIN_PREFIX_LENGTH or "*" in prefix:
        raise BadParameterError(
            f"objectId {name!r} is neither a ZTF id (ZTF + 2 digits + 7 letters) nor a prefix "
            f"of at least {MIN_PREFIX_LENGTH} characters")
    return reader.objects_with_prefix(prefix, limit)


def object_rows(reader: AlertReader, params: ObjectsParams, limits: Limits) -> list[FinkRow]:
    """Every row ``objects`` answers, newest first, with the asked columns."""
    rows: list[FinkRow] = []
    cutouts = 0
    for object_id in resolve_object_ids(reader, params.objectId, limits):
        alerts = reader.object_alerts(object_id, cutouts=params.withcutouts,
                                      heavy=wants_heavy(params.columns))
        cutouts += len(alerts) if params.withcutouts else 0
        _check_limits(len(rows) + len(alerts), cutouts, limits)
        rows.extend(_object_rows(reader, object_id, alerts, params))
        _check_limits(len(rows), cutouts, limits)
    columns = column_list(params.columns)
    if columns is not None and params.withcutouts:
        columns += [name for name in cutout_columns(params.cutout_kind) if name not in columns]
    return select_columns(rows, columns)


def _object_rows(reader: AlertReader, object_id: str, alerts: list[FinkRow],
                 params: ObjectsParams) -> list[FinkRow]:
    add_basic_columns(alerts)
    add_color_columns(alerts)  # fink-object-api adds them to every objects answer
    if params.withcutouts:
        for alert in alerts:
            keep_cutouts(alert, params.cutout_kind)
    if not params.withupperlim:
        return by_time_newest_first(alerts)
    valid = tag_valid(alerts)
    return by_time_newest_first(valid + extra_history(valid, reader.object_history(object_id)))


def _check_limits(rows: int, cutouts: int, limits: Limits) -> None:
    if rows > limits.max_rows:
        raise TooLargeError(f"the answer holds more than {limits.max_rows} rows: ask for fewer "
                            "objects")
    if cutouts > limits.max_cutouts:
        raise TooLargeError(f"withcutouts=true would return the cutouts of more than "
                            f"{limits.max_cutouts} alerts: ask for fewer objects, or use "
                            "/api/v1/cutouts for one alert")


def cutout_columns(kind: str) -> list[str]:
    kinds = CUTOUT_KINDS if kind == "All" else (kind,)
    return [f"b:cutout{name}_stampData" for name in kinds]


def _array_or_none(stamp: object) -> list[list[float]] | None:
    """A stamp as a 2-D list; None when absent or undecodable (one bad stamp must not
    fail the whole answer; /cutouts reports the reason)."""
    if not isinstance(stamp, bytes):
        return None
    try:
        return stamp_to_array(stamp).tolist()
    except CutoutDecodeError:
        return None


def keep_cutouts(row: FinkRow, kind: str) -> None:
    """Replace the stored stamps of ``kind`` by 2-D arrays; drop every other ``b:`` cell."""
    wanted = set(cutout_columns(kind))
    for name in [name for name in row if name.startswith("b:")]:
        stamp = row.pop(name)
        if name in wanted:
            row[name] = _array_or_none(stamp)
    for name in wanted:
        row.setdefault(name, None)
