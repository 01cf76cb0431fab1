"""The HBase-style tables that hold alerts, and the alert <-> rows mapping.

See ``docs/schema.md`` for the full layout. In short:

- ``ztf_alerts`` (families ``i``, ``d``, ``b``): one row per alert, key
  ``objectId_jd_candid`` (Fink's ``objectId_jd`` plus the alert id, see
  :func:`row_key`); ``i:`` the candidate fields and the ZTF root fields, ``d:``
  the added values, ``b:`` the cutouts.
- ``ztf_history`` (families ``i``, ``d``): one row per measurement found in
  ``prv_candidates``, key ``objectId_jd_<candid or pid>_<digest>`` (see
  :func:`history_key_prefix`); ``i:`` its fields, ``d:tag`` ``upperlim`` or
  ``badquality``.

Every cell value is encoded with :mod:`finkportal_core.codec`. Qualifiers that
start with ``_`` are bookkeeping needed to rebuild the alert exactly.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from finkportal_core.alerts.model import (
    CUTOUT_FIELDS,
    JD_MAX,
    JD_MIN,
    ZTF_ROOT_FIELDS,
    Alert,
    InvalidAlertError,
    validate_alert,
)
from finkportal_core.codec import decode_value, value_encoder
from finkportal_core.storage.base import Row, Store

MAIN_TABLE = "ztf_alerts"
HISTORY_TABLE = "ztf_history"
MAIN_FAMILIES = ("i", "d", "b")
HISTORY_FAMILIES = ("i", "d")

TAG_VALID = "valid"  # main-table rows, tagged by the query layer (not stored)
TAG_UPPERLIM = "upperlim"  # a non-detection: no candid or no magpsf
TAG_BADQUALITY = "badquality"  # a detection known only from prv_candidates
TAG_CELL = b"d:tag"
PRV_CELL = b"i:_prv"
CANDIDATE_CANDID_CELL = b"i:_candidate_candid"
ROOT_INFO_FIELDS = ("schemavsn", "publisher", "objectId", "candid", "fp_hists")

_ROOT_ONLY = frozenset(ROOT_INFO_FIELDS) - {"candid"}
_ABSENT: Any = object()
_CACHE_LIMIT = 4096
_JD_TEXT_WIDTH = 15  # seven digits, a point, seven decimals
_pack = value_encoder()
_UPPERLIM_CELL = _pack(TAG_UPPERLIM)
_BADQUALITY_CELL = _pack(TAG_BADQUALITY)
_NULL_CELL = _pack(None)
_QUALIFIERS: dict[tuple[bytes, tuple[str, ...]], tuple[bytes, ...]] = {}
_LAYOUTS: dict[tuple[bytes, ...], _Layout] = {}
_CHECKED_CANDIDATE_KEYS: dict[tuple[str, ...], bool] = {}


def ensure_alert_tables(store: Store) -> None:
    """Create the main and history tables (idempotent)."""
    store.create_table(MAIN_TABLE, MAIN_FAMILIES)
    store.create_table(HISTORY_TABLE, HISTORY_FAMILIES)


class RowDecodeError(ValueError):
    """Rows that cannot rebuild an alert (missing history row or cell, unknown cell)."""


# -- row keys ----------------------------------------------------------------------------


def jd_text(jd: float) -> str:
    """``jd`` with exactly 7 decimals on a fixed width, so keys sort by time.

    Seven decimals are 8.64 ms: ZTF exposures are at least 30 s apart and their
    jds are published with 7 decimals, so distinct exposures never share a key and
    the text is the published value (float64 is exact to ~5e-10 day here).
    """
    if type(jd) not in (float, int) or not JD_MIN <= jd < JD_MAX:
        raise ValueError(f"jd {jd!r} is not a number in [{JD_MIN:.0f}, {JD_MAX:.0f})")
    text = f"{jd:.7f}"
    if len(text) != _JD_TEXT_WIDTH:  # rounds up to JD_MAX: would sort before every other key
        raise ValueError(f"jd {jd!r} rounds to {text}, outside [{JD_MIN:.0f}, {JD_MAX:.0f})")
    return text


def row_key(object_id: str, jd: float, candid: int) -> bytes:
    """Main-table key ``objectId_jd_candid`` (``ZTF18abcdefg_2458493.7607639_7392607...``).

    Fink keys alerts ``objectId_jd``; real streams hold distinct alerts of one object
    at one jd (two candidates of one exposure; 14 pairs in the shared real data), and
    as puts merge cells, that key would fuse two alerts into one corrupt row. The
    ``candid`` suffix keeps every alert whole while keys still sort by time within an
    object, and ``objectId_`` / ``objectId_jd`` stay key prefixes for scans.
    """
    if type(candid) is not int:
        raise ValueError(f"candid {candid!r} is not an integer")
    return f"{object_id}_{jd_text(jd)}_{candid}".encode()


def alert_row_key(alert: Alert) -> bytes:
    """The main-table key of a (validated) alert."""
    return row_key(alert["objectId"], alert["candidate"]["jd"], alert["candid"])


def history_key_prefix(object_id: str, jd: float, measurement: int | float | None = None) -> bytes:
    """The key prefix of the history rows of one measurement (or of one jd).

    History keys are ``objectId_jd_<measurement>_<digest>``: ``measurement`` is the
    ``candid`` of a detection or the ``pid`` of a non-detection, which keeps apart
    measurements that share a jd (two detections in one exposure; simulated streams
    reuse jds); ``digest`` (8 hex digits of the encoded cells) keeps apart two
    serializations of the same measurement (ZTF wrote ``isdiffpos`` as ``t``/``f``,
    later ``1``/``0``, in the ``prv_candidates`` of later alerts), so that every
    alert rebuilds exactly while identical measurements share one row.
    """
    prefix = f"{object_id}_{jd_text(jd)}_"
    return (prefix if measurement is None else f"{prefix}{measurement}_").encode()


def object_prefix(object_id: str) -> bytes:
    """The key prefix of every row of one object, in either table."""
    return f"{object_id}_".encode()


# -- alert -> rows -----------------------------------------------------------------------


def alert_to_rows(alert: Alert) -> tuple[Row, list[Row]]:
    """The main row and the history rows that store ``alert``."""
    validate_alert(alert)
    object_id = alert["objectId"]
    try:
        cells = _main_cells(alert)
        history: list[Row] = []
        if "prv_candidates" in alert:
            history, refs = _history_rows(object_id, alert["prv_candidates"])
            cells[PRV_CELL] = _pack(refs)
    except (TypeError, OverflowError, AttributeError) as exc:
        raise InvalidAlertError(f"a value cannot be stored: {exc}") from exc
    return (alert_row_key(alert), cells), history


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= _CACHE_LIMIT:  # alerts come in a few shapes: never reached in practice
        cache.clear()
    cache[key] = value


def _qualifiers(prefix: bytes, keys: tuple[str, ...]) -> tuple[bytes, ...]:
    cached = _QUALIFIERS.get((prefix, keys))
    if cached is None:
        cached = tuple(prefix + key.encode() for key in keys)
        _remember(_QUALIFIERS, (prefix, keys), cached)
    return cached


def _encode_cells(prefix: bytes, record: Mapping[str, Any]) -> dict[bytes, bytes]:
    return dict(zip(_qualifiers(prefix, tuple(record)), map(_pack, record.values()), strict=True))


def _main_cells(alert: Alert) -> dict[bytes, bytes]:
    candidate = alert["candidate"]
    _check_candidate_keys(tuple(candidate))
    cells = _encode_cells(b"i:", candidate)
    for name in ROOT_INFO_FIELDS:
        if name in alert:
            cells[b"i:" + name.encode()] = _pack(alert[name])
    own_candid = candidate.get("candid", _ABSENT)
    if own_candid is _ABSENT or type(own_candid) is not int or own_candid != alert["candid"]:
        # i:candid holds the root candid; keep the candidate's own when it differs.
        present = own_candid is not _ABSENT
        cells[CANDIDATE_CANDID_CELL] = _pack([present, own_candid if present else None])
    added = {key: value for key, value in alert.items() if key not in ZTF_ROOT_FIELDS}
    cells.update(_encode_cells(b"d:", added))
    for name in CUTOUT_FIELDS:
        if name in alert:
            cells.update(_cutout_cells(name, alert[name]))
    return cells


def _check_candidate_keys(keys: tuple[str, ...]) -> None:
    if keys in _CHECKED_CANDIDATE_KEYS:
        return
    clashes = [k for k in keys if not isinstance(k, str) or k in _ROOT_ONLY or k.startswith("_")]
    if clashes:
        raise InvalidAlertError(f"candidate fields {clashes} clash with root or bookkeeping cells")
    _remember(_CHECKED_CANDIDATE_KEYS, keys, True)


def _cutout_cells(name: str, cutout: Any) -> dict[bytes, bytes]:
    if isinstance(cutout, dict) and cutout:
        return _encode_cells(f"b:{name}_".encode(), cutout)
    return {f"b:{name}".encode(): _pack(cutout)}  # None (or anything else): one cell


def _history_rows(object_id: str, prv: Any) -> tuple[list[Row], list[str] | None]:
    """History rows of ``prv_candidates`` and the key suffixes the main row keeps."""
    if prv is None:
        return [], None
    if not isinstance(prv, list):
        raise InvalidAlertError("prv_candidates is neither a list nor null")
    prefix = object_prefix(object_id)
    rows: dict[bytes, dict[bytes, bytes]] = {}
    suffixes: list[str] = []
    for position, item in enumerate(prv):
        cells, digest = _history_cells(item, position)
        suffix = _free_suffix(prefix, _measurement_suffix(item, position), digest, cells, rows)
        rows[prefix + suffix.encode()] = cells
        suffixes.append(suffix)
    for cells in rows.values():
        cells[TAG_CELL] = _UPPERLIM_CELL if _is_upper_limit(cells) else _BADQUALITY_CELL
    return list(rows.items()), suffixes


def _history_cells(item: Any, position: int) -> tuple[dict[bytes, bytes], str]:
    """A measurement's ``i:`` cells and their digest."""
    if not isinstance(item, dict):
        raise InvalidAlertError(f"prv_candidates[{position}] is not a record")
    qualifiers = _qualifiers(b"i:", tuple(item))
    values = list(map(_pack, item.values()))
    return dict(zip(qualifiers, values, strict=True)), _digest(_layout(qualifiers), values)


