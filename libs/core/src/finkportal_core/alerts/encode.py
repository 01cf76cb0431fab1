"""Encoding alerts in both Kafka wire forms.

Parsed schemas and container headers are cached: by schema object identity for
schemas the caller passes (treat them as immutable once used), and by alert shape
for schemas derived with :func:`schema_for`.
"""

from __future__ import annotations

import io
import json
from functools import cache, lru_cache
from typing import Any, NamedTuple

import fastavro

from finkportal_core.alerts.container import SYNC_SIZE, container_block, container_header
from finkportal_core.alerts.infer import Desc, describe_alert, render_alert
from finkportal_core.alerts.model import (
    PACKAGED_SCHEMA_VERSION,
    Alert,
    AlertEncodeError,
    packaged_schema,
)

_CACHE_LIMIT = 256


class Writer(NamedTuple):
    """A parsed schema with its JSON text and a ready container header."""

    parsed: Any
    schema_text: bytes
    header: bytes

    @property
    def sync(self) -> bytes:
        return self.header[-SYNC_SIZE:]


_BY_IDENTITY: dict[int, tuple[dict[str, Any], Writer]] = {}


def encode_ztf_message(alert: Alert, schema: dict[str, Any] | None = None) -> bytes:
    """A one-record Avro container (ZTF's wire form) holding ``alert``.

    Without ``schema``: the packaged ZTF 4.02 schema when the alert has exactly its
    fields (a 4.02 alert without added values), otherwise :func:`schema_for`.
    """
    if schema is not None:
        return _container(_writer_for_schema(schema), alert)
    if _has_packaged_shape(alert):
        try:
            return _container(_packaged_writer(), alert)
        except AlertEncodeError:
            pass  # a value the ZTF types cannot hold (a null jd...): derive a schema
    return _container(_writer_for_shape(describe_alert(alert)), alert)


def encode_fink_message(alert: Alert, schema: dict[str, Any]) -> tuple[bytes, bytes]:
    """``(key, value)`` as Fink streams alerts: the schema JSON and one schemaless record.

    Alert keys that ``schema`` lacks are not written.
    """
    writer = _writer_for_schema(schema)
    return writer.schema_text, _record_bytes(writer, alert)


def _container(writer: Writer, alert: Alert) -> bytes:
    return writer.header + container_block(_record_bytes(writer, alert), 1, writer.sync)


def _record_bytes(writer: Writer, alert: Alert) -> bytes:
    if not isinstance(alert, dict):
        raise AlertEncodeError(f"alert is a {type(alert).__name__}, not a dict")
    stream = io.BytesIO()
    try:
        fastavro.schemaless_writer(stream, writer.parsed, alert)
    except Exception as exc:  # fastavro raises TypeError, ValueError, AttributeError...
        raise AlertEncodeError(f"alert does not fit the schema: {exc}") from exc
    return stream.getvalue()


def _make_writer(schema: dict[str, Any]) -> Writer:
    text = json.dumps(schema, separators=(",", ":")).encode()
    try:
        parsed = fastavro.parse_schema(schema)
    except Exception as exc:
        raise AlertEncodeError(f"schema does not parse: {exc}") from exc
    return Writer(parsed, text, container_header(text))


def _writer_for_schema(schema: dict[str, Any]) -> Writer:
    cached = _BY_IDENTITY.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    writer = _make_writer(schema)
    if len(_BY_IDENTITY) >= _CACHE_LIMIT:
        _BY_IDENTITY.clear()
    _BY_IDENTITY[id(schema)] = (schema, writer)  # holding the schema keeps its id unique
    return writer


@lru_cache(maxsize=_CACHE_LIMIT)
def _writer_for_shape(desc: Desc) -> Writer:
    return _make_writer(render_alert(desc))


@cache
def _packaged_writer() -> Writer:
    return _make_writer(packaged_schema())


@cache
def _packaged_keys() -> dict[str, frozenset[str]]:
    """Field names of the packaged schema's records, by root field name."""
    schema = packaged_schema()
    keys = {"": frozenset(field["name"] for field in schema["fields"])}
    for field in schema["fields"]:
        branches = field["type"] if isinstance(field["type"], list) else [field["type"]]
        for branch in branches:
            record = branch.get("items", branch) if isinstance(branch, dict) else None
            if isinstance(record, dict) and "fields" in record:
                keys[field["name"]] = frozenset(item["name"] for item in record["fields"])
    keys.setdefault("cutoutTemplate", keys["cutoutScience"])
    keys.setdefault("cutoutDifference", keys["cutoutScience"])
    return keys


def _has_packaged_shape(alert: Alert) -> bool:
    """True when ``alert`` has exactly the fields of the packaged ZTF schema."""
    if alert.get("schemavsn") != PACKAGED_SCHEMA_VERSION:
        return False
    keys = _packaged_keys()
    if alert.keys() != keys[""]:
        return False
    for name, value in alert.items():
        expected = keys.get(name)
        if expected is None or value is None:
            continue
        samples = value if isinstance(value, list) else [value]
        if not all(isinstance(s, dict) and s.keys() == expected for s in samples):
            return False
    return True
