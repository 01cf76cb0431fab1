"""Shared helpers: simulated light curves with known truth (fitting layer), and for the
service a real store of simulated alerts (stored and indexed with the real code) and the
fitter running as its own process."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from finkportal_core.indexing.layout import ensure_index_tables
from finkportal_core.indexing.records import index_record
from finkportal_core.storage import open_store
from finkportal_core.storage.base import Store
from finkportal_core.tables import MAIN_TABLE, alert_to_rows, ensure_alert_tables
from finkportal_fitter.cache import CachedFit, FitCache
from finkportal_fitter.lightcurve import LightCurve, light_curve_from_arrays
from finkportal_fitter.options import parse_request
from finkportal_indexer.writer import IndexWriter, classify
from finkportal_tools.broker import EmbeddedBroker
from finkportal_tools.sim import simulate_light_curve
from tests.conftest import free_port

Simulated = Callable[..., tuple[LightCurve, dict[str, Any]]]


@pytest.fixture
def simulated() -> Simulated:
    """``simulated(kind, params, seed)`` -> (fitter light curve of the DC magnitudes, truth)."""

    def make(kind: str, params: dict[str, Any], seed: int) -> tuple[LightCurve, dict[str, Any]]:
        sim = simulate_light_curve(kind, params, seed=seed)
        return light_curve_from_arrays(sim.jd, sim.fid, sim.mag, sim.magerr), sim.truth

    return make


# -- the service: a real store of simulated alerts, the fitter as a process ----------------

MICROLENSING = {"u0": 0.2, "tE": 30.0, "baseline_mag_r": 17.0, "blend_fraction": 0.9}


@dataclass(frozen=True)
class SimObject:
    """An object stored for the service tests, with the truth it was simulated from."""

    object_id: str
    kind: str
    params: dict[str, Any]
    seed: int
    duration_days: float = 120.0
    cadence_days: float = 2.5


def cepheid(period: float) -> dict[str, Any]:
    """A pulsator (one maximum per cycle: an eclipsing binary would fold at half its period)."""
    return {"period": period, "subtype": "cepheid"}


# Ids look like ZTF's (ZTF + year + 7 letters); every test uses its own objects.
OBJECTS = {
    "period": SimObject("ZTF24aperiod", "periodic", cepheid(0.5), 11),
    "mulens": SimObject("ZTF24amulens", "microlensing", MICROLENSING, 3),
    "renew": SimObject("ZTF24arenewx", "periodic", cepheid(0.8), 12),
    "batch": SimObject("ZTF24abatchx", "periodic", cepheid(0.6), 13),
    # ~700 detections over 600 days: a wide multi-term period search runs for seconds.
    "long": SimObject("ZTF24alongxx", "periodic", cepheid(0.7), 5, 600.0, 1.0),
    **{f"many{k}": SimObject(f"ZTF24amany0{'abcdefgh'[k]}", "periodic", cepheid(0.3 + 0.1 * k),
                             20 + k) for k in range(8)},
}
# A wide multi-term search on the "long" object: runs ~3 s, time to act on a running fit.
SLOW_PERIOD = {"period_min": 0.05, "nterms_base": 2, "nterms_band": 2}
ONE_POINT_ID = "ZTF24aonepts"
NAN_ID = "ZTF24ananmag"
UNKNOWN_ID = "ZTF24anobody"


def sim_alerts(obj: SimObject) -> list[dict[str, Any]]:
    """One alert per simulated detection, with what Fink's DC magnitudes need."""
    sim = simulate_light_curve(obj.kind, obj.params, seed=obj.seed,
                               duration_days=obj.duration_days, cadence_days=obj.cadence_days)
    return [alert(obj.object_id, k, float(jd), int(fid), float(m), float(s), str(pos),
                  float(nr))
            for k, (jd, fid, m, s, pos, nr) in enumerate(zip(
                sim.jd, sim.fid, sim.magpsf, sim.sigmapsf, sim.isdiffpos, sim.magnr,
                strict=True))]


def alert(object_id: str, index: int, jd: float, fid: int, magpsf: float, sigmapsf: float,
          isdiffpos: str = "t", magnr: float = 17.0) -> dict[str, Any]:
    # sigmagnr 0: the DC magnitudes are then exactly the simulator's (see test_lightcurve).
    candid = 1_000_000_000_000_000_000 + zlib.crc32(object_id.encode()) * 10_000 + index
    return {"objectId": object_id, "candid": candid, "candidate": {
        "jd": jd, "fid": fid, "magpsf": magpsf, "sigmapsf": sigmapsf, "isdiffpos": isdiffpos,
        "magnr": magnr, "sigmagnr": 0.0, "distnr": 0.3, "ra": 150.0, "dec": 2.0,
        "candid": candid}}


def store_alerts(store: Store, alerts: list[dict[str, Any]]) -> None:
    """Write alerts as ingest does, then index them with the indexer's own writer (so the
    object summary, and its s:last_jd, is the real one)."""
    rows = [alert_to_rows(item)[0] for item in alerts]
    store.table(MAIN_TABLE).put_many(rows)
    IndexWriter(store).write([classify(index_record(key, cells)) for key, cells in rows])


