"""Rendering result rows as the documents Fink's ``output-format`` asks for.

Rows are Fink-style records (``i:objectId``, ``d:cdsxmatch``, ``v:lastdate``,
``b:cutoutScience_stampData``...). The table's columns are the union of the rows' keys
in order of first appearance; a key a row lacks is null in that row.

Encodings, per format:

- ``json``: a list of records (pandas' ``orient="records"``), every record with every
  column. NaN and infinities become ``null`` (JSON has no such numbers). ``bytes``
  become base64 text; lists (e.g. cutouts already decoded to 2-D float arrays, as Fink
  returns them) stay JSON arrays, their NaN also ``null``.
- ``csv``: a header line, then one line per row. Null and NaN are empty cells (an empty
  string is one too), infinities ``inf``/``-inf``, booleans ``True``/``False`` (what
  pandas reads back), ``bytes`` base64, lists and dicts their JSON text (NaN ``null``).
- ``parquet``: one typed column per key (pyarrow's inference: ints, doubles, strings,
  binary for ``bytes``, nested lists for arrays); NaN stays NaN and null stays null.
  A column whose values pyarrow cannot type together (e.g. ints and strings) is
  written as strings, each value's JSON text (strings stay as they are).
- ``votable``: VOTable 1.4 TABLEDATA written by :mod:`astropy.io.votable`. Each
  FIELD's ``name`` is the column name, ``:`` included; its ``ID`` is that name made an
  XML id (``i:objectId`` -> ``i_objectId``, unique). Read it back by name with
  ``Table.read(..., format="votable", use_names_over_ids=True)``. Ints with nulls are
  masked longs, floats doubles (null and NaN are both NaN), booleans nullable, strings
  ``unicodeChar`` (a null string reads back as an empty string: TABLEDATA has no null
  string). ``bytes`` are base64 text; lists, dicts and mixed-type columns JSON text
  (cutouts are not always 63x63, so a fixed VOTable array size would not fit).

An empty list of rows gives an empty document: ``[]``, an empty CSV body, a Parquet
file with no columns and no rows, a VOTable whose table has no fields and no rows.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType, NoneType
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from astropy.io.votable import from_table
from astropy.table import Column, MaskedColumn, Table

from finkportal_query.errors import BadParameterError

Record = Mapping[str, Any]
Renderer = Callable[[Sequence[Record], list[str]], bytes]

OUTPUT_FORMATS = ("json", "csv", "parquet", "votable")
MEDIA_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "json": "application/json",
        "csv": "text/csv; charset=utf-8",
        "parquet": "application/vnd.apache.parquet",
        "votable": "application/x-votable+xml",
    }
)
_XML_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
# Characters XML 1.0 cannot hold, even escaped (control characters, lone surrogates...).
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# pyarrow's ArrowInvalid and ArrowTypeError are ValueError and TypeError subclasses.
_ARROW_REFUSALS = (ValueError, TypeError, OverflowError)


def render_table(records: Sequence[Record], output_format: str) -> tuple[bytes, str]:
    """The rows as one document in ``output_format`` (any case), and its media type.

    Raises :class:`BadParameterError` naming the valid formats for any other format.
    """
    name = output_format.lower() if isinstance(output_format, str) else output_format
    renderer = _RENDERERS.get(name)
    if renderer is None:
        raise BadParameterError(
            f"output-format must be one of {', '.join(OUTPUT_FORMATS)}, not {output_format!r}"
        )
    return renderer(records, column_names(records)), MEDIA_TYPES[name]


def column_names(records: Iterable[Record]) -> list[str]:
    """Every key of the rows, in order of first appearance."""
    seen: dict[str, Any] = {}
    for record in records:
        seen.update(record)  # an update keeps a key where it first came: only keys matter
    return list(seen)


def _column(records: Sequence[Record], name: str) -> list[Any]:
    return [record.get(name) for record in records]


def _is_nan(value: Any) -> bool:
    return isinstance(value, float | np.floating) and math.isnan(value)


# ---------------------------------------------------------------- json


def _render_json(records: Sequence[Record], columns: list[str]) -> bytes:
    rows = [{name: record.get(name) for name in columns} for record in records]
    # orjson writes NaN and infinities as null (valid JSON), ~10x faster than json.dumps
    # on cutout arrays; bytes and numpy values go through _json_default.
    try:
        return orjson.dumps(rows, default=_json_default, option=orjson.OPT_SERIALIZE_NUMPY)
    except orjson.JSONEncodeError:  # ints beyond 64 bits: the stdlib encoder writes them
        text = json.dumps([{k: _json_ready(v) for k, v in row.items()} for row in rows],
                          allow_nan=False, default=_json_default, separators=(",", ":"))
        return text.encode("utf-8")


def _json_ready(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (recursively)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return _json_ready_list(value)
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    return value  # other types: as is, or through _json_default


def _json_ready_list(values: list[Any] | tuple[Any, ...]) -> list[Any]:
    if all(type(item) is float for item in values):  # the hot case: a row of a cutout
        return [item if math.isfinite(item) else None for item in values]
    return [_json_ready(item) for item in values]


def _json_default(value: Any) -> Any:
    """What the stdlib encoder cannot write itself: bytes, numpy scalars and arrays."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, np.ndarray | np.generic):
        return _json_ready(value.tolist())
    raise TypeError(f"cannot write a {type(value).__name__} in a JSON response")