def _is_upper_limit(cells: dict[bytes, bytes]) -> bool:
    """No candid or no magpsf: ZTF's non-detections."""
    return cells.get(b"i:candid", _NULL_CELL) == _NULL_CELL or (
        cells.get(b"i:magpsf", _NULL_CELL) == _NULL_CELL
    )


class _Layout(NamedTuple):
    """Where a row's ``i:`` cells sit among its qualifiers (cached per qualifier tuple)."""

    names: tuple[str, ...]  # field names, in row order
    in_row_order: Callable[[list[bytes]], Sequence[bytes]]
    sorted_qualifiers: bytes  # digest input: the i: qualifiers sorted and joined
    in_sorted_order: Callable[[list[bytes]], Sequence[bytes]]


def _layout(qualifiers: tuple[bytes, ...]) -> _Layout:
    cached = _LAYOUTS.get(qualifiers)
    if cached is None:
        fields = [(q, n) for n, q in enumerate(qualifiers) if q.startswith(b"i:")]
        ordered = sorted(fields)
        cached = _Layout(
            tuple(q[2:].decode() for q, _ in fields),
            _picker([n for _, n in fields]),
            b"".join(q for q, _ in ordered),
            _picker([n for _, n in ordered]),
        )
        _remember(_LAYOUTS, qualifiers, cached)
    return cached


