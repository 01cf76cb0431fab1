"""Searches over the real alerts: cone, latests, explorer, SSO, tracklet, statistics, resolver."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.time import Time

from finkportal_core.classification import alert_class
from tests.query.conftest import IndexedStore
from tests.query.expected import by_object, densest_position, latest_alert

pytestmark = [pytest.mark.realdata, pytest.mark.slow]
CONE_ARCSEC = 3.0


def rows_of(api: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_cone_at_each_object_finds_it_and_only_its_neighbours(
        api: httpx.Client, indexed_store: IndexedStore) -> None:
    alerts = indexed_store.alerts
    coords = SkyCoord([a["candidate"]["ra"] for a in alerts] * u.deg,
                      [a["candidate"]["dec"] for a in alerts] * u.deg)
    owners = np.array([a["objectId"] for a in alerts])
    for object_id, own in sorted(by_object(alerts).items()):
        centre = latest_alert(own)["candidate"]
        separation = coords.separation(SkyCoord(centre["ra"] * u.deg, centre["dec"] * u.deg))
        wanted = set(owners[separation.arcsec <= CONE_ARCSEC])
        rows = rows_of(api, "/conesearch", ra=centre["ra"], dec=centre["dec"],
                       radius=CONE_ARCSEC, columns="i:objectId,v:separation_degree")
        assert {row["i:objectId"] for row in rows} == wanted, object_id
        assert len(rows) == len(wanted)
        mine = next(row for row in rows if row["i:objectId"] == object_id)
        assert mine["v:separation_degree"] == pytest.approx(0.0, abs=1e-9)


def test_a_wide_cone_matches_a_brute_force_search(api: httpx.Client,
                                                  indexed_store: IndexedStore) -> None:
    alerts = indexed_store.alerts
    coords = SkyCoord([a["candidate"]["ra"] for a in alerts] * u.deg,
                      [a["candidate"]["dec"] for a in alerts] * u.deg)
    centre = densest_position(alerts, 5.0)  # so that the cone holds many objects
    separation = coords.separation(SkyCoord(centre["ra"] * u.deg, centre["dec"] * u.deg)).deg
    wanted = {a["objectId"] for a, s in zip(alerts, separation, strict=True) if s <= 5.0}
    rows = rows_of(api, "/conesearch", ra=centre["ra"], dec=centre["dec"], radius=18000,
                   n=10000, columns="i:objectId,v:separation_degree")
    assert {row["i:objectId"] for row in rows} == wanted
    assert len(wanted) > 5
    separations = [row["v:separation_degree"] for row in rows]
    assert separations == sorted(separations)


def test_sexagesimal_and_decimal_cones_agree(api: httpx.Client,
                                             indexed_store: IndexedStore) -> None:
    centre = latest_alert(indexed_store.alerts)["candidate"]
    coord = SkyCoord(centre["ra"] * u.deg, centre["dec"] * u.deg)
    texts = (coord.ra.to_string(u.hour, sep=":", precision=3),
             coord.dec.to_string(sep=":", precision=2, alwayssign=True))
    decimal = rows_of(api, "/conesearch", ra=centre["ra"], dec=centre["dec"], radius=10)
    sexagesimal = rows_of(api, "/conesearch", ra=texts[0], dec=texts[1], radius=10)
    assert [r["i:objectId"] for r in decimal] == [r["i:objectId"] for r in sexagesimal]


def expected_latest(alerts: list[dict[str, Any]], cls: str | None, n: int) -> list[int]:
    chosen = [a for a in alerts if cls is None or alert_class(a) == cls]
    chosen.sort(key=lambda a: (a["candidate"]["jd"], a["objectId"], a["candid"]), reverse=True)
    return [a["candid"] for a in chosen[:n]]


def test_latests_of_a_class_are_its_newest_alerts(api: httpx.Client,
                                                  indexed_store: IndexedStore) -> None:
    classes = Counter(alert_class(a) for a in indexed_store.alerts)
    for cls in [name for name, count in classes.most_common(6)]:
        rows = rows_of(api, "/latests", **{"class": cls, "n": 7, "columns": "i:candid"})
        assert [r["i:candid"] for r in rows] == expected_latest(indexed_store.alerts, cls, 7)
    everything = rows_of(api, "/latests", **{"class": "allclasses", "n": 12})
    assert [r["i:candid"] for r in everything] == expected_latest(indexed_store.alerts, None, 12)


def test_latests_date_range_and_simbad_prefix(api: httpx.Client,
                                              indexed_store: IndexedStore) -> None:
    alerts = indexed_store.alerts
    simbad = Counter(a.get("cdsxmatch") for a in alerts if alert_class(a) == a.get("cdsxmatch"))
    label = next(name for name, _ in simbad.most_common() if isinstance(name, str))
    rows = rows_of(api, "/latests", **{"class": f"(SIMBAD) {label}", "n": 10000})
    assert len(rows) == sum(1 for a in alerts if alert_class(a) == label)
    jds = sorted(a["candidate"]["jd"] for a in alerts)
    start, stop = jds[len(jds) // 3], jds[2 * len(jds) // 3]
    dated = rows_of(api, "/latests", **{"class": "allclasses", "n": 10000,
                                        "startdate": Time(start, format="jd").isot,
                                        "stopdate": str(stop)})
    assert len(dated) == sum(1 for jd in jds if start <= jd < stop)


def test_explorer_returns_the_alerts_of_a_date_range(api: httpx.Client,
                                                     indexed_store: IndexedStore) -> None:
    jds = sorted(a["candidate"]["jd"] for a in indexed_store.alerts)
    start = jds[len(jds) // 2]
    rows = rows_of(api, "/explorer", startdate=str(start), window=60, columns="i:jd")
    assert [r["i:jd"] for r in rows] == [jd for jd in jds if start <= jd < start + 1 / 24]


def test_sso_alerts(api: httpx.Client, indexed_store: IndexedStore) -> None:
    alerts = indexed_store.alerts
    names = Counter(a["candidate"].get("ssnamenr") for a in alerts)
    name = next(n for n, _ in names.most_common() if n not in (None, "null", ""))
    rows = rows_of(api, "/sso", n_or_d=name, columns="i:candid,i:ssnamenr")
    assert sorted(r["i:candid"] for r in rows) == sorted(
        a["candid"] for a in alerts if a["candidate"].get("ssnamenr") == name)
    # (tracklets: the real alerts hold none; test_api_tracklet.py gives some their ids)


def test_statistics_count_each_night(api: httpx.Client, indexed_store: IndexedStore) -> None:
    nights = Counter(Time(a["candidate"]["jd"], format="jd").datetime.strftime("%Y%m%d")
                     for a in indexed_store.alerts)
    rows = rows_of(api, "/statistics", date="")
    assert {r["key:key"]: r["basic:raw"] for r in rows} == {f"ztf_{k}": v
                                                           for k, v in nights.items()}
    year = max(nights)[:4]
    assert len(rows_of(api, "/statistics", date=year)) == sum(1 for k in nights
                                                             if k.startswith(year))


def test_resolver_names_held_here(api: httpx.Client, indexed_store: IndexedStore) -> None:
    ids = sorted(by_object(indexed_store.alerts))
    found = rows_of(api, "/resolver", resolver="ztf", name=ids[0][:7], nmax=1000)
    assert [r["i:objectId"] for r in found] == [i for i in ids if i.startswith(ids[0][:7])]
    refused = api.get("/resolver", params={"resolver": "simbad", "name": "M31"})
    assert refused.status_code == 400
    assert "online" in refused.json()["text"]


def test_classes_list_fink_and_stored_simbad_labels(api: httpx.Client,
                                                    indexed_store: IndexedStore) -> None:
    document = api.get("/classes").json()
    assert "SN candidate" in document["Fink classifiers"]
    simbad = next(value for key, value in document.items() if key.startswith("Cross-match"))
    stored = {alert_class(a) for a in indexed_store.alerts}
    assert any(label.removeprefix("(SIMBAD) ") in stored for label in simbad)
