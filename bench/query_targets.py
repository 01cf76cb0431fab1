"""Targets of the query benchmark, drawn from the stored alerts, and checks of the answers.

Every target is a real stored object or position (a random sample with a fixed seed
from the dataset's catalogue), and every answer is compared with what the catalogue
says the store holds:

- ``objects``: one row per stored alert of the object, all of that object, with a
  63x63 science stamp exactly on the alerts stored with cutouts;
- ``conesearch``: one row per object, every object with an alert well inside the
  radius, none with all its alerts outside it (a 1e-9 degree tolerance either side),
  the target's own object included;
- ``latests``: ``min(n, alerts of the class)`` alerts, all of the class, newest first,
  none older than the class's n-th newest alert.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from bench.query_data import Catalogue
from bench.query_load import Check, Request, get_request, post_request
from finkportal_core.classification import FINK_CLASSES

TOLERANCE_DEG = 1e-9
STAMP_SIZE = 63


def separations_deg(ra: float, dec: float, ras: np.ndarray, decs: np.ndarray) -> np.ndarray:
    """Vincenty great-circle distances, as ``finkportal_core.sky.angular_separation_deg``."""
    ra1, dec1, ra2, dec2 = np.radians(ra), np.radians(dec), np.radians(ras), np.radians(decs)
    delta = ra2 - ra1
    across = np.cos(dec2) * np.sin(delta)
    along = np.cos(dec1) * np.sin(dec2) - np.sin(dec1) * np.cos(dec2) * np.cos(delta)
    straight = np.sin(dec1) * np.sin(dec2) + np.cos(dec1) * np.cos(dec2) * np.cos(delta)
    return np.degrees(np.arctan2(np.hypot(across, along), straight))


def _rows(body: bytes) -> list[dict[str, Any]] | str:
    try:
        rows = json.loads(body)
    except ValueError as exc:
        return f"not JSON: {exc}"
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        return "not a list of rows"
    return rows


def objects_check(object_id: str, alerts: int, with_cutouts: int) -> Check:
    def check(body: bytes) -> str | None:
        rows = _rows(body)
        if isinstance(rows, str):
            return rows
        if len(rows) != alerts:
            return f"{len(rows)} rows for {object_id}, {alerts} alerts stored"
        if any(row.get("i:objectId") != object_id for row in rows):
            return f"rows of another object than {object_id}"
        stamps = [row["b:cutoutScience_stampData"] for row in rows
                  if row.get("b:cutoutScience_stampData") is not None]
        if len(stamps) != with_cutouts:
            return f"{len(stamps)} science stamps, {with_cutouts} alerts stored with cutouts"
        if stamps and (len(stamps[0]) != STAMP_SIZE or len(stamps[0][0]) != STAMP_SIZE):
            return "a science stamp is not 63x63"
        return None
    return check


def cone_check(target: str, must: set[str], may: set[str], n_max: int) -> Check:
    def check(body: bytes) -> str | None:
        rows = _rows(body)
        if isinstance(rows, str):
            return rows
        ids = [row.get("i:objectId") for row in rows]
        found = set(ids)
        if len(found) != len(ids):
            return "an object appears twice"
        if not found <= may:
            return f"objects outside the cone: {sorted(map(str, found - may))[:3]}"
        if len(must) <= n_max and not must <= found:
            return f"{len(must - found)} objects inside the cone missing, e.g. " \
                   f"{sorted(must - found)[:3]}"
        if len(found) < min(len(must), n_max) or (target not in found and len(must) <= n_max):
            return f"{len(found)} objects, target {target} among them: {target in found}"
        return None
    return check


def latests_check(candids: np.ndarray, expected: int, oldest_jd: float) -> Check:
    """``candids``: the class's alert ids, sorted."""
    def check(body: bytes) -> str | None:
        rows = _rows(body)
        if isinstance(rows, str):
            return rows
        if len(rows) != expected:
            return f"{len(rows)} rows, {expected} expected"
        got = np.array([row.get("i:candid") or 0 for row in rows], dtype=np.int64)
        where = np.clip(np.searchsorted(candids, got), 0, len(candids) - 1)
        if not np.all(candids[where] == got):
            return "alerts of another class"
        jds = np.array([row.get("i:jd") or 0.0 for row in rows])
        if np.any(np.diff(jds) > 0):
            return "not newest first"
        if len(jds) and jds.min() < oldest_jd - TOLERANCE_DEG:
            return f"an alert older than the class's {expected}-th newest"
        return None
    return check


def class_parameter(name: str) -> str:
    """How ``latests`` names a class: Fink's labels as they are, SIMBAD labels prefixed."""
    return name if name in FINK_CLASSES else f"(SIMBAD) {name}"


