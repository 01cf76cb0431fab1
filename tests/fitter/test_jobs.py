"""The job book: bounded pending jobs, joining identical requests, expiry, shutdown."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from finkportal_fitter.jobs import BusyError, JobBook, ShuttingDownError, progress, view
from finkportal_fitter.options import parse_request

DONE = {"status": "done", "result": {"best_period": 0.5}}
FAILED = {"status": "failed", "error": {"kind": "timeout", "message": "too slow"}}


def request(object_id: str = "ZTF24aperiod", **options: Any) -> Any:
    return parse_request({"objectId": object_id, "model": "period", "options": options})


def test_pending_jobs_are_bounded_and_a_finished_one_frees_room() -> None:
    book = JobBook(max_queue=2, ttl_s=60, max_finished=10)
    first, _ = book.reserve(request("ZTF24aaaaaaa"), 1.0, wait=False)
    book.reserve(request("ZTF24bbbbbbb"), 1.0, wait=False)
    with pytest.raises(BusyError, match="2 fits pending"):
        book.reserve(request("ZTF24ccccccc"), 1.0, wait=False)
    assert book.finish(first, DONE)
    assert not book.finish(first, FAILED)  # finished once only
    _, new = book.reserve(request("ZTF24ccccccc"), 1.0, wait=False)
    assert new
    assert book.counts() == (2, 0)


def test_an_identical_request_in_flight_is_joined_not_run_twice() -> None:
    book = JobBook(max_queue=1, ttl_s=60, max_finished=10)
    job, new = book.reserve(request(nterms_band=2), 7.0, wait=False)
    same, joined_new = book.reserve(request(nterms_band=2), 7.0, wait=False)
    assert new
    assert (same, joined_new) == (job, False)
    with pytest.raises(BusyError):  # another last jd is another fit
        book.reserve(request(nterms_band=2), 8.0, wait=False)


def test_a_waiting_submitter_gets_room_when_a_job_finishes_and_stops_on_close() -> None:
    book = JobBook(max_queue=1, ttl_s=60, max_finished=10)
    job, _ = book.reserve(request("ZTF24aaaaaaa"), 1.0, wait=False)
    threading.Timer(0.2, book.finish, args=(job, DONE)).start()
    started = time.monotonic()
    waited, _ = book.reserve(request("ZTF24bbbbbbb"), 1.0, wait=True)
    assert 0.15 < time.monotonic() - started < 2
    threading.Timer(0.2, book.close).start()
    with pytest.raises(ShuttingDownError):
        book.reserve(request("ZTF24ccccccc"), 1.0, wait=True)
    assert waited.status == "queued"


def test_finished_jobs_expire_by_age_and_by_count() -> None:
    book = JobBook(max_queue=10, ttl_s=0.3, max_finished=2)
    jobs = [book.reserve(request(f"ZTF24aaaaaa{c}"), 1.0, wait=False)[0] for c in "abc"]
    for job in jobs:
        book.finish(job, DONE)
    assert [book.get(job.id) for job in jobs] == [None, jobs[1], jobs[2]]  # oldest first
    time.sleep(0.35)
    book.purge()
    assert book.get(jobs[2].id) is None


def test_the_view_of_a_job_through_its_life() -> None:
    book = JobBook(max_queue=10, ttl_s=60, max_finished=10)
    job, _ = book.reserve(request(), 2460300.5, wait=False)
    queued = view(job, None)
    assert (queued["status"], queued["progress"], queued["cached"]) == ("queued", 0.0, False)
    assert queued["options"]["period_max"] == 1.2
    assert queued["timings"]["started"] is None
    assert "result" not in queued
    job.status, job.started = "running", time.time() - 1.0
    assert progress(job, None) == 0.5
    assert progress(job, 4.0) == pytest.approx(0.25, abs=0.02)
    assert progress(job, 0.1) == 0.95
    book.finish(job, FAILED, started=job.started, fit_seconds=1.0)
    failed = view(job, 4.0)
    assert (failed["status"], failed["progress"], failed["error"]) == ("failed", 1.0,
                                                                       FAILED["error"])
    assert failed["timings"]["fit_s"] == 1.0
    assert failed["timings"]["finished"].endswith("Z")
