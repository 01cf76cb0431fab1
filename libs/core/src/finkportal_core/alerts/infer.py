"""Deriving an Avro schema that fits one alert exactly.

Every key of the alert becomes a field, in alert order, and no other: decoding
then gives back the same keys. A field takes the ZTF 4.02 type of the same name
(the packaged schema; field names and types are the same in 3.x) when every value
fits it exactly (a ``float`` field only if the value survives float32), otherwise
a type inferred from the values: ``null``/``boolean``/``long``/``double``/``string``/
``bytes``, arrays, records (dicts whose keys are Avro names and agree across a
list) or maps (other dicts), as a nullable union. Records are named after their
path (``ztf.alert.candidate``, ``ztf.alert.prv_candidates_item``...), so names
never clash.

Schemas are first built as hashable descriptions, so encoders can cache one
parsed schema per distinct alert shape.
"""

from __future__ import annotations

import json
import re
import struct
from functools import cache
from typing import Any, NamedTuple

from finkportal_core.alerts.model import Alert, AlertEncodeError, packaged_schema

Desc = tuple[Any, ...]

_AVRO_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_SCALAR_KINDS = {
    type(None): "null",
    bool: "boolean",
    int: "long",
    float: "double",
    str: "string",
    bytes: "bytes",
}
_BRANCH_ORDER = ("null", "boolean", "long", "double", "string", "bytes")
_NULL_ONLY: Desc = ("union", ("null",))


class Hint(NamedTuple):
    """What the ZTF schema knows about one position of an alert."""

    leaf: str | None  # JSON text of a primitive type or union of primitives
    allowed: frozenset[str]  # the primitive names of ``leaf``
    fields: dict[str, Hint] | None  # a (nullable) record's field hints
    items: Hint | None  # a (nullable) array's item hint


def schema_for(alert: Alert) -> dict[str, Any]:
    """An Avro schema (JSON form) that fits ``alert`` and decodes back to it exactly."""
    return render_alert(describe_alert(alert))


def describe_alert(alert: Alert) -> Desc:
    """The hashable description of the schema that fits ``alert``."""
    if not isinstance(alert, dict):
        raise AlertEncodeError(f"alert is a {type(alert).__name__}, not a dict")
    misnamed = [key for key in alert if not _is_avro_name(key)]
    if misnamed:
        raise AlertEncodeError(f"top-level names {misnamed} are not Avro field names")
    _, fields = _describe_record([alert], _root_hint().fields or {})
    return ("record", tuple((name, _nullable(desc)) for name, desc in fields))


def _nullable(desc: Desc) -> Desc:
    """Inferred top-level fields (added values) also admit null, so a schema can serve
    alerts where that value is missing."""
    if desc[0] == "union" and "null" not in desc[1]:
        return ("union", ("null", *desc[1]))
    return desc


def render_alert(desc: Desc) -> dict[str, Any]:
    """The Avro JSON schema for a description made by :func:`describe_alert`."""
    schema = _render_record(desc, "alert", "ztf")
    schema["doc"] = "ZTF alert with added values, types derived from the alert (finkportal)"
    return schema


# -- describing values ------------------------------------------------------------


def _describe(values: list[Any], hint: Hint | None) -> Desc:
    if hint is not None and hint.leaf is not None and _all_fit(values, hint.allowed):
        return ("known", hint.leaf)
    kinds: set[str] = set()
    lists: list[list[Any]] = []
    dicts: list[dict[str, Any]] = []
    for value in values:
        _sort_value(value, kinds, lists, dicts)
    branches: list[Any] = [kind for kind in _BRANCH_ORDER if kind in kinds]
    if lists:
        items = [item for sample in lists for item in sample]
        branches.append(("array", _describe(items, hint.items if hint else None)))
    if dicts:
        branches.append(_describe_dicts(dicts, hint.fields if hint else None))
    return ("union", tuple(branches)) if branches else _NULL_ONLY


def _sort_value(value: Any, kinds: set[str], lists: list[Any], dicts: list[Any]) -> None:
    kind = _SCALAR_KINDS.get(type(value))
    if kind == "long" and not _LONG_MIN <= value <= _LONG_MAX:
        raise AlertEncodeError(f"integer {value} does not fit in 64 bits")
    if kind is not None:
        kinds.add(kind)
    elif type(value) is list:
        lists.append(value)
    elif type(value) is dict:
        dicts.append(value)
    else:
        raise AlertEncodeError(f"a {type(value).__name__} is not an alert value")


def _describe_dicts(dicts: list[dict[str, Any]], hints: dict[str, Hint] | None) -> Desc:
    first = dicts[0]
    same_keys = all(sample.keys() == first.keys() for sample in dicts)
    if same_keys and all(_is_avro_name(key) for key in first):
        return _describe_record(dicts, hints or {})
    if not all(isinstance(key, str) for sample in dicts for key in sample):
        raise AlertEncodeError("a dict with non-string keys is not an alert value")
    values = [value for sample in dicts for value in sample.values()]
    return ("map", _describe(values, None))


