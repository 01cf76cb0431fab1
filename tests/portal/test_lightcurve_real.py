"""Light curves of real ZTF alerts, in every unit, checked against the alerts themselves.

The rows are what ``/api/v1/objects?withupperlim=true`` answers, built without a server by
the store's and the query service's own code (``alert_to_rows``, ``main_row``,
``extra_history``) and passed through JSON's null. The expected counts are recomputed
from the alert packets directly (their candidates and ``prv_candidates``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from finkportal_core.alerts.files import iter_alert_files
from finkportal_core.tables import alert_to_rows
from finkportal_portal.figures.lightcurve import NO_REFERENCE_MESSAGE, lightcurve_figure
from finkportal_query.rows import by_time_newest_first, extra_history, main_row, tag_valid

pytestmark = pytest.mark.realdata

# Three Fink microlensing candidates: ZTF18acvqrrf (27 alerts, reference source within
# 0.5", upper limits in its history), ZTF20aaaacan (52 alerts, all isdiffpos 'f'),
# ZTF20aauqwzc (20 alerts, nearest reference source 5.5" away: no DC light curve).
SOURCE = "alerts/astrolabsoftware_fink-usecases/notebooks/data/microlensing_object_candidates"
Alert = dict[str, Any]
KIND_OF_SUFFIX = {"upper limits": "upperlim", "bad quality": "badquality"}


@pytest.fixture(scope="module")
def objects(real_data_dir: Path) -> dict[str, list[Alert]]:
    """The alerts of each object, one per candid."""
    found: dict[str, dict[int, Alert]] = {}
    for alert in iter_alert_files(real_data_dir / SOURCE):
        found.setdefault(alert["objectId"], {})[alert["candid"]] = alert
    return {object_id: list(alerts.values()) for object_id, alerts in found.items()}


def api_rows(alerts: list[Alert]) -> list[dict[str, Any]]:
    """The object's rows as the query API returns them with upper limits, through JSON."""
    mains, history = [], {}
    for alert in alerts:
        (_key, cells), history_rows = alert_to_rows(alert)
        mains.append(main_row(cells))
        history.update(dict(history_rows))  # the history table keeps one row per key
    valid = tag_valid(mains)
    rows = by_time_newest_first(valid + extra_history(valid, sorted(history.items())))
    light = [{name: value for name, value in row.items() if not name.startswith("b:")}
             for row in rows]
    # JSON has no NaN: the API writes null.
    return json.loads(json.dumps(light, default=str).replace("NaN", "null"))


def finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def expected_counts(alerts: list[Alert]) -> dict[str, dict[str, int]]:
    """Points per unit and kind, from the packets (Fink's rules, written out per point)."""
    candidates = [alert["candidate"] for alert in alerts]
    precise = [c for c in candidates if finite(c["magpsf"]) and finite(c["sigmapsf"])
               and c["sigmapsf"] < 1]
    dc = [c for c in precise if _dc_magerr(c) < 1]
    own = {(alert["candidate"]["jd"], alert["candid"]) for alert in alerts}
    history = [item for alert in alerts for item in alert.get("prv_candidates") or []]
    limits = {(item["jd"], item.get("pid")) for item in history
              if (item.get("candid") is None or item.get("magpsf") is None)
              and finite(item.get("diffmaglim"))}
    bad = {(item["jd"], item["candid"]) for item in history
           if item.get("candid") is not None and finite(item.get("magpsf"))
           and (item["jd"], item["candid"]) not in own and item["sigmapsf"] < 1}
    return {"diffmag": {"valid": len(precise), "upperlim": len(limits), "badquality": len(bad)},
            "dcmag": {"valid": len(dc)}, "diffflux": {"valid": len(precise)},
            "dcflux": {"valid": len(dc)}}


def _dc_magerr(c: dict[str, Any]) -> float:
    """Fink's DC magnitude error of one candidate, inf when no DC magnitude exists."""
    if not (0 <= c["distnr"] <= 1.5 and c["magnr"] > 0):
        return math.inf
    ref, diff = 10 ** (-0.4 * c["magnr"]), 10 ** (-0.4 * c["magpsf"])
    total = ref + diff if c["isdiffpos"] in ("t", "1") else ref - diff
    if total <= 0:
        return math.inf
    sigma = math.hypot(c["sigmagnr"] / 1.0857 * ref, c["sigmapsf"] / 1.0857 * diff)
    return 1.0857 * sigma / total


def drawn_counts(figure: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for trace in figure.data:
        _band, _, suffix = trace.name.partition(" ")
        kind = KIND_OF_SUFFIX.get(suffix, "valid")
        counts[kind] = counts.get(kind, 0) + len(trace.x)
    return counts


@pytest.mark.parametrize("object_id", ["ZTF18acvqrrf", "ZTF20aaaacan"])
def test_real_light_curve_has_every_point_in_every_unit(
        objects: dict[str, list[Alert]], object_id: str) -> None:
    alerts = objects[object_id]
    rows = api_rows(alerts)
    expected = expected_counts(alerts)
    assert expected["dcmag"]["valid"] > 10  # both have a reference source behind them
    for unit, counts in expected.items():
        figure = lightcurve_figure(rows, unit)
        assert drawn_counts(figure) == {kind: n for kind, n in counts.items() if n}, unit
    valid = [trace for trace in lightcurve_figure(rows, "diffmag").data if " " not in trace.name]
    assert sorted(c for trace in valid for c in trace.customdata) == sorted(
        str(alert["candid"]) for alert in alerts)


def test_real_upper_limits_are_drawn(objects: dict[str, list[Alert]]) -> None:
    # ZTF18acvqrrf's history holds non-detections: they must reach the figure.
    counts = drawn_counts(lightcurve_figure(api_rows(objects["ZTF18acvqrrf"]), "diffmag"))
    assert counts["upperlim"] >= 5


def test_real_faded_object_has_negative_difference_fluxes(
        objects: dict[str, list[Alert]]) -> None:
    alerts = objects["ZTF20aaaacan"]
    assert {alert["candidate"]["isdiffpos"] for alert in alerts} == {"f"}
    figure = lightcurve_figure(api_rows(alerts), "diffflux")
    fluxes = [y for trace in figure.data for y in trace.y]
    assert len(fluxes) == len(alerts)
    assert max(fluxes) < 0


def test_real_object_without_reference_source_has_no_dc_curve(
        objects: dict[str, list[Alert]]) -> None:
    alerts = objects["ZTF20aauqwzc"]
    assert min(alert["candidate"]["distnr"] for alert in alerts) > 1.5
    rows = api_rows(alerts)
    for unit in ("dcmag", "dcflux"):
        figure = lightcurve_figure(rows, unit)
        assert not figure.data
        assert figure.layout.meta["message"] == NO_REFERENCE_MESSAGE
    assert drawn_counts(lightcurve_figure(rows, "diffmag"))["valid"] == len(alerts)
