"""/tracklet: the real alerts carry no tracklet id, so some are given one here.

Real alerts get Fink-style ``tracklet`` values and go through the same storage and
indexing code the services run (``alert_to_rows``, then the indexer's reindex); the
query service then runs on that store.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import httpx
import pytest

from finkportal_core.alerts.files import iter_alert_files
from finkportal_core.indexing.layout import ensure_index_tables
from finkportal_core.storage import open_store
from finkportal_core.tables import HISTORY_TABLE, MAIN_TABLE, alert_to_rows, ensure_alert_tables
from finkportal_indexer.reindex import reindex
from tests.query.conftest import QueryServer, start_query_server, stop_query_server

pytestmark = pytest.mark.realdata
TRACKLETS = {"TRCK_20231018_081234_00": 5, "TRCK_20231018_081234_01": 3,
             "TRCK_20231019_020000_00": 4}


@pytest.fixture(scope="module")
def tracklet_server(real_data_dir: Path,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueryServer]:
    tmp = tmp_path_factory.mktemp("tracklets")
    store = open_store(f"sqlite:{tmp / 'store'}")
    ensure_alert_tables(store)
    ensure_index_tables(store)
    alerts = islice(iter_alert_files(real_data_dir / "alerts" /
                                     "astrolabsoftware_fink-alert-simulator"), 30)
    names = [name for name, count in TRACKLETS.items() for _ in range(count)]
    for position, alert in enumerate(alerts):
        alert["tracklet"] = names[position] if position < len(names) else ""
        main, history = alert_to_rows(alert)
        store.table(HISTORY_TABLE).put_many(history)
        store.table(MAIN_TABLE).put_many([main])
    reindex(store, 100, progress=lambda _text: None)
    store.close()
    server = start_query_server(f"sqlite:{tmp / 'store'}", tmp / "query.log")
    yield server
    stop_query_server(server)


def test_a_tracklet_id_gives_exactly_its_alerts(tracklet_server: QueryServer) -> None:
    with httpx.Client(base_url=f"{tracklet_server.base_url}/api/v1") as api:
        for name, count in TRACKLETS.items():
            rows = api.get("/tracklet", params={"id": name}).json()
            assert [row["d:tracklet"] for row in rows] == [name] * count
        assert api.get("/tracklet", params={"id": "TRCK_20231018_081234"}).json() == []


def test_a_date_gives_every_tracklet_starting_then(tracklet_server: QueryServer) -> None:
    with httpx.Client(base_url=f"{tracklet_server.base_url}/api/v1") as api:
        night = api.post("/tracklet", json={"date": "2023-10-18"}).json()
        assert len(night) == 8
        minute = api.get("/tracklet", params={"date": "2023-10-19 02:00"}).json()
        assert {row["d:tracklet"] for row in minute} == {"TRCK_20231019_020000_00"}
        assert api.get("/tracklet", params={"date": "2023-10-20"}).json() == []