def _describe_record(dicts: list[dict[str, Any]], hints: dict[str, Hint]) -> Desc:
    fields = tuple(
        (key, _describe([sample[key] for sample in dicts], hints.get(key))) for key in dicts[0]
    )
    return ("record", fields)


def _is_avro_name(key: Any) -> bool:
    return isinstance(key, str) and _AVRO_NAME.fullmatch(key) is not None


def _all_fit(values: list[Any], allowed: frozenset[str]) -> bool:
    # Checked per type over the whole list: this runs for every field of every
    # prv_candidate, so the per-value work stays in C (map, min/max, struct).
    for kind in set(map(type, values)):
        if kind is float:
            if "double" not in allowed and not (
                "float" in allowed and _all_float32([v for v in values if type(v) is float])
            ):
                return False
        elif kind is int:
            if not _ints_fit([v for v in values if type(v) is int], allowed):
                return False
        elif _SCALAR_KINDS.get(kind) not in allowed:
            return False
    return True


def _ints_fit(ints: list[int], allowed: frozenset[str]) -> bool:
    low, high = min(ints), max(ints)
    if "int" in allowed and low >= _INT_MIN and high <= _INT_MAX:
        return True
    return "long" in allowed and low >= _LONG_MIN and high <= _LONG_MAX


def _all_float32(floats: list[float]) -> bool:
    """True when every value survives a float32 round trip (NaN stays NaN)."""
    try:
        narrowed = list(struct.unpack(f"<{len(floats)}f", struct.pack(f"<{len(floats)}f", *floats)))
    except OverflowError:
        return False
    if narrowed == floats:
        return True
    return all(a == b or (a != a and b != b) for a, b in zip(narrowed, floats, strict=True))


# -- rendering descriptions as Avro JSON ------------------------------------------------


def _render(desc: Desc, name: str, namespace: str) -> Any:
    if desc[0] == "known":
        return json.loads(desc[1])
    if desc[0] != "union":
        return _render_branch(desc, name, namespace)
    rendered = [_render_branch(branch, name, namespace) for branch in desc[1]]
    return rendered[0] if len(rendered) == 1 else rendered


def _render_branch(branch: Any, name: str, namespace: str) -> Any:
    if isinstance(branch, str):
        return branch
    if branch[0] == "array":
        return {"type": "array", "items": _render(branch[1], f"{name}_item", namespace)}
    if branch[0] == "map":
        return {"type": "map", "values": _render(branch[1], f"{name}_value", namespace)}
    return _render_record(branch, name, namespace)


def _render_record(desc: Desc, name: str, namespace: str) -> dict[str, Any]:
    full_name = f"{namespace}.{name}"
    fields = []
    for field_name, field_desc in desc[1]:
        field: dict[str, Any] = {
            "name": field_name,
            "type": _render(field_desc, field_name, full_name),
        }
        if _is_nullable(field["type"]):
            field["default"] = None
        fields.append(field)
    return {"type": "record", "name": name, "namespace": namespace, "fields": fields}


def _is_nullable(avro_type: Any) -> bool:
    return avro_type == "null" or (isinstance(avro_type, list) and avro_type[0] == "null")


# -- hints from the packaged ZTF schema ----------------------------------------------------


@cache
def _root_hint() -> Hint:
    schema = packaged_schema()
    return _hint(schema, _named_types(schema, {}))


def _named_types(schema: Any, found: dict[str, Any]) -> dict[str, Any]:
    if isinstance(schema, list):
        for branch in schema:
            _named_types(branch, found)
    elif isinstance(schema, dict):
        if schema.get("type") == "record":
            namespace = schema.get("namespace", "")
            found[f"{namespace}.{schema['name']}".lstrip(".")] = schema
        for field in schema.get("fields", []):
            _named_types(field["type"], found)
        _named_types(schema.get("items"), found)
    return found


def _hint(avro_type: Any, named: dict[str, Any]) -> Hint:
    branches = avro_type if isinstance(avro_type, list) else [avro_type]
    branches = [named.get(b, b) if isinstance(b, str) else b for b in branches]
    complex_branches = [b for b in branches if isinstance(b, dict)]
    if not complex_branches:
        return Hint(json.dumps(avro_type), frozenset(branches), None, None)
    inner = complex_branches[0]
    if inner["type"] == "array":
        return Hint(None, frozenset(), None, _hint(inner["items"], named))
    fields = {field["name"]: _hint(field["type"], named) for field in inner["fields"]}
    return Hint(None, frozenset(), fields, None)
