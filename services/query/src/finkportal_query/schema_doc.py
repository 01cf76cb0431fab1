"""The column documentation ``GET /api/v1/schema`` returns, grouped as Fink's is.

``{group: {name: {"type": ..., "doc": ...}}}`` with names without their family
prefix, each group sorted by name (fink-object-api's ``/api/v1/schema``):

- ``i:`` the ZTF fields, read from the packaged ZTF Avro schema (the candidate record
  and the root fields), with the schema's own types and doc strings;
- ``b:`` the three cutouts;
- ``d:`` Fink's added values, from ``data/added_values.json``;
- ``v:`` the columns this service computes on the fly.

Everything is read from files inside the packages: no network at run time.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from finkportal_core.alerts.model import packaged_schema

ZTF_GROUP = "ZTF original fields (i:)"
CUTOUT_GROUP = "ZTF original cutouts (b:)"
ADDED_GROUP = "Fink science module outputs (d:)"
COMPUTED_GROUP = "Fink on-the-fly added values (v:)"

# Root fields of the alert stored as i: cells next to the candidate's (tables.py).
ROOT_FIELDS = ("schemavsn", "publisher", "objectId", "candid", "fp_hists")
ADDED_VALUES_FILE = "added_values.json"

Entry = dict[str, str]
Group = dict[str, Entry]

_CUTOUT_DOC = (
    "The {kind} cutout of the alert: a 2-D array of floats (usually 63x63, NaN where "
    "there is no data) in /api/v1/objects with withcutouts=true. It is stored as the "
    "gzip-compressed FITS stamp ZTF sends; /api/v1/cutouts returns it as PNG, FITS or "
    "array."
)
_CUTOUT_KINDS = {"Science": "science (new image)", "Template": "template (reference image)",
                 "Difference": "difference (science minus template)"}

_COMPUTED: dict[str, tuple[str, str]] = {
    "classification": ("string", "Fink's class of the alert (Fink's classification rules "
                       "on its added values; a SIMBAD label in d:cdsxmatch replaces it). "
                       "See /api/v1/classes."),
    "lastdate": ("string", "UTC date of the alert, from i:jd: 'YYYY-MM-DD hh:mm:ss.sss'."),
    "firstdate": ("string", "UTC date of the object's first detection, from "
                  "i:jdstarthist: 'YYYY-MM-DD hh:mm:ss.sss'."),
    "lapse": ("double", "Days between the first detection and the alert: i:jd - "
              "i:jdstarthist."),
    "constellation": ("string", "IAU constellation of the alert's position (i:ra, i:dec), "
                      "full name, e.g. 'Virgo'."),
    "rate": ("double", "Magnitude change per day since the object's previous alert in the "
             "same band (g or r) among the rows returned; null for the first of a band and "
             "for other bands. Negative: brightening. In /objects, and in /latests with "
             "color=true."),
    "sigma(rate)": ("double", "Error of v:rate (mag/day): both sigmapsf added in "
                    "quadrature, divided by the time between the alerts."),
    "g-r": ("double", "Colour g - r (mag): a g alert's magpsf minus that of the r alert "
            "nearest to it within 0.3 day; every row of the object within 0.3 day of such a "
            "pair carries it, others null. In /objects, and in /latests with color=true."),
    "sigma(g-r)": ("double", "Error of v:g-r (mag): both sigmapsf added in quadrature."),
    "rate(g-r)": ("double", "Change of v:g-r per day since the previous g-r measurement of "
                  "the object among the rows returned."),
    "sigma(rate(g-r))": ("double", "Error of v:rate(g-r) (mag/day)."),
    "separation_degree": ("double", "Only in /api/v1/conesearch: angular distance in "
                          "degrees between the alert's position and the cone centre."),
}


@cache
def schema_document() -> dict[str, dict[str, dict[str, str]]]:
    """The whole document (built once per process)."""
    return {
        ZTF_GROUP: _sorted(ztf_fields()),
        CUTOUT_GROUP: _sorted(cutout_fields()),
        ADDED_GROUP: _sorted(added_value_fields()),
        COMPUTED_GROUP: _sorted(computed_fields()),
    }


def ztf_fields() -> Group:
    """The candidate fields, then the root fields the candidate lacks (``objectId``...)."""
    schema = packaged_schema()
    root = {field["name"]: field for field in schema["fields"]}
    fields = {field["name"]: _entry(field) for field in root["candidate"]["type"]["fields"]}
    for name in ROOT_FIELDS:
        fields.setdefault(name, _entry(root[name]))
    return fields


def cutout_fields() -> Group:
    return {f"cutout{kind}_stampData": {"type": "array",
                                        "doc": _CUTOUT_DOC.format(kind=description)}
            for kind, description in _CUTOUT_KINDS.items()}


def added_value_fields() -> Group:
    text = resources.files("finkportal_query").joinpath("data", ADDED_VALUES_FILE).read_text(
        encoding="utf-8")
    return {item["name"]: {"type": item["type"], "doc": item["doc"]}
            for item in json.loads(text)}


def computed_fields() -> Group:
    return {name: {"type": kind, "doc": doc} for name, (kind, doc) in _COMPUTED.items()}


def avro_type_text(avro_type: Any) -> str:
    """A short text for an Avro type: ``["null", "float"]`` -> ``"float (nullable)"``."""
    if isinstance(avro_type, list):
        others = " | ".join(avro_type_text(item) for item in avro_type if item != "null")
        return f"{others} (nullable)" if "null" in avro_type else others
    if isinstance(avro_type, dict):
        if avro_type.get("type") == "array":
            return f"array<{avro_type_text(avro_type['items'])}>"
        if avro_type.get("type") == "record":
            return f"record {avro_type['name']}"
        return avro_type_text(avro_type.get("type"))
    return str(avro_type)


def _entry(field: dict[str, Any]) -> Entry:
    doc = field.get("doc", "")
    if field["name"] == "fp_hists":
        doc = ("Forced-photometry history of the position (ZTF schema 4.02 on), the "
               "alert's fp_hists records as ZTF sends them.")
    return {"type": avro_type_text(field["type"]), "doc": doc}


def _sorted(group: Group) -> Group:
    return dict(sorted(group.items()))
