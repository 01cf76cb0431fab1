"""``finkportal demo`` runs the cluster, replays a night, and stops every process on Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import psutil

from finkportal_core.filters import STREAM_FILTERS
from finkportal_core.indexing.layout import TIME_TABLE
from finkportal_core.storage import open_store
from finkportal_core.tables import MAIN_TABLE
from tests.conftest import free_port
from tests.support.kafka_io import read_all

# The failures docs/fitter.md gives for a light curve that cannot be fitted (a night of
# alerts may hold one or two points of an object); any other kind (timeout, crashed,
# internal, store_unavailable...) means the service is broken.
DATA_FAILURE_KINDS = {"bad_light_curve", "no_convergence", "invalid_options"}


def stop_tree(demo: subprocess.Popen[str], children: list[psutil.Process]) -> None:
    """Clean up after a failed test: never leave the demo's broker or services behind."""
    if demo.poll() is None:
        children = children or psutil.Process(demo.pid).children(recursive=True)
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            demo.kill()
    for child in children:
        if child.is_running():
            child.kill()


def printed_count(text: str, label: str) -> int:
    """The first number after ``<label>:`` in the demo's "where to look"."""
    match = re.search(rf"^\s*{label}:\s+(\d+)", text, re.MULTILINE)
    assert match, f"no '{label}' line in:\n{text}"
    return int(match[1])


def printed_streams(text: str) -> dict[str, int]:
    """Stream topic -> messages, from the demo's "live streams" lines."""
    return {topic: int(count)
            for topic, count in re.findall(r"^\s+(fink_\w+_ztf)\s+(\d+)$", text, re.MULTILINE)}


def service_modules(children: list[psutil.Process]) -> set[str]:
    """The ``python -m <module>`` of each child process."""
    modules = set()
    for child in children:
        command = child.cmdline()
        if "-m" in command:
            modules.add(command[command.index("-m") + 1])
    return modules


def count_rows(store_url: str, table: str, columns: list[bytes] | None = None,
               prefix: bytes | None = None) -> int:
    store = open_store(store_url)
    try:
        return sum(1 for _ in store.table(table).scan(columns=columns, row_prefix=prefix))
    finally:
        store.close()


def first_stored_object(store_url: str) -> str:
    """The objectId of the first main-table row (keys are ``objectId_jd_candid``)."""
    store = open_store(store_url)
    try:
        ((key, _),) = store.table(MAIN_TABLE).scan(columns=[b"i:candid"], limit=1)
    finally:
        store.close()
    return key.split(b"_", 1)[0].decode()


def get(url: str) -> tuple[int, Any]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, json.load(response)


def printed_example_rows(text: str, endpoint: str) -> tuple[dict[str, str], int]:
    """The parameters of the demo's example call to ``endpoint`` and the rows it printed."""
    match = re.search(rf"curl -s '(http://\S+/api/v1/{endpoint}\?\S+)'\n\s+-> (\d+) rows?",
                      text)
    assert match, f"no example {endpoint} call with a row count in:\n{text}"
    query = urllib.parse.urlsplit(match[1]).query
    return dict(urllib.parse.parse_qsl(query)), int(match[2])


def assert_query_service_serves_the_night(text: str, query_port: int, store_url: str) -> None:
    """The demo's API answers /health, and an ingested object's rows are all its alerts."""
    base = f"http://127.0.0.1:{query_port}"
    assert get(f"{base}/health") == (200, {"status": "ok"})
    assert f"{base}/docs" in text, text
    object_id = first_stored_object(store_url)
    stored = count_rows(store_url, MAIN_TABLE, [b"i:candid"], f"{object_id}_".encode())
    status, rows = get(f"{base}/api/v1/objects?objectId={object_id}")
    assert status == 200
    assert len(rows) == stored >= 1
    assert {row["i:objectId"] for row in rows} == {object_id}
    # The printed examples were really fetched: the object's alert count, and a cone
    # around its latest position that finds at least the object itself.
    params, printed = printed_example_rows(text, "objects")
    assert printed == count_rows(store_url, MAIN_TABLE, [b"i:candid"],
                                 f"{params['objectId']}_".encode())
    params, printed = printed_example_rows(text, "conesearch")
    assert printed >= 1, text
    assert float(params["radius"]) > 0


