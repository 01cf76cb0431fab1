"""Turning Spark/Parquet/pandas records into plain alerts.

Alerts hold only JSON-like Python values plus bytes: None, bool, int, float, str,
bytes, lists and dicts with string keys. Records read from Spark-written Avro,
Parquet or pandas carry other types, converted here:

- numpy scalars and arrays -> Python scalars and lists (``.item()``/``.tolist()``);
- tuples -> lists; ``bytearray``/``memoryview`` -> bytes;
- datetimes (Spark ``timestamp`` columns) -> ``"YYYY-MM-DD HH:MM:SS.ffffff"`` in UTC,
  the form Fink's own dumps already hold as strings; dates/times -> ISO strings;
- ``Decimal`` and ``UUID`` -> their string form.

Columns that pandas adds for its index (``__index_level_N__``) are dropped; every
other key is kept, Fink's added values at top level as they come.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from uuid import UUID

from finkportal_core.alerts.model import Alert

_PLAIN_SCALARS = frozenset((type(None), bool, int, float, str, bytes))
_PANDAS_INDEX = re.compile(r"__index_level_\d+__")
_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def normalize_record(record: Mapping[str, Any]) -> Alert:
    """A plain alert dict from a Spark/Parquet/pandas record (see the module doc)."""
    return {
        str(key): plain_value(value)
        for key, value in record.items()
        if not _PANDAS_INDEX.fullmatch(str(key))
    }


def plain_value(value: Any) -> Any:
    """``value`` with every nested container and scalar turned into plain Python types."""
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return value
    if kind is list or kind is tuple:
        return [plain_value(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): plain_value(item) for key, item in value.items()}
    return _convert_other(value)


def _convert_other(value: Any) -> Any:
    if _is_missing(value):  # pandas NaT / NA
        return None
    if isinstance(value, dt.datetime):
        return _timestamp_text(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, bool | int | float | str | bytes):  # subclasses (numpy.float64...)
        return _base_scalar(value)
    if type(value).__module__ == "numpy":
        return plain_value(value.tolist() if hasattr(value, "tolist") else value.item())
    raise TypeError(f"cannot turn a {type(value).__name__} into an alert value")


def _is_missing(value: Any) -> bool:
    return type(value).__name__ in ("NaTType", "NAType")


def _base_scalar(value: Any) -> Any:
    base: Any = next(b for b in (bool, int, float, str, bytes) if isinstance(value, b))
    return base(value)


def _timestamp_text(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.strftime(_TIMESTAMP_FORMAT)
