"""The compact record of one stored alert: what the indexer needs, nothing more.

Ingest builds it from the main-table cells it has just written durably, and the
reindex command builds it from the same cells read back, with the same function
(:func:`index_record`): so a live index and a rebuilt one cannot differ. A record
is a flat dict of decoded values, published as msgpack on the internal topic
(~400 bytes instead of the ~70 KB alert with its cutouts).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgpack

from finkportal_core.classification import ADDED_VALUE_FIELDS, fink_class
from finkportal_core.codec import CellDecodeError, decode_value

RECORD_VERSION = 1
# Candidate fields (family i) the index rows and the classification read.
CANDIDATE_FIELDS = (
    "objectId", "candid", "jd", "ra", "dec", "fid", "magpsf", "sigmapsf", "isdiffpos",
    "ndethist", "jdstarthist", "drb", "classtar", "ssnamenr",
)
REQUIRED_FIELDS = ("objectId", "candid", "jd", "ra", "dec")
INFO_COLUMNS = tuple(f"i:{name}".encode() for name in CANDIDATE_FIELDS)
ADDED_COLUMNS = tuple(f"d:{name}".encode() for name in ADDED_VALUE_FIELDS)
# The main-table cells :func:`index_record` reads (a scan of these is all reindex needs).
RECORD_COLUMNS = INFO_COLUMNS + ADDED_COLUMNS
KEY_FIELD = "key"
VERSION_FIELD = "v"

Record = dict[str, Any]


class RecordError(ValueError):
    """A record that cannot be built, decoded or indexed (permanent: dead-letter it)."""


def index_record(main_key: bytes, cells: Mapping[bytes, bytes]) -> Record:
    """The record of the alert stored at ``main_key`` with main-table ``cells``."""
    record: Record = {VERSION_FIELD: RECORD_VERSION, KEY_FIELD: main_key.decode()}
    try:
        for column in RECORD_COLUMNS:
            raw = cells.get(column)
            if raw is not None:
                record[column[2:].decode()] = decode_value(raw)
    except CellDecodeError as exc:
        raise RecordError(f"main row {main_key!r}: {exc}") from exc
    _check_required(record)
    return record


def _check_required(record: Record) -> None:
    missing = [name for name in REQUIRED_FIELDS if record.get(name) is None]
    if missing:
        raise RecordError(f"record {record.get(KEY_FIELD)!r} lacks {missing}")
    if not isinstance(record["objectId"], str) or not record["objectId"]:
        raise RecordError(f"record {record[KEY_FIELD]!r}: objectId is not a non-empty string")
    if type(record["candid"]) is not int:
        raise RecordError(f"record {record[KEY_FIELD]!r}: candid is not an integer")
    for name in ("jd", "ra", "dec"):
        if type(record[name]) not in (int, float):
            raise RecordError(f"record {record[KEY_FIELD]!r}: {name} is not a number")


def encode_record(record: Record) -> bytes:
    """The Kafka message value of a record."""
    return msgpack.packb(record, use_bin_type=True, use_single_float=False)


def decode_record(value: bytes | None) -> Record:
    """A record from its Kafka message value; ``RecordError`` for anything else."""
    if not value:
        raise RecordError("empty record message")
    try:
        record = msgpack.unpackb(value, raw=False, strict_map_key=True)
    except Exception as exc:  # ExtraData, FormatError, UnicodeDecodeError...
        raise RecordError(f"not a msgpack record: {exc}") from exc
    version = record.get(VERSION_FIELD) if isinstance(record, dict) else None
    if type(version) is not int or version != RECORD_VERSION:
        raise RecordError(f"not a version-{RECORD_VERSION} record")
    if not isinstance(record.get(KEY_FIELD), str):
        raise RecordError("record has no main-table key")
    _check_required(record)
    return record


def record_class(record: Record) -> str:
    """Fink's class of the alert behind ``record`` (``RecordError`` on unreadable inputs)."""
    try:
        return fink_class(record)
    except (ValueError, TypeError) as exc:  # ClassificationInputError is a ValueError
        raise RecordError(f"record {record[KEY_FIELD]!r}: cannot classify: {exc}") from exc
