"""End-to-end part of the fitter benchmark: a store of simulated alerts, the real service
(``python -m finkportal_fitter``) on it, and the request latencies of fresh and cached fits.

The store is written as ingest writes alerts (``alert_to_rows``) and indexed with the
indexer's own ``IndexWriter``, so the object summary the fitter reads (``s:last_jd``) is the
real one (the approach of ``tests/fitter/conftest.py``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.index_probes import percentile
from finkportal_core.indexing.layout import ensure_index_tables
from finkportal_core.indexing.records import index_record
from finkportal_core.storage import open_store
from finkportal_core.storage.base import Store
from finkportal_core.tables import MAIN_TABLE, alert_to_rows, ensure_alert_tables
from finkportal_indexer.writer import IndexWriter, classify
from finkportal_tools.sim import simulate_light_curve

# The model of the API and the light-curve kind the simulator draws for it.
KINDS = {"period": "periodic", "microlensing": "microlensing"}
POLL_S = 0.01  # GET /fits/{id} interval: bounds what polling adds to a cold latency


@dataclass(frozen=True)
class BenchObject:
    object_id: str
    model: str
    seed: int


def object_id(model: str, index: int) -> str:
    """ZTF-like ids (ZTF + year + 7 letters), distinct per model and index."""
    letters, value = [], index
    for _ in range(6):
        value, digit = divmod(value, 26)
        letters.append("abcdefghijklmnopqrstuvwxyz"[digit])
    return f"ZTF24{'p' if model == 'period' else 'm'}{''.join(reversed(letters))}"


def detected_seeds(kind: str, count: int, seed: int) -> list[int]:
    """``count`` consecutive simulation seeds whose source was detected at least once (one
    never detected has no alert, so no object and nothing to fit)."""
    seeds: list[int] = []
    candidate = seed * 100_000
    while len(seeds) < count:
        if len(simulate_light_curve(kind, None, seed=candidate).jd):
            seeds.append(candidate)
        candidate += 1
    return seeds


def bench_objects(per_model: int, seed: int) -> list[BenchObject]:
    return [BenchObject(object_id(model, k), model, sim_seed)
            for model, kind in KINDS.items()
            for k, sim_seed in enumerate(detected_seeds(kind, per_model, seed))]


def sim_alerts(obj: BenchObject) -> list[dict[str, Any]]:
    """One alert per simulated detection (parameters drawn from the seed, ZTF cadence)."""
    sim = simulate_light_curve(KINDS[obj.model], None, seed=obj.seed)
    base = 1_000_000_000_000_000_000 + zlib.crc32(obj.object_id.encode()) * 10_000
    return [{"objectId": obj.object_id, "candid": base + k, "candidate": {
        "jd": float(jd), "fid": int(fid), "magpsf": float(m), "sigmapsf": float(s),
        "isdiffpos": str(pos), "magnr": float(nr), "sigmagnr": 0.0, "distnr": 0.3,
        "ra": 150.0, "dec": 2.0, "candid": base + k}}
        for k, (jd, fid, m, s, pos, nr) in enumerate(zip(
            sim.jd, sim.fid, sim.magpsf, sim.sigmapsf, sim.isdiffpos, sim.magnr, strict=True))]


def store_alerts(store: Store, alerts: list[dict[str, Any]]) -> None:
    rows = [alert_to_rows(item)[0] for item in alerts]
    store.table(MAIN_TABLE).put_many(rows)
    IndexWriter(store).write([classify(index_record(key, cells)) for key, cells in rows])


def build_store(url: str, objects: list[BenchObject]) -> dict[str, Any]:
    """Store and index every object's alerts; how many and how long it took."""
    began, alerts = time.perf_counter(), 0
    store = open_store(url)
    try:
        ensure_alert_tables(store)
        ensure_index_tables(store)
        for obj in objects:
            batch = sim_alerts(obj)
            store_alerts(store, batch)
            alerts += len(batch)
    finally:
        store.close()
    return {"objects": len(objects), "alerts": alerts,
            "build_s": round(time.perf_counter() - began, 1)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FitterProcess:
    """``python -m finkportal_fitter`` on a store, HTTP only (no Kafka batch consumer)."""

    def __init__(self, store_url: str, workers: int, log: Path):
        self.log, port = log, free_port()
        self.env = {"STORE_URL": store_url, "PORT": str(port), "WORKERS": str(workers),
                    "BATCH_ENABLED": "false", "LOG_LEVEL": "WARNING"}
        env = {**os.environ, **{f"FINK_FITTER_{k}": v for k, v in self.env.items()}}
        with open(log, "ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "finkportal_fitter"],
                                            env=env, stdout=out, stderr=subprocess.STDOUT)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)

    def fail(self, why: str) -> SystemExit:
        return SystemExit(f"fitter {why}:\n{self.log.read_text(errors='replace')[-3000:]}")

    def wait_healthy(self, timeout_s: float = 120) -> float:
        """Seconds until /health answers 200 (the pool is up and warmed)."""
        began = time.perf_counter()
        while time.perf_counter() - began < timeout_s:
            if self.process.poll() is not None:
                raise self.fail("exited")
            try:
                if self.client.get("/health", timeout=2).status_code == 200:
                    return time.perf_counter() - began
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise self.fail("not healthy")

    def cpu_seconds(self) -> float:
        """User + system CPU of the service and its workers (fork server included)."""
        root = psutil.Process(self.process.pid)
        total = 0.0
        for proc in [root, *root.children(recursive=True)]:
            times = proc.cpu_times()
            total += times.user + times.system
        return total

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def cold_request(server: FitterProcess, obj: BenchObject) -> tuple[float, dict[str, Any]]:
    """POST a new fit, poll until it has finished: (ms from submit to done, last answer)."""
    began = time.perf_counter()
    answer = server.client.post("/fits", json={"objectId": obj.object_id, "model": obj.model})
    if answer.status_code not in (200, 202):
        return (time.perf_counter() - began) * 1000, {"status": f"http {answer.status_code}"}
    body = answer.json()
    while body["status"] not in ("done", "failed"):
        time.sleep(POLL_S)
        body = server.client.get(f"/fits/{body['id']}").json()
    return (time.perf_counter() - began) * 1000, body


