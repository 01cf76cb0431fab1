"""The service around the endpoints: bad input, limits, metrics, health, docs, shutdown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from finkportal_tools.demo import metric_by_label
from tests.query.conftest import (
    IndexedStore,
    QueryServer,
    start_query_server,
    stop_query_server,
)
from tests.query.expected import by_object, densest_position

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

BAD_REQUESTS = [  # (path, params, status, words the message must hold)
    ("/objects", {}, 422, "objectId: Field required"),
    ("/objects", {"objectId": "ZT"}, 400, "prefix of at least 5"),
    ("/objects", {"objectId": "ZTF21abcdefg", "bogus": "1"}, 422, "bogus"),
    ("/objects", {"objectId": "ZTF21abcdefg", "output-format": "xml"}, 422, "output-format"),
    ("/objects", {"objectId": "ZTF21abcdefg", "withupperlim": "maybe"}, 422, "withupperlim"),
    ("/conesearch", {"ra": "abc", "dec": "1", "radius": "5"}, 400, "cannot parse ra"),
    ("/conesearch", {"ra": "10", "dec": "95", "radius": "5"}, 400, "dec must satisfy"),
    ("/conesearch", {"ra": "10", "dec": "5", "radius": "18001"}, 400, "limit of 18000"),
    ("/conesearch", {"ra": "10", "dec": "5", "radius": "-1"}, 422, "radius"),
    ("/conesearch", {"ra": "10", "dec": "5", "radius": "5", "n": "100000"}, 400, "n=100000"),
    ("/conesearch", {"ra": "10", "dec": "5", "radius": "5", "startdate": "yesterday"}, 400,
     "not a date"),
    ("/latests", {"class": "SN candidate", "startdate": "2023-02-01",
                  "stopdate": "2023-01-01"}, 400, "stopdate must be after"),
    ("/latests", {"class": "SN candidate", "trend": "up"}, 422, "trend"),
    ("/explorer", {"startdate": "2023-01-01", "window": "5", "stopdate": "2023-01-02"}, 400,
     "not both"),
    ("/tracklet", {}, 400, "exactly one of id"),
    ("/tracklet", {"date": "2021/10/22"}, 400, "YYYY-MM-DD"),
    ("/statistics", {"date": "2023x"}, 400, "YYYYMMDD"),
    ("/cutouts", {"objectId": "ZTF21abcdefg", "kind": "All"}, 400, "output-format=array"),
    ("/cutouts", {"objectId": "ZTF21abcdefg", "stretch": "wavy"}, 400, "stretch must be"),
    ("/cutouts", {"objectId": "ZTF21abcdefg", "colormap": "nocolor"}, 400, "colormap"),
    ("/cutouts", {"objectId": "ZTF21abcdefg", "pmin": "60", "pmax": "40"}, 400, "pmin"),
    ("/resolver", {"resolver": "tns", "name": "SN 2023"}, 400, "online"),
    ("/nowhere", {}, 404, "no such path"),
]


@pytest.mark.parametrize(("path", "params", "status", "words"), BAD_REQUESTS)
def test_bad_input_gets_a_clear_error_never_a_5xx(api: httpx.Client, path: str,
                                                  params: dict[str, str], status: int,
                                                  words: str) -> None:
    response = api.get(path, params=params)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error"
    assert words in body["text"], body
    posted = api.post(path, json=params)
    assert posted.status_code == status, posted.text


@pytest.fixture(scope="module")
def small_limits_server(indexed_store: IndexedStore,
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueryServer]:
    log = tmp_path_factory.mktemp("query-limits") / "query.log"
    server = start_query_server(indexed_store.store_url, log, max_rows="5",
                                max_scanned_rows="60", max_cutouts="2", max_ids="3")
    yield server
    stop_query_server(server)


def test_answers_beyond_the_limits_say_so(small_limits_server: QueryServer,
                                          indexed_store: IndexedStore) -> None:
    objects = by_object(indexed_store.alerts)
    busy = max(objects, key=lambda name: len(objects[name]))
    few = next(name for name in sorted(objects) if 3 <= len(objects[name]) <= 5)
    centre = densest_position(indexed_store.alerts, 5.0)
    cases = [
        ("/objects", {"objectId": busy}, "more than 5 rows"),
        ("/objects", {"objectId": ",".join(sorted(objects)[:4])}, "at most 3"),
        ("/objects", {"objectId": few, "withcutouts": "true"}, "more than 2 alerts"),
        ("/conesearch", {"ra": centre["ra"], "dec": centre["dec"], "radius": 18000},
         "more than 60 sky index rows"),
        ("/latests", {"class": "allclasses", "n": 6}, "above the limit of 5"),
    ]
    with httpx.Client(base_url=f"{small_limits_server.base_url}/api/v1", timeout=60) as api:
        for path, params, words in cases:
            response = api.get(path, params=params)
            assert response.status_code == 400, (path, response.text)
            assert words in response.json()["text"], (path, response.text)


def test_metrics_count_requests_latency_and_errors(query_server: QueryServer,
                                                  api: httpx.Client) -> None:
    url = f"{query_server.base_url}/metrics"
    before = metric_by_label(url, "query_requests", "endpoint")
    errors_before = metric_by_label(url, "query_errors", "endpoint")
    for _ in range(3):
        api.get("/classes")
    api.get("/conesearch", params={"ra": "x", "dec": "1", "radius": "1"})
    after = metric_by_label(url, "query_requests", "endpoint")
    errors = metric_by_label(url, "query_errors", "endpoint")
    assert after["/api/v1/classes"] - before.get("/api/v1/classes", 0) == 3
    assert errors["/api/v1/conesearch"] - errors_before.get("/api/v1/conesearch", 0) == 1
    text = httpx.get(url).text
    assert 'query_request_seconds_bucket{endpoint="/api/v1/classes",le="0.01"}' in text


def test_health_docs_and_openapi_need_no_network(query_server: QueryServer) -> None:
    base = query_server.base_url
    assert httpx.get(f"{base}/health").json() == {"status": "ok"}
    assert httpx.get(f"{base}/health/live").json() == {"status": "ok"}
    page = httpx.get(f"{base}/docs").text
    assert "cdn" not in page.lower()
    assert "/static-offline-docs/swagger-ui-bundle.js" in page
    assert httpx.get(f"{base}/static-offline-docs/swagger-ui-bundle.js").status_code == 200
    paths = httpx.get(f"{base}/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/objects"])


def test_sigterm_stops_the_service_cleanly(indexed_store: IndexedStore,
                                           tmp_path: Path) -> None:
    server = start_query_server(indexed_store.store_url, tmp_path / "query.log")
    assert httpx.get(f"{server.base_url}/api/v1/classes").status_code == 200
    assert stop_query_server(server) == 0