def _as_text(value: Any) -> str | None:
    """A cell as text for formats without a type for it: base64 bytes, JSON others."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    return json.dumps(_json_ready(value), allow_nan=False, default=_json_default)


# ---------------------------------------------------------------- csv


def _render_csv(records: Sequence[Record], columns: list[str]) -> bytes:
    if not columns:
        return b""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_csv_cell(record.get(name)) for name in columns] for record in records)
    return buffer.getvalue().encode("utf-8")


def _csv_cell(value: Any) -> Any:
    if value is None or isinstance(value, str | int):  # bool is an int: True/False
        return value
    if isinstance(value, float):
        return "" if math.isnan(value) else value  # repr: round-trips, inf as "inf"
    if isinstance(value, np.generic):
        return _csv_cell(value.item())
    return _as_text(value)


# ---------------------------------------------------------------- parquet


def _render_parquet(records: Sequence[Record], columns: list[str]) -> bytes:
    arrays = [_arrow_array(_column(records, name)) for name in columns]
    table = pa.Table.from_arrays(arrays, names=columns)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _arrow_array(values: list[Any]) -> pa.Array:
    """The column typed by pyarrow, else (mixed types, huge ints) each value as text."""
    try:
        return pa.array(values, from_pandas=False)  # from_pandas=False: NaN is not null
    except _ARROW_REFUSALS:
        pass
    try:  # numpy values pyarrow refuses nested in lists (e.g. 2-D arrays)
        return pa.array([_plain(value) for value in values], from_pandas=False)
    except _ARROW_REFUSALS:
        return pa.array([_as_text(value) for value in values], type=pa.string())


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    return value


# ---------------------------------------------------------------- votable


def _render_votable(records: Sequence[Record], columns: list[str]) -> bytes:
    ids = _xml_ids(columns)
    # Columns are named by their XML id so astropy need not invent (and warn about)
    # ids; the FIELD names are then set back to the real column names.
    table = Table([_votable_column(_column(records, name)) for name in columns], names=ids)
    votable = from_table(table)
    for field, name in zip(votable.get_first_table().fields, columns, strict=True):
        field.name = _xml_text(name)
    buffer = io.BytesIO()
    # to_xml, not writeto: writeto forces astropy's pure-Python TABLEDATA writer.
    votable.to_xml(buffer)
    return buffer.getvalue()


def _xml_ids(names: list[str]) -> list[str]:
    """One valid, unique XML id per column name (``i:jd`` -> ``i_jd``)."""
    ids: list[str] = []
    taken: set[str] = set()
    for name in names:
        base = _XML_ID_UNSAFE.sub("_", name)
        if not base or not (base[0].isalpha() or base[0] == "_"):
            base = f"_{base}"
        candidate, suffix = base, 1
        while candidate in taken:
            suffix += 1
            candidate = f"{base}_{suffix}"
        taken.add(candidate)
        ids.append(candidate)
    return ids


def _votable_column(values: list[Any]) -> Column:
    kinds = {_type_kind(kind) for kind in set(map(type, values)) if kind is not NoneType}
    if not kinds or kinds == {"float"} or kinds == {"int", "float"}:
        return Column(np.array(values, dtype=np.float64))  # None -> NaN, VOTable's null
    if kinds == {"int"} and _fits_int64(values):
        return _masked(values, 0, np.int64)
    if kinds == {"bool"}:
        return _masked(values, False, np.bool_)
    if kinds == {"str"}:
        return _masked([_xml_text(value) for value in values], "", np.str_)
    texts = [None if _is_nan(value) else _xml_text(_as_text(value)) for value in values]
    return _masked(texts, "", np.str_)


def _xml_text(value: str | None) -> str | None:
    """``value`` with each character XML cannot hold replaced by U+FFFD."""
    return None if value is None else _XML_ILLEGAL.sub("\ufffd", value)


def _type_kind(kind: type) -> str:
    if issubclass(kind, bool | np.bool_):
        return "bool"
    if issubclass(kind, int | np.integer):
        return "int"
    if issubclass(kind, float | np.floating):
        return "float"
    return "str" if issubclass(kind, str) else "other"


def _fits_int64(values: list[Any]) -> bool:
    limits = np.iinfo(np.int64)
    return all(value is None or limits.min <= value <= limits.max for value in values)


def _masked(values: list[Any], filler: Any, dtype: Any) -> MaskedColumn:
    """A column whose None values are masked (stored as ``filler``)."""
    missing = np.array([value is None for value in values], dtype=bool)
    array = np.array([filler if value is None else value for value in values], dtype=dtype)
    return MaskedColumn(array, mask=missing)


_RENDERERS: Mapping[str, Renderer] = MappingProxyType(
    {
        "json": _render_json,
        "csv": _render_csv,
        "parquet": _render_parquet,
        "votable": _render_votable,
    }
)
