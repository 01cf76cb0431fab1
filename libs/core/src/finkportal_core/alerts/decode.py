"""Decoding Kafka alert messages in either wire form.

- ZTF's: the value is a complete Avro object container file (writer schema inside),
  any schema version, codec null/deflate/snappy (and bzip2/xz/zstandard).
- Fink's: the value is one schemaless Avro record, the key is the schema JSON.

Parsed schemas are cached by their text, since a stream repeats the same few.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any, NamedTuple

import fastavro

from finkportal_core.alerts.container import MAGIC, iter_blocks, read_header
from finkportal_core.alerts.model import Alert, AlertDecodeError
from finkportal_core.alerts.normalize import plain_value

_CACHE_LIMIT = 256


class ReaderSchema(NamedTuple):
    """A parsed writer schema and what decoding with it needs."""

    parsed: Any
    # Top-level fields whose values fastavro turns into datetime/Decimal/UUID
    # objects (Avro logical types, as in Spark-written alerts): normalized.
    logical_fields: tuple[str, ...]


_SCHEMAS: dict[bytes, ReaderSchema] = {}


def decode_message(value: bytes, key: bytes | str | None = None) -> list[Alert]:
    """Decode one Kafka message into its alerts (one for ZTF and Fink streams)."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise AlertDecodeError(f"message value is a {type(value).__name__}, not bytes")
    value = bytes(value)
    if value[:4] == MAGIC:
        alerts = list(iter_container(value))
        if not alerts:
            raise AlertDecodeError("container holds no alert")
        return alerts
    if not key:
        reason = "empty message" if not value else "not an Avro container and no schema key"
        raise AlertDecodeError(reason)
    return [_decode_schemaless(value, _key_bytes(key))]


def _key_bytes(key: bytes | str) -> bytes:
    if isinstance(key, str):
        return key.encode("utf-8")
    if isinstance(key, bytes | bytearray | memoryview):
        return bytes(key)
    raise AlertDecodeError(f"message key is a {type(key).__name__}, not bytes")


def iter_container(buf: bytes) -> Iterator[Alert]:
    """Every alert of an Avro container file, normalized where its schema needs it."""
    header = read_header(buf)
    schema = reader_schema(header.schema_text)
    for count, block in iter_blocks(buf, header):
        stream = io.BytesIO(block)
        for _ in range(count):
            yield _read_record(stream, schema)
        if stream.tell() != len(block):
            raise AlertDecodeError("corrupt container: block longer than its records")


def _decode_schemaless(value: bytes, schema_text: bytes) -> Alert:
    schema = reader_schema(schema_text)
    stream = io.BytesIO(value)
    alert = _read_record(stream, schema)
    if stream.tell() != len(value):
        raise AlertDecodeError("bytes left over after the record: schema does not match")
    return alert


def _read_record(stream: io.BytesIO, schema: ReaderSchema) -> Alert:
    try:
        record = fastavro.schemaless_reader(stream, schema.parsed, None)
    except Exception as exc:  # fastavro raises EOFError, ValueError, UnicodeError...
        raise AlertDecodeError(f"record does not decode: {type(exc).__name__}") from exc
    if not isinstance(record, dict):
        raise AlertDecodeError("schema is not a record schema")
    for name in schema.logical_fields:
        record[name] = plain_value(record[name])
    return record


def reader_schema(schema_text: bytes) -> ReaderSchema:
    """The cached parsed form of a writer schema that describes an alert."""
    cached = _SCHEMAS.get(schema_text)
    if cached is None:
        cached = _parse_alert_schema(schema_text)
        if len(_SCHEMAS) >= _CACHE_LIMIT:
            _SCHEMAS.clear()  # a stream uses a handful of schemas: never reached in practice
        _SCHEMAS[schema_text] = cached
    return cached


def _parse_alert_schema(schema_text: bytes) -> ReaderSchema:
    try:
        schema = json.loads(schema_text)
        parsed = fastavro.parse_schema(schema, _ignore_default_error=True)
    except Exception as exc:
        raise AlertDecodeError(f"schema does not parse: {exc}") from exc
    root = _alert_fields(schema)
    logical = tuple(name for name, kind in root.items() if "logicalType" in json.dumps(kind))
    return ReaderSchema(parsed, logical)


def _alert_fields(schema: Any) -> dict[str, Any]:
    """The root field types of an alert schema; raise if it does not describe alerts."""
    named = _named_records(schema, {})
    root = _record_fields(schema, named)
    candidate = _record_fields(root.get("candidate"), named) if root else None
    if root is None or "objectId" not in root or candidate is None or "jd" not in candidate:
        raise AlertDecodeError("schema is not an alert schema (needs objectId and candidate.jd)")
    return root


def _named_records(schema: Any, found: dict[str, Any]) -> dict[str, Any]:
    """Every record defined in ``schema`` by full name, for fields that refer to one."""
    if isinstance(schema, list):
        for branch in schema:
            _named_records(branch, found)
    elif isinstance(schema, dict):
        if schema.get("type") == "record" and isinstance(schema.get("name"), str):
            namespace = schema.get("namespace")
            name = schema["name"]
            found[name if "." in name or not namespace else f"{namespace}.{name}"] = schema
            found.setdefault(name.rsplit(".", 1)[-1], schema)
        for field in schema.get("fields", []):
            _named_records(field.get("type") if isinstance(field, dict) else None, found)
        _named_records(schema.get("items"), found)
        _named_records(schema.get("values"), found)
    return found


def _record_fields(schema: Any, named: dict[str, Any]) -> dict[str, Any] | None:
    """Field types by name when ``schema`` is a record (maybe nullable or by name)."""
    if isinstance(schema, list):
        records = [branch for branch in schema if branch != "null"]
        schema = records[0] if len(records) == 1 else None
    if isinstance(schema, str):
        schema = named.get(schema)
    if isinstance(schema, dict) and schema.get("type") == "record":
        fields = schema.get("fields", [])
        return {field["name"]: field["type"] for field in fields if isinstance(field, dict)}
    return None