def _picker(positions: list[int]) -> Callable[[list[bytes]], Sequence[bytes]]:
    if len(positions) > 1:
        return operator.itemgetter(*positions)
    return lambda values: [values[n] for n in positions]


def _digest(layout: _Layout, values: list[bytes]) -> str:
    """8 hex digits of a measurement's ``i:`` cells, whatever order a store returns."""
    digest = hashlib.blake2b(layout.sorted_qualifiers, digest_size=4)
    digest.update(b"".join(layout.in_sorted_order(values)))
    return digest.hexdigest()


def _measurement_suffix(item: dict[str, Any], position: int) -> str:
    raw_jd: Any = item.get("jd")
    try:
        jd = jd_text(raw_jd)
    except ValueError:
        reason = f"prv_candidates[{position}].jd is missing or out of range"
        raise InvalidAlertError(reason) from None
    measurement = item.get("candid")
    if measurement is None:
        measurement = item.get("pid")
    return jd if measurement is None else f"{jd}_{measurement}"


def _free_suffix(
    prefix: bytes,
    measurement: str,
    digest: str,
    cells: dict[bytes, bytes],
    rows: dict[bytes, dict[bytes, bytes]],
) -> str:
    """``measurement_digest``, or ``measurement~N_digest`` if the digests of two
    different measurements of this alert collide (1 in 2**32)."""
    suffix, attempt = f"{measurement}_{digest}", 1
    while rows.get(prefix + suffix.encode(), cells) != cells:
        attempt += 1
        suffix = f"{measurement}~{attempt}_{digest}"
    return suffix