class Targets:
    """Random real targets (fixed seed) and the catalogue facts their checks need."""

    def __init__(self, catalogue: Catalogue, seed: int):
        self.cat = catalogue
        self.rng = np.random.default_rng(seed)
        self.ids, self.counts = np.unique(catalogue.object_id, return_counts=True)
        self.cut_ids, self.cut_counts = np.unique(catalogue.object_id[catalogue.cutouts],
                                                  return_counts=True)
        self.by_dec = np.argsort(catalogue.dec, kind="stable")
        self.sorted_dec = catalogue.dec[self.by_dec]
        self.classes = sorted(set(map(str, np.unique(catalogue.fink_class))))

    @staticmethod
    def _count(ids: np.ndarray, counts: np.ndarray, object_id: str) -> int:
        key = object_id.encode()
        where = int(np.searchsorted(ids, key))
        return int(counts[where]) if where < len(ids) and ids[where] == key else 0

    def alert_count(self, object_id: str) -> int:
        return self._count(self.ids, self.counts, object_id)

    def cutout_count(self, object_id: str) -> int:
        return self._count(self.cut_ids, self.cut_counts, object_id)

    def _sample(self, population: int, size: int) -> np.ndarray:
        return self.rng.choice(population, size=size, replace=size > population)

    def object_requests(self, warmup: int, n: int, post: bool
                        ) -> tuple[list[tuple[str, Request]], list[tuple[str, Request]]]:
        """Objects with at least one alert stored with cutouts, ``withcutouts=true``."""
        chosen = [self.cut_ids[i].decode() for i in self._sample(len(self.cut_ids), warmup + n)]
        make = post_request if post else get_request
        requests = [(oid, make("objects", "objects", {"objectId": oid, "withcutouts": True},
                               objects_check(oid, self.alert_count(oid),
                                             self.cutout_count(oid))))
                    for oid in chosen]
        return requests[:warmup], requests[warmup:]

    def _cone_sets(self, ra: float, dec: float, radius_deg: float) -> tuple[set[str], set[str]]:
        low = np.searchsorted(self.sorted_dec, dec - radius_deg - 1e-6, side="left")
        high = np.searchsorted(self.sorted_dec, dec + radius_deg + 1e-6, side="right")
        near = self.by_dec[low:high]
        separation = separations_deg(ra, dec, self.cat.ra[near], self.cat.dec[near])
        ids = self.cat.object_id[near]
        must = {i.decode() for i in ids[separation < radius_deg - TOLERANCE_DEG]}
        may = {i.decode() for i in ids[separation <= radius_deg + TOLERANCE_DEG]}
        return must, may

    def cone_request(self, radius_arcsec: float, index: int, n_max: int = 1000) -> Request:
        ra, dec = float(self.cat.ra[index]), float(self.cat.dec[index])
        target = self.cat.object_id[index].decode()
        must, may = self._cone_sets(ra, dec, radius_arcsec / 3600.0)
        params = {"ra": repr(ra), "dec": repr(dec), "radius": radius_arcsec, "n": n_max}
        return get_request(f"cone_{radius_arcsec:g}", "conesearch", params,
                           cone_check(target, must, may, n_max))

    def cone_requests(self, radius_arcsec: float, warmup: int, n: int
                      ) -> tuple[list[Request], list[Request]]:
        """Cones centred on stored alerts (a fresh sample for each radius)."""
        chosen = self._sample(len(self.cat.ra), warmup + n)
        requests = [self.cone_request(radius_arcsec, int(i)) for i in chosen]
        return requests[:warmup], requests[warmup:]

    def latests_request(self, name: str, n_rows: int) -> Request:
        mask = self.cat.fink_class == name
        candids = np.sort(self.cat.candid[mask])
        jds = np.sort(self.cat.jd[mask])[::-1]
        expected = min(n_rows, len(jds))
        params = {"class": class_parameter(name), "n": n_rows}
        return get_request("latests", "latests", params,
                           latests_check(candids, expected, float(jds[expected - 1])))

    def latests_requests(self, n_rows: int, warmup: int, n: int
                         ) -> tuple[list[Request], list[Request]]:
        """Every class present in turn (one request object per class, reused)."""
        per_class = [self.latests_request(name, n_rows) for name in self.classes]
        requests = [per_class[i % len(per_class)] for i in range(warmup + n)]
        return requests[:warmup], requests[warmup:]

    def mixed_requests(self, latests_n: int, per_kind: int) -> list[Request]:
        """Objects, three cone radii and latests, interleaved."""
        kinds = [[r for _, r in self.object_requests(0, per_kind, post=False)[1]],
                 *(self.cone_requests(radius, 0, per_kind)[1] for radius in (5.0, 60.0, 3600.0)),
                 self.latests_requests(latests_n, 0, per_kind)[1]]
        return [kind[i] for i in range(per_kind) for kind in kinds]
