"""Expected answers of the API, recomputed from the stored alerts without the service code."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord

from finkportal_core.alerts.model import CUTOUT_FIELDS, ZTF_ROOT_FIELDS

Alert = dict[str, Any]


def by_object(alerts: list[Alert]) -> dict[str, list[Alert]]:
    grouped: dict[str, list[Alert]] = defaultdict(list)
    for alert in alerts:
        grouped[alert["objectId"]].append(alert)
    return grouped


def expected_row(alert: Alert) -> dict[str, Any]:
    """The i: and d: columns Fink's objects endpoint gives for a stored alert."""
    row = {f"i:{name}": value for name, value in alert["candidate"].items()}
    for name in ("objectId", "candid", "schemavsn", "publisher"):
        if name in alert:
            row[f"i:{name}"] = alert[name]
    for name, value in alert.items():
        if name not in ZTF_ROOT_FIELDS and name not in CUTOUT_FIELDS:
            row[f"d:{name}"] = value
    return row


def same_value(got: Any, want: Any) -> bool:
    """Equality through JSON: NaN and infinities arrive as null, bytes are not compared."""
    if isinstance(want, float) and not math.isfinite(want):
        return got is None
    if isinstance(want, bytes):
        return True
    if isinstance(want, list) and isinstance(got, list):
        return len(got) == len(want) and all(map(same_value, got, want))
    if isinstance(want, dict) and isinstance(got, dict):
        return set(got) == set(want) and all(same_value(got[k], want[k]) for k in want)
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want
    return bool(got == want)


def history_measurements(alerts: list[Alert]) -> set[tuple[float, Any]]:
    """(jd, candid or pid) of an object's prv_candidates that are not alerts themselves."""
    own = {(alert["candidate"]["jd"], alert["candid"]) for alert in alerts}
    found = set()
    for alert in alerts:
        for item in alert.get("prv_candidates") or []:
            measurement = item.get("candid")
            identity = (item["jd"], measurement if measurement is not None
                        else ("pid", item.get("pid")))
            if (item["jd"], measurement) not in own:
                found.add(identity)
    return found


def latest_alert(alerts: list[Alert]) -> Alert:
    return max(alerts, key=lambda alert: (alert["candidate"]["jd"], alert["candid"]))


def densest_position(alerts: list[Alert], radius_deg: float) -> dict[str, Any]:
    """The candidate, among a sample, with the most alerts within ``radius_deg``."""
    coords = SkyCoord([a["candidate"]["ra"] for a in alerts] * u.deg,
                      [a["candidate"]["dec"] for a in alerts] * u.deg)
    return max((a["candidate"] for a in alerts[::25]), key=lambda c: int(np.sum(
        coords.separation(SkyCoord(c["ra"] * u.deg, c["dec"] * u.deg)).deg <= radius_deg)))
