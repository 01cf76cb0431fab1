"""Objects of the real alerts chosen for the browser tests, never hard-coded ids.

The candidates come from the stored alerts (``indexed_store.alerts``); each pick is then
checked against the query API, whose answers are what the pages must show.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

from finkportal_core.classification import UNKNOWN, alert_class

# A reference source this close makes DC magnitudes computable (Fink's rule).
REFERENCE_ARCSEC = 1.5
MICROLENSING = "Microlensing candidate"


@dataclass(frozen=True)
class Picks:
    most_alerts: str  # the object with the most alerts
    with_reference: str  # every alert has a reference source within 1.5" (DC units)
    sso: str  # an object whose last alert names a Solar System object (i:ssnamenr)
    fink_class: str  # the most common Fink class of the alerts, Unknown apart
    microlensing: str  # the object with most alerts among microlensing candidates, if any
    cone: str  # an object with exactly one neighbour within ``cone_radius_arcmin``
    cone_radius_arcmin: int
    prefix: str  # an id prefix shared by as many objects as a page of results shows


def pick_objects(api: httpx.Client, alerts: list[dict[str, Any]], page_size: int) -> Picks:
    by_object: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for alert in alerts:
        by_object[alert["objectId"]].append(alert)
    ranked = sorted(by_object, key=lambda oid: (-len(by_object[oid]), oid))
    picks = Picks(
        most_alerts=ranked[0],
        with_reference=_first(oid for oid in ranked if all(
            _has_reference(a) for a in by_object[oid]) and len(by_object[oid]) >= 5),
        sso=_first(oid for oid in ranked if _names_sso(_latest(by_object[oid]))),
        fink_class=_most_common_class(alerts),
        microlensing=_first([oid for oid in ranked if any(
            alert_class(a) == MICROLENSING for a in by_object[oid])] + ranked),
        **_cone_pick({oid: _latest(group) for oid, group in by_object.items()}),
        prefix=_prefix_pick(sorted(by_object), page_size),
    )
    assert len(api_rows(api, "objects", objectId=picks.most_alerts)) == len(
        by_object[picks.most_alerts])
    assert api_rows(api, "latests", **{"class": picks.fink_class, "n": "10"})
    assert _names_sso(api_rows(api, "objects", objectId=picks.sso)[0])
    return picks


def api_rows(api: httpx.Client, endpoint: str, **params: str) -> list[dict[str, Any]]:
    answer = api.get(f"/{endpoint}", params=params)
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()
    return rows


def _first(candidates: Any) -> str:
    for candidate in candidates:
        return str(candidate)
    raise AssertionError("no object of the real alerts fits")


def _has_reference(alert: dict[str, Any]) -> bool:
    distnr = alert["candidate"].get("distnr")
    return distnr is not None and not math.isnan(distnr) and 0 <= distnr <= REFERENCE_ARCSEC


def _cone_pick(latest: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An object whose nearest neighbour is 1-30' away and the next one 2' farther: a
    radius of whole arcminutes then holds exactly the two (a radius misread as arcseconds
    finds one object, as degrees many)."""
    ids = sorted(latest)
    ra, dec = (np.radians([latest[oid]["candidate"][key] for oid in ids]) for key in ("ra", "dec"))
    xyz = np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=1)
    arcsec = np.degrees(np.arccos(np.clip(xyz @ xyz.T, -1, 1))) * 3600
    np.fill_diagonal(arcsec, np.inf)
    for index in np.argsort(arcsec.min(axis=1)):
        first, second = np.sort(arcsec[index])[:2]
        if 60 <= first <= 1800 and second >= first + 120:
            return {"cone": ids[index], "cone_radius_arcmin": math.ceil((first + 30) / 60)}
    raise AssertionError("no object of the real alerts has a single neighbour within 30'")


def _prefix_pick(ids: list[str], most: int) -> str:
    """The prefix (6+ characters) of the most objects, at most ``most`` and at least two."""
    counts = Counter(oid[:length] for oid in ids for length in range(6, len(oid)))
    fitting = [(count, prefix) for prefix, count in counts.items() if 2 <= count <= most]
    assert fitting, f"no id prefix is shared by 2 to {most} objects"
    return max(fitting)[1]


def _latest(alerts: list[dict[str, Any]]) -> dict[str, Any]:
    return max(alerts, key=lambda a: a["candidate"]["jd"])


def _names_sso(alert_or_row: dict[str, Any]) -> bool:
    """The alert (or API row) names a Solar System object: the page then offers its tab."""
    value = alert_or_row.get("i:ssnamenr", alert_or_row.get("candidate", {}).get("ssnamenr"))
    return str(value or "null") not in ("null", "None", "")


def _most_common_class(alerts: list[dict[str, Any]]) -> str:
    counts = Counter(alert_class(alert) for alert in alerts)
    counts.pop(UNKNOWN, None)
    return counts.most_common(1)[0][0]
