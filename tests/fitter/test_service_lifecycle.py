"""Timeouts and graceful shutdown, each on a fitter process of its own."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fitter.conftest import (
    OBJECTS,
    SLOW_PERIOD,
    FitterServer,
    cached_row,
    pool_workers,
    start_fitter,
    stop_fitter,
    wait_status,
)


@pytest.fixture
def hasty_fitter(fit_store_url: str, tmp_path: Path) -> Iterator[FitterServer]:
    """One worker, 50 ms per fit: differential evolution (~1 s) cannot finish."""
    server = start_fitter(fit_store_url, tmp_path / "fitter.log", workers="1",
                          fit_timeout_s="0.05")
    yield server
    stop_fitter(server)


def test_a_fit_past_its_timeout_fails_as_timeout_and_its_worker_is_replaced(
        hasty_fitter: FitterServer) -> None:
    mulens = OBJECTS["mulens"].object_id  # no other test fits it with DE (no cached answer)
    first_worker = {worker.pid for worker in pool_workers(hasty_fitter)}
    jobs = [hasty_fitter.fit_and_wait(mulens, "microlensing", method="DE") for _ in range(2)]
    assert len(first_worker) == 1
    assert first_worker.isdisjoint(worker.pid for worker in pool_workers(hasty_fitter))
    for job in jobs:  # the second ran on the worker that replaced the killed one
        assert (job["status"], job["error"]["kind"]) == ("failed", "timeout"), job
        assert "did not finish within 0.05 s" in job["error"]["message"]
        assert not job["cached"]  # a timeout is not cached: the next ask tries again
    assert jobs[0]["id"] != jobs[1]["id"]
    assert hasty_fitter.metric("fitter_fits_timed_out_total", model="microlensing") == 2
    assert hasty_fitter.metric("fitter_fits_failed_total", kind="timeout") == 2
    assert hasty_fitter.client.get("/health").status_code == 200
    assert stop_fitter(hasty_fitter) == 0


def test_a_full_queue_is_503_and_sigterm_lets_the_running_fit_finish_then_exits_0(
        fit_store_url: str, tmp_path: Path) -> None:
    server = start_fitter(fit_store_url, tmp_path / "fitter.log", workers="1",
                          max_queue="1", shutdown_grace_s="60")
    # Options no other test asks for: the fit must really run (~2 s), not come from the cache.
    body = {"objectId": OBJECTS["long"].object_id, "model": "period",
            "options": {**SLOW_PERIOD, "nterms_band": 1}}
    try:
        job_id = server.client.post("/fits", json=body).json()["id"]
        wait_status(server, job_id, "running")
        busy = server.fit(OBJECTS["period"].object_id, nterms_band=3)
        assert busy.status_code == 503
        assert "busy: 1 fits pending" in busy.json()["text"]
        assert busy.headers["retry-after"] == "5"
        assert server.metric("fitter_requests_rejected_total", reason="busy") == 1
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=90) == 0, server.log()[-3000:]
    finally:
        stop_fitter(server)
    assert time.monotonic() - started > 0.5  # it waited for the fit (~2 s), not killed it
    row = cached_row(server, body)
    assert row is not None, server.log()[-3000:]
    assert row.outcome["status"] == "done"
    assert abs(row.outcome["result"]["best_period"] / 0.7 - 1) < 0.01
    assert "fit runner stopped" in server.log()
