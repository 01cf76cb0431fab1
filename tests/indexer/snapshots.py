"""Independent expectations for the indexer tests, recomputed from the main table."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from astropy.time import Time

from finkportal_core.classification import alert_class
from finkportal_core.indexing.layout import INDEX_TABLES
from finkportal_core.storage import open_store
from finkportal_core.storage.base import Store
from finkportal_core.tables import HISTORY_TABLE, MAIN_TABLE, history_keys, rows_to_alert

Snapshot = dict[str, list[tuple[bytes, dict[bytes, bytes]]]]


def stored_alerts(store: Store) -> list[dict[str, Any]]:
    """Every alert of the main table, rebuilt with its history."""
    history = store.table(HISTORY_TABLE)
    alerts = []
    for _key, cells in store.table(MAIN_TABLE).scan():
        alerts.append(rows_to_alert(cells, history.get_many(history_keys(cells))))
    return alerts


def snapshot(store_url: str, tables: tuple[str, ...] = tuple(INDEX_TABLES)) -> Snapshot:
    """Every row and cell of ``tables``."""
    store = open_store(store_url)
    try:
        return {name: list(store.table(name).scan()) for name in tables}
    finally:
        store.close()


def utc_night(jd: float) -> str:
    """The UTC date of ``jd`` by astropy, independently of the indexer's arithmetic."""
    return str(Time(jd, format="jd", scale="utc").to_datetime().strftime("%Y%m%d"))


def expected_statistics(alerts: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per night: alerts, objects, per band and per class, counted from the alerts."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    objects: dict[str, set[str]] = defaultdict(set)
    for alert in alerts:
        night = utc_night(alert["candidate"]["jd"])
        counts[night]["alerts"] += 1
        counts[night][f"fid_{alert['candidate']['fid']}"] += 1
        counts[night][f"class:{alert_class(alert)}"] += 1
        objects[night].add(alert["objectId"])
    return {night: {**c, "objects": len(objects[night])} for night, c in counts.items()}


def expected_summaries(alerts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per object: number of alerts, first and last jd, and the last alert's candid/class."""
    by_object: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for alert in alerts:
        by_object[alert["objectId"]].append(alert)
    summaries = {}
    for object_id, group in by_object.items():
        last = max(group, key=lambda a: (a["candidate"]["jd"], a["candid"]))
        summaries[object_id] = {
            "ndet": len(group),
            "first_jd": min(a["candidate"]["jd"] for a in group),
            "last_jd": last["candidate"]["jd"],
            "candid": last["candid"],
            "finkclass": alert_class(last),
        }
    return summaries