def cached_request(server: FitterProcess, obj: BenchObject) -> tuple[float, dict[str, Any]]:
    """The same POST again: answered 200 from the fits cache, finished."""
    began = time.perf_counter()
    answer = server.client.post("/fits", json={"objectId": obj.object_id, "model": obj.model})
    elapsed = (time.perf_counter() - began) * 1000
    if answer.status_code != 200:
        return elapsed, {"status": f"http {answer.status_code}"}
    return elapsed, dict(answer.json())


def summary(latencies: list[float], answers: list[dict[str, Any]], *, cached: bool
            ) -> dict[str, Any]:
    """p50/p99/max of the timed requests; answers not finished as expected are counted."""
    ordered = sorted(latencies)
    ok = [a for a in answers if a.get("status") in ("done", "failed")
          and bool(a.get("cached")) == cached]
    fit_s = sorted(a["timings"]["fit_s"] for a in ok if a["timings"].get("fit_s") is not None)
    return {"count": len(ordered), "p50_ms": round(percentile(ordered, 50), 1),
            "p99_ms": round(percentile(ordered, 99), 1),
            "max_ms": round(ordered[-1], 1) if ordered else None,
            "failed_fits": sum(a.get("status") == "failed" for a in ok),
            "unexpected": len(answers) - len(ok),
            "server_fit_p50_ms": round(percentile(fit_s, 50) * 1000, 1) if fit_s else None}


def measure(server: FitterProcess, objects: list[BenchObject], warmup: int
            ) -> dict[str, Any]:
    """Per model: ``warmup`` unmeasured fits, then every other object cold, then cached."""
    result: dict[str, Any] = {}
    for model in KINDS:
        mine = [obj for obj in objects if obj.model == model]
        for obj in mine[:warmup]:
            cold_request(server, obj)
        timed = mine[warmup:]
        cold = [cold_request(server, obj) for obj in timed]
        cached = [cached_request(server, obj) for obj in timed]
        result[model] = {
            "cold": summary([ms for ms, _ in cold], [a for _, a in cold], cached=False),
            "cached": summary([ms for ms, _ in cached], [a for _, a in cached], cached=True)}
        print(f"{model}: cold p50/p99 {result[model]['cold']['p50_ms']}/"
              f"{result[model]['cold']['p99_ms']} ms, cached {result[model]['cached']['p50_ms']}/"
              f"{result[model]['cached']['p99_ms']} ms", file=sys.stderr)
    return result


def run_service(tmp: Path, per_model: int, warmup: int, workers: int, seed: int
                ) -> dict[str, Any]:
    objects = bench_objects(per_model + warmup, seed)
    url = f"sqlite:{tmp / 'store'}"
    store = build_store(url, objects)
    print(f"store: {store['alerts']} alerts of {store['objects']} objects in "
          f"{store['build_s']} s", file=sys.stderr)
    server = FitterProcess(url, workers, tmp / "fitter.log")
    try:
        ready_s = server.wait_healthy()
        cpu_before, began = server.cpu_seconds(), time.perf_counter()
        latencies = measure(server, objects, warmup)
        cpu_s, wall_s = server.cpu_seconds() - cpu_before, time.perf_counter() - began
    finally:
        server.stop()
    return {"store": store, "latency": latencies,
            "server": {"env": server.env | {"STORE_URL": "sqlite:<tmp>", "PORT": "<free>"},
                       "ready_s": round(ready_s, 1), "cpu_s": round(cpu_s, 1),
                       "wall_s": round(wall_s, 1), "poll_s": POLL_S}}
