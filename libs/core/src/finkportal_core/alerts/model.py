"""The alert model: a plain dict shaped like a decoded ZTF packet, and its checks.

An alert carries the ZTF root fields (``schemavsn``, ``publisher``, ``objectId``,
``candid``, ``candidate``, ``prv_candidates``, ``fp_hists`` from 4.02 on, and the
three cutouts) plus, at top level, any value a broker added (Fink's ``cdsxmatch``,
``roid``, ``snn_*``...). Every top-level key that is not a ZTF root field counts
as an added value.
"""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from typing import Any

Alert = dict[str, Any]

CUTOUT_FIELDS = ("cutoutScience", "cutoutTemplate", "cutoutDifference")
ZTF_ROOT_FIELDS = frozenset(
    (
        "schemavsn",
        "publisher",
        "objectId",
        "candid",
        "candidate",
        "prv_candidates",
        "fp_hists",
        *CUTOUT_FIELDS,
    )
)
PACKAGED_SCHEMA_VERSION = "4.02"

# Julian dates this project accepts: row keys format them on a fixed width of
# seven integer digits so that keys sort by time. JD 1,000,000 is in 1976 BC and
# JD 10,000,000 in AD 22666: every real observation fits.
JD_MIN = 1_000_000.0
JD_MAX = 10_000_000.0


class AlertDecodeError(ValueError):
    """Bytes that are not a readable alert message; ``reason`` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AlertEncodeError(ValueError):
    """An alert that cannot be written with the schema asked for (wrong value types...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidAlertError(ValueError):
    """A decoded alert that lacks what every alert must have (objectId, candid, candidate.jd)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def added_value_names(alert: Alert) -> list[str]:
    """The top-level keys of ``alert`` that are not ZTF root fields, in alert order."""
    return [key for key in alert if key not in ZTF_ROOT_FIELDS]


def validate_alert(alert: Any) -> None:
    """Raise :class:`InvalidAlertError` unless ``alert`` has a usable identity and time."""
    if not isinstance(alert, dict):
        raise InvalidAlertError(f"alert is a {type(alert).__name__}, not a dict")
    object_id = alert.get("objectId")
    if not isinstance(object_id, str) or not object_id:
        raise InvalidAlertError("objectId is missing or not a non-empty string")
    candid = alert.get("candid")
    if type(candid) is not int:
        raise InvalidAlertError("candid is missing or not an integer")
    candidate = alert.get("candidate")
    if not isinstance(candidate, dict):
        raise InvalidAlertError("candidate is missing or not a record")
    _check_jd(candidate.get("jd"))


def _check_jd(jd: Any) -> None:
    if type(jd) not in (float, int) or not math.isfinite(jd):
        raise InvalidAlertError("candidate.jd is missing or not a finite number")
    if not JD_MIN <= jd < JD_MAX:
        raise InvalidAlertError(f"candidate.jd {jd!r} is outside [{JD_MIN:.0f}, {JD_MAX:.0f})")


@cache
def _packaged_schema_text(version: str) -> str:
    package = resources.files("finkportal_core") / "schemas"
    path = package / f"ztf_alert_{version}.avsc"
    if not path.is_file():
        raise KeyError(f"no packaged ZTF alert schema for version {version!r}")
    return path.read_text(encoding="utf-8")


def packaged_schema(version: str = PACKAGED_SCHEMA_VERSION) -> dict[str, Any]:
    """A fresh copy of a packaged ZTF alert schema (self-contained, all types inline)."""
    schema: dict[str, Any] = json.loads(_packaged_schema_text(version))
    return schema