def post_json(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.load(response)


def wait_job(base: str, job: dict[str, Any], timeout_s: float = 120) -> dict[str, Any]:
    """Poll ``GET /fits/{id}`` until the job has finished; its last state."""
    deadline = time.monotonic() + timeout_s
    while job["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline, f"job not finished in {timeout_s} s: {job}"
        time.sleep(0.25)
        status, job = get(f"{base}/fits/{job['id']}")
        assert status == 200
    return job


def assert_fit_outcome(job: dict[str, Any], object_id: str) -> None:
    """A period found, or a failure the documentation gives for such a light curve."""
    assert job["objectId"] == object_id
    assert job["model"] == "period"
    if job["status"] == "done":
        assert 0.1 <= job["result"]["best_period"] <= 1.2  # the default search range
    else:
        assert job["error"]["kind"] in DATA_FAILURE_KINDS, job["error"]


def assert_printed_example_fit(text: str, base: str) -> None:
    """The demo's example fit really ran: its job answers what the demo printed."""
    match = re.search(rf"curl -s '{re.escape(base)}/fits/(\w+)'\n\s+-> (done|failed)(.*)$",
                      text, re.MULTILINE)
    assert match, f"no example fit with its outcome in:\n{text}"
    status, job = get(f"{base}/fits/{match[1]}")
    assert status == 200
    assert job["status"] == match[2], (job, match[0])
    assert_fit_outcome(job, job["objectId"])
    if job["status"] == "done":
        assert f"best period {job['result']['best_period']:.6g} d" in match[3]
    else:
        assert match[3].startswith(f": {job['error']['kind']} ("), match[0]


def assert_fitter_serves_the_night(text: str, fitter_port: int, store_url: str) -> None:
    """The demo's fitter answers /health, and fits an ingested object (or says why not)."""
    base = f"http://127.0.0.1:{fitter_port}"
    assert get(f"{base}/health") == (200, {"status": "ok"})
    assert_printed_example_fit(text, base)
    object_id = first_stored_object(store_url)
    status, job = post_json(f"{base}/fits", {"objectId": object_id, "model": "period"})
    assert status in (200, 202), job  # 200: answered from the cache
    assert_fit_outcome(wait_job(base, job), object_id)


def assert_portal_serves_the_night(text: str, portal_port: int, store_url: str) -> None:
    """The demo's portal answers /health, and shows a stored object: its page (with the
    sky view's loader) and its science cutout, which it fetches from the demo's API."""
    base = f"http://127.0.0.1:{portal_port}"
    assert get(f"{base}/health") == (200, {"status": "ok"})
    match = re.search(rf"example object page:\s+{re.escape(base)}/(\w+)", text)
    assert match, f"no example object page in:\n{text}"
    assert count_rows(store_url, MAIN_TABLE, [b"i:candid"], f"{match[1]}_".encode()) >= 1
    with urllib.request.urlopen(f"{base}/{match[1]}", timeout=30) as response:
        assert response.status == 200
        assert "aladin-loader.mjs" in response.read().decode()
    with urllib.request.urlopen(f"{base}/thumb/{match[1]}.png", timeout=30) as response:
        assert response.headers["Content-Type"] == "image/png"
        assert response.read().startswith(b"\x89PNG\r\n\x1a\n")


def test_demo_replays_a_synthetic_night_and_stops_everything(tmp_path: Path):
    kafka_port, query_port, fitter_port = free_port(), free_port(), free_port()
    portal_port = free_port()
    store_url = f"sqlite:{tmp_path / 'demo' / 'store'}"
    env = {**os.environ, "FINK_TOOLS_DATA_DIR": str(tmp_path / "absent"),
           "FINK_TOOLS_WORK_DIR": str(tmp_path / "demo"), "FINK_TOOLS_STORE_URL": store_url,
           "FINK_TOOLS_KAFKA_PORT": str(kafka_port), "FINK_TOOLS_SYNTHETIC_ALERTS": "150",
           "FINK_TOOLS_INGEST_METRICS_PORT": str(free_port()),
           "FINK_TOOLS_INDEXER_METRICS_PORT": str(free_port()),
           "FINK_TOOLS_QUERY_PORT": str(query_port),
           "FINK_TOOLS_FITTER_PORT": str(fitter_port),
           "FINK_TOOLS_PORTAL_PORT": str(portal_port)}
    demo = subprocess.Popen([sys.executable, "-m", "finkportal_tools.cli", "demo"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    children: list[psutil.Process] = []
    output = []
    try:
        deadline = time.monotonic() + 300
        assert demo.stdout is not None
        for line in demo.stdout:
            output.append(line)
            if "Press Ctrl-C" in line or time.monotonic() > deadline:
                break
        text = "".join(output)
        assert "finkportal demo is running" in text, text
        assert printed_count(text, "alerts written") == 150, text
        # The demo waits for the indexer: every stored alert is indexed once.
        assert printed_count(text, "alerts indexed") == 150, text
        streams = printed_streams(text)
        assert set(streams) == {f.topic for f in STREAM_FILTERS}, text
        busiest = max(streams, key=lambda topic: streams[topic])
        assert streams[busiest] > 0, f"no stream got a message:\n{text}"
        # The printed count is what the broker holds: the streams are complete when shown.
        on_broker = read_all(f"127.0.0.1:{kafka_port}", busiest, streams[busiest] + 1,
                             timeout_s=10)
        assert len(on_broker) == streams[busiest]
        assert_query_service_serves_the_night(text, query_port, store_url)
        assert_fitter_serves_the_night(text, fitter_port, store_url)
        assert_portal_serves_the_night(text, portal_port, store_url)
        children = psutil.Process(demo.pid).children(recursive=True)
        assert {"finkportal_ingest", "finkportal_indexer", "finkportal_query",
                "finkportal_fitter", "finkportal_portal"} <= service_modules(children)
        # The broker, ingest, the indexer, the query API, the fitter (its fork server and
        # workers too, which must also be gone after Ctrl-C) and the portal.
        assert len(children) >= 6
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) == 0
        # Checked before the clean-up below, which would otherwise hide a leftover process.
        _, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"processes left running: {alive}"
    finally:
        stop_tree(demo, children)
    assert count_rows(store_url, MAIN_TABLE, [b"i:candid"]) == 150
    assert count_rows(store_url, TIME_TABLE) == 150  # the indexer's row of each alert