# -- rows -> alert -----------------------------------------------------------------------


def history_keys(main_cells: Mapping[bytes, bytes]) -> list[bytes]:
    """The history row keys an alert's main row refers to (distinct, in order)."""
    object_id = _decode_cell(main_cells, b"i:objectId")
    refs = decode_value(main_cells[PRV_CELL]) if PRV_CELL in main_cells else None
    if refs is None:
        return []
    prefix = object_prefix(object_id)
    return list(dict.fromkeys(prefix + suffix.encode() for suffix in refs))


def rows_to_alert(main_cells: Mapping[bytes, bytes], history: Iterable[Row]) -> Alert:
    """Rebuild the alert stored by :func:`alert_to_rows` from its main and history rows."""
    info, added, binary = _split_families(main_cells)
    alert: Alert = {name: info[name] for name in ROOT_INFO_FIELDS[:4] if name in info}
    if "objectId" not in alert:
        raise RowDecodeError("main row has no i:objectId")
    alert["candidate"] = _rebuild_candidate(info)
    prv_refs = info.get("_prv", _ABSENT)
    if prv_refs is not _ABSENT:
        alert["prv_candidates"] = _rebuild_prv(alert["objectId"], prv_refs, history)
    if "fp_hists" in info:
        alert["fp_hists"] = info["fp_hists"]
    alert.update(_rebuild_cutouts(binary))
    alert.update(added)
    return alert


def _decode_cell(cells: Mapping[bytes, bytes], qualifier: bytes) -> Any:
    if qualifier not in cells:
        raise RowDecodeError(f"main row has no {qualifier.decode()}")
    return decode_value(cells[qualifier])


def _split_families(cells: Mapping[bytes, bytes]) -> tuple[dict[str, Any], ...]:
    families: dict[bytes, dict[str, Any]] = {b"i": {}, b"d": {}, b"b": {}}
    for qualifier, raw in cells.items():
        family, _, name = qualifier.partition(b":")
        if family not in families:
            raise RowDecodeError(f"unexpected cell {qualifier!r} in a main row")
        families[family][name.decode()] = decode_value(raw)
    return families[b"i"], families[b"d"], families[b"b"]


def _rebuild_candidate(info: dict[str, Any]) -> dict[str, Any]:
    candidate = {k: v for k, v in info.items() if k not in _ROOT_ONLY and not k.startswith("_")}
    marker = info.get("_candidate_candid")
    if marker is not None:
        present, value = marker
        if present:
            candidate["candid"] = value
        else:
            candidate.pop("candid", None)
    return candidate


def _rebuild_cutouts(binary: dict[str, Any]) -> dict[str, Any]:
    cutouts: dict[str, Any] = {}
    for name, value in binary.items():
        cutout, _, part = name.partition("_")
        if cutout not in CUTOUT_FIELDS:
            raise RowDecodeError(f"unexpected cell b:{name} in a main row")
        if part:
            cutouts.setdefault(cutout, {})[part] = value
        else:
            cutouts[cutout] = value
    return {name: cutouts[name] for name in CUTOUT_FIELDS if name in cutouts}


def _rebuild_prv(object_id: str, suffixes: Any, history: Iterable[Row]) -> list[Any] | None:
    if suffixes is None:
        return None
    by_key: dict[bytes, Mapping[bytes, bytes]] = dict(history)
    prefix = object_prefix(object_id)
    return [_rebuild_item(prefix + suffix.encode(), by_key) for suffix in suffixes]


def _rebuild_item(key: bytes, by_key: dict[bytes, Mapping[bytes, bytes]]) -> dict[str, Any]:
    cells = by_key.get(key)
    if cells is None:
        raise RowDecodeError(f"history row {key.decode()} is missing")
    layout = _layout(tuple(cells))
    values = list(cells.values())
    if not key.endswith(_digest(layout, values).encode()):
        raise RowDecodeError(f"history row {key.decode()} lacks cells or holds other values")
    return dict(zip(layout.names, map(decode_value, layout.in_row_order(values)), strict=True))