def bad_alerts() -> list[dict[str, Any]]:
    one = [alert(ONE_POINT_ID, 0, 2460200.7, 1, 18.0, 0.05)]
    nan = [alert(NAN_ID, k, 2460200.7 + k, 1 + k % 2, math.nan, 0.05) for k in range(12)]
    return one + nan


@pytest.fixture(scope="session")
def fit_store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store holding every test object, stored and indexed."""
    url = f"sqlite:{tmp_path_factory.mktemp('fit-store') / 'store'}"
    store = open_store(url)
    try:
        ensure_alert_tables(store)
        ensure_index_tables(store)
        for obj in OBJECTS.values():
            store_alerts(store, sim_alerts(obj))
        store_alerts(store, bad_alerts())
    finally:
        store.close()
    return url


@dataclass
class FitterServer:
    """A running ``python -m finkportal_fitter`` process and a client on it."""

    base_url: str
    store_url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base_url, timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def metric(self, name: str, **labels: str) -> float:
        """A counter or gauge summed over the samples matching ``labels``."""
        text = self.client.get("/metrics").text
        return sum(sample.value for family in text_string_to_metric_families(text)
                   for sample in family.samples
                   if sample.name == name and labels.items() <= sample.labels.items())

    def fit(self, object_id: str, model: str = "period", **options: Any) -> httpx.Response:
        return self.client.post("/fits", json={"objectId": object_id, "model": model,
                                               "options": options})

    def wait_job(self, job_id: str, timeout_s: float = 60) -> dict[str, Any]:
        """Poll a job until it has finished; its last answer."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            answer = self.client.get(f"/fits/{job_id}")
            assert answer.status_code == 200, answer.text
            if answer.json()["status"] in ("done", "failed"):
                return dict(answer.json())
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} not finished in {timeout_s} s:\n{self.log()[-3000:]}")

    def fit_and_wait(self, object_id: str, model: str = "period",
                     **options: Any) -> dict[str, Any]:
        answer = self.fit(object_id, model, **options)
        assert answer.status_code in (200, 202), answer.text
        return self.wait_job(answer.json()["id"])


def cached_row(server: FitterServer, body: dict[str, Any]) -> CachedFit | None:
    """The cache row of the request ``body`` describes, read from the store."""
    store = open_store(server.store_url)
    try:
        return FitCache(store).read(parse_request(body))
    finally:
        store.close()


def pool_workers(server: FitterServer) -> list[psutil.Process]:
    """The fit workers: children of the fork server, itself a child of the service."""
    service = psutil.Process(server.process.pid)
    return [worker for child in service.children() for worker in child.children()]


def wait_status(server: FitterServer, job_id: str, status: str, timeout_s: float = 30) -> None:
    """Poll until the job has ``status`` (e.g. running)."""
    deadline = time.monotonic() + timeout_s
    while server.client.get(f"/fits/{job_id}").json()["status"] != status:
        assert time.monotonic() < deadline, f"job {job_id} never {status}"
        time.sleep(0.05)


def start_fitter(store_url: str, log_path: Path, *, wait: bool = True,
                 **settings: str) -> FitterServer:
    """Start the service and (``wait``) wait until /health answers 200 (workers warmed up)."""
    port = free_port()
    env = {"FINK_FITTER_STORE_URL": store_url, "FINK_FITTER_PORT": str(port),
           "FINK_FITTER_LOG_LEVEL": "INFO", "FINK_FITTER_BATCH_ENABLED": "false",
           **{f"FINK_FITTER_{name.upper()}": value for name, value in settings.items()}}
    with open(log_path, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "finkportal_fitter"],
                                   env={**os.environ, **env}, stdout=log,
                                   stderr=subprocess.STDOUT)
    server = FitterServer(f"http://127.0.0.1:{port}", store_url, env, process, log_path)
    if wait:
        wait_healthy(server)
    return server


def wait_healthy(server: FitterServer, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"fitter exited:\n{server.log()[-3000:]}")
        try:
            if server.client.get("/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"fitter not healthy:\n{server.log()[-3000:]}")


def stop_fitter(server: FitterServer, timeout_s: float = 60) -> int:
    """SIGTERM, then the exit code (killed, and -9, if it hangs)."""
    server.client.close()
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            return server.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            server.process.kill()
    return server.process.wait()


@dataclass(frozen=True)
class BatchTopics:
    request_topic: str
    dead_letter_topic: str
    group_id: str


@pytest.fixture(scope="session")
def batch_topics(broker: EmbeddedBroker) -> BatchTopics:
    run = uuid.uuid4().hex[:8]
    topics = BatchTopics(f"fit_requests_{run}", f"fit_requests_{run}_dlq", f"fitter-{run}")
    broker.create_topics([topics.request_topic, topics.dead_letter_topic])
    return topics


@pytest.fixture(scope="session")
def fitter(fit_store_url: str, broker: EmbeddedBroker, batch_topics: BatchTopics,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[FitterServer]:
    """The shared service: two workers, batch requests on the session broker."""
    log = tmp_path_factory.mktemp("fitter") / "fitter.log"
    server = start_fitter(
        fit_store_url, log, workers="2", batch_enabled="true",
        kafka_bootstrap_servers=broker.bootstrap_servers,
        request_topic=batch_topics.request_topic,
        dead_letter_topic=batch_topics.dead_letter_topic, group_id=batch_topics.group_id)
    yield server
    stop_fitter(server)
