"""The fitter service over HTTP, as a real process on a real store of simulated alerts."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil
import pytest

from finkportal_core.storage import open_store
from finkportal_fitter.lightcurve import light_curve_from_rows
from finkportal_fitter.periods import fit_period
from finkportal_fitter.store_reader import LightCurveReader
from finkportal_tools.sim import simulate_light_curve
from tests.fitter.conftest import (
    NAN_ID,
    OBJECTS,
    ONE_POINT_ID,
    SLOW_PERIOD,
    UNKNOWN_ID,
    FitterServer,
    alert,
    cached_row,
    pool_workers,
    sim_alerts,
    store_alerts,
    wait_status,
)


def busiest(workers: list[psutil.Process]) -> psutil.Process:
    """The worker burning CPU (the one running the fit)."""
    before = {w.pid: sum(w.cpu_times()[:2]) for w in workers}
    time.sleep(0.4)
    return max(workers, key=lambda w: sum(w.cpu_times()[:2]) - before[w.pid])


def wait_for(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_eight_concurrent_requests_all_finish_with_the_right_periods(
        fitter: FitterServer) -> None:
    objects = [OBJECTS[f"many{k}"] for k in range(8)]
    runs_before = fitter.metric("fitter_fits_run_total", model="period")
    with ThreadPoolExecutor(8) as threads:
        answers = list(threads.map(lambda o: fitter.fit(o.object_id), objects))
    assert [a.status_code for a in answers] == [202] * 8, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 8
    jobs = [fitter.wait_job(a.json()["id"]) for a in answers]
    for obj, job in zip(objects, jobs, strict=True):
        assert (job["status"], job["cached"], job["progress"]) == ("done", False, 1.0), job
        period = job["result"]["best_period"]
        assert abs(period / obj.params["period"] - 1) < 0.01, (obj, period)
        assert job["timings"]["fit_s"] > 0
        assert job["timings"]["queued_s"] >= 0
    assert fitter.metric("fitter_fits_run_total", model="period") == runs_before + 8
    assert fitter.metric("fitter_queue_length") == fitter.metric("fitter_fits_running") == 0


def test_the_result_is_the_fitting_layers_on_the_stored_light_curve(
        fitter: FitterServer) -> None:
    job = fitter.fit_and_wait(OBJECTS["period"].object_id, nterms_band=2)
    store = open_store(fitter.store_url)
    try:
        rows = LightCurveReader(store, 5000).rows(OBJECTS["period"].object_id)
    finally:
        store.close()
    direct = fit_period(light_curve_from_rows(rows), nterms_band=2).as_dict()
    result = job["result"]
    assert result["best_period"] == pytest.approx(direct["best_period"], rel=1e-9)
    assert result["chi2"] == pytest.approx(direct["chi2"], rel=1e-9)
    assert result["n_points"] == len(result["light_curve"]["jd"]) == len(rows)
    assert result["light_curve"]["kind"] == "dc"
    assert len(result["phases"]) == result["n_points"]


def test_a_repeat_is_answered_at_once_from_the_cache(fitter: FitterServer) -> None:
    obj = OBJECTS["mulens"]
    first = fitter.fit_and_wait(obj.object_id, "microlensing")
    assert first["status"] == "done"
    assert not first["cached"]
    hits = fitter.metric("fitter_cache_hits_total", model="microlensing")
    started = time.perf_counter()
    # The defaults spelled out are the same fit: same cache row.
    again = fitter.fit(obj.object_id, "microlensing", method="trf", use_dc="auto")
    elapsed = time.perf_counter() - started
    assert again.status_code == 200, again.text
    body = again.json()
    assert (body["status"], body["cached"], body["progress"]) == ("done", True, 1.0)
    assert body["result"] == first["result"]
    assert body["last_jd"] == first["last_jd"]
    assert body["timings"]["computed"] is not None
    assert elapsed < 0.5
    assert fitter.metric("fitter_cache_hits_total", model="microlensing") == hits + 1
    for t in ("t0", "u0", "tE"):  # the simulated truth, within 3 sigma
        assert abs(body["result"][t] - _truth(obj, t)) < 3 * body["result"][f"{t}_err"], t
    other = fitter.fit(obj.object_id, "microlensing", method="LM")
    assert other.status_code == 202
    assert not other.json()["cached"]
    fitter.wait_job(other.json()["id"])


def _truth(obj: Any, name: str) -> float:
    return float(simulate_light_curve(obj.kind, obj.params, seed=obj.seed).truth[name])


def test_a_new_alert_invalidates_the_cached_fit(fitter: FitterServer) -> None:
    obj = OBJECTS["renew"]
    first = fitter.fit_and_wait(obj.object_id)
    assert fitter.fit(obj.object_id).json()["cached"]
    newest = sim_alerts(obj)[-1]["candidate"]
    later = alert(obj.object_id, 999, newest["jd"] + 1.5, 1, newest["magpsf"],
                  newest["sigmapsf"], newest["isdiffpos"], newest["magnr"])
    store = open_store(fitter.store_url)
    try:
        store_alerts(store, [later])  # main row, then the indexer's summary (s:last_jd)
    finally:
        store.close()
    fresh = fitter.fit(obj.object_id)
    assert (fresh.status_code, fresh.json()["cached"]) == (202, False), fresh.text
    refit = fitter.wait_job(fresh.json()["id"])
    assert refit["last_jd"] == later["candidate"]["jd"] > first["last_jd"]
    assert refit["result"]["n_points"] == first["result"]["n_points"] + 1
    row = cached_row(fitter, {"objectId": obj.object_id, "model": "period"})
    assert row is not None
    assert row.last_jd == refit["last_jd"]
    assert row.outcome["result"] == refit["result"]
    repeat = fitter.fit(obj.object_id).json()
    assert repeat["cached"]
    assert repeat["last_jd"] == refit["last_jd"]


def test_an_unknown_object_is_404_and_makes_no_job(fitter: FitterServer) -> None:
    answer = fitter.fit(UNKNOWN_ID)
    assert answer.status_code == 404
    assert answer.json()["kind"] == "unknown_object"
    assert UNKNOWN_ID in answer.json()["text"]


@pytest.mark.parametrize(("object_id", "model", "says"), [
    (ONE_POINT_ID, "period", "1 detections are too few"),
    (ONE_POINT_ID, "microlensing", "too few for a PSPL fit"),
    (NAN_ID, "period", "no usable detection"),
    (NAN_ID, "microlensing", "no usable detection"),
])
def test_a_light_curve_that_cannot_be_fitted_fails_and_the_failure_is_cached(
        fitter: FitterServer, object_id: str, model: str, says: str) -> None:
    job = fitter.fit_and_wait(object_id, model)
    assert (job["status"], job["error"]["kind"]) == ("failed", "bad_light_curve"), job
    assert says in job["error"]["message"]
    assert "result" not in job
    repeat = fitter.fit(object_id, model)
    assert repeat.status_code == 200
    assert repeat.json()["cached"]
    assert repeat.json()["error"] == job["error"]
    assert fitter.client.get("/health").status_code == 200


@pytest.mark.parametrize(("body", "says"), [
    ({"objectId": OBJECTS["period"].object_id, "model": "sine"}, "model: Input should be"),
    ({"model": "period"}, "objectId: Field required"),
    ({"objectId": "ZTF24_aperiod", "model": "period"}, "objectId: String should match"),
    ({"objectId": OBJECTS["period"].object_id, "model": "period",
      "options": {"nterms_base": 7}}, "options.nterms_base: Input should be less than or equal"),
    ({"objectId": OBJECTS["period"].object_id, "model": "period",
      "options": {"period_min": 2.0, "period_max": 1.0}}, "0 < period_min < period_max"),
    ({"objectId": OBJECTS["period"].object_id, "model": "period",
      "options": {"fast": True, "nterms_band": 0}}, "nterms_band must be >= 1"),
    ({"objectId": OBJECTS["period"].object_id, "model": "period",
      "options": {"periodmin": 0.2}}, "options.periodmin: Extra inputs are not permitted"),
    ({"objectId": OBJECTS["mulens"].object_id, "model": "microlensing",
      "options": {"method": "MCMC"}}, "options.method: Input should be 'TRF', 'LM' or 'DE'"),
    ({"objectId": OBJECTS["mulens"].object_id, "model": "microlensing",
      "options": {"use_dc": "maybe"}}, "options.use_dc: Input should be"),
    ([1, 2], "Input should be a valid dictionary"),
])
def test_bad_requests_are_422_with_a_message_naming_the_problem(
        fitter: FitterServer, body: Any, says: str) -> None:
    answer = fitter.client.post("/fits", json=body)
    assert answer.status_code == 422, answer.text
    assert says in answer.json()["text"], answer.json()


def test_a_body_that_is_not_json_is_422(fitter: FitterServer) -> None:
    answer = fitter.client.post("/fits", content=b"{objectId:", headers={
        "content-type": "application/json"})
    assert answer.status_code == 422
    assert "JSON" in answer.json()["text"]


def test_an_unknown_job_is_404(fitter: FitterServer) -> None:
    answer = fitter.client.get("/fits/0123456789abcdef")
    assert answer.status_code == 404
    assert "expired" in answer.json()["text"]


def test_a_worker_killed_under_a_fit_fails_it_as_crashed_and_the_service_goes_on(
        fitter: FitterServer) -> None:
    long_id = OBJECTS["long"].object_id
    crashes = fitter.metric("fitter_fits_failed_total", model="period", kind="crashed")
    job_id = fitter.fit(long_id, **SLOW_PERIOD).json()["id"]
    wait_status(fitter, job_id, "running")
    running = fitter.client.get(f"/fits/{job_id}").json()
    assert 0 < running["progress"] < 1
    assert running["timings"]["started"] is not None
    busiest(pool_workers(fitter)).send_signal(signal.SIGKILL)
    job = fitter.wait_job(job_id)
    assert (job["status"], job["error"]["kind"]) == ("failed", "crashed"), job
    assert "exit code -9" in job["error"]["message"]
    assert fitter.metric("fitter_fits_failed_total", model="period",
                         kind="crashed") == crashes + 1
    assert cached_row(fitter, {"objectId": long_id, "model": "period",
                               "options": SLOW_PERIOD}) is None  # a crash is not cached
    assert fitter.client.get("/health").status_code == 200
    assert fitter.fit_and_wait(OBJECTS["many0"].object_id, fast=True)["status"] == "done"


def test_an_idle_worker_dying_is_replaced_and_fits_go_on(fitter: FitterServer) -> None:
    # pebble marks its pool broken when a worker dies with no task running: the service
    # must rebuild it rather than refuse every later fit.
    rebuilds = fitter.metric("fitter_pool_rebuilds_total")
    assert fitter.metric("fitter_fits_running") == 0
    pool_workers(fitter)[0].send_signal(signal.SIGKILL)
    time.sleep(0.3)
    job = fitter.fit_and_wait(OBJECTS["many1"].object_id, fast=True, nterms_band=2)
    assert job["status"] == "done", job
    wait_for(lambda: fitter.client.get("/health").status_code == 200)
    assert len(pool_workers(fitter)) == 2
    wait_for(lambda: fitter.metric("fitter_pool_rebuilds_total") == rebuilds + 1)
    wait_for(lambda: len(pool_workers(fitter)) == 2)


def test_metrics_and_health_are_served_on_the_api_port(fitter: FitterServer) -> None:
    assert fitter.client.get("/health/live").json() == {"status": "ok"}
    assert fitter.client.get("/health").json() == {"status": "ok"}
    text = fitter.client.get("/metrics").text
    for family in ("fitter_fits_run_total", "fitter_fits_failed_total",
                   "fitter_fits_timed_out_total", "fitter_fit_seconds_bucket",
                   "fitter_queue_length", "fitter_cache_hits_total"):
        assert family in text, family
    assert fitter.metric("fitter_http_requests_total", endpoint="/fits/{job_id}") > 0
    assert fitter.metric("fitter_fit_seconds_count", model="period") > 0
