"""The fitter's part of ``finkportal demo``: its address and one fit that really ran.

The example is a period fit (gatspy) of the demo's example object, the one with the most
alerts: ``POST /fits``, then ``GET /fits/{id}`` until the job has finished. The demo prints
both calls and what came of the job: the best period, or the failure kind (a night of
alerts often holds too few points of one object for a period, which is then
``bad_light_curve``: a documented answer, not a broken demo).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from finkportal_tools.demo_api import ExampleObject

FIT_MODEL = "period"
# The service's fit_timeout_s (60 s) plus time in the queue behind nothing else.
FIT_WAIT_S = 90.0
POLL_S = 0.25


@dataclass(frozen=True)
class FitOutcome:
    """What became of the example fit: its job id (when one was made) and a summary."""

    job_id: str | None
    summary: str


def fit_body(object_id: str) -> dict[str, Any]:
    return {"objectId": object_id, "model": FIT_MODEL}


def post_fit(base_url: str, body: dict[str, Any]) -> dict[str, Any]:
    """The answer of ``POST /fits`` (raises HTTPError with the service's text on 4xx/5xx)."""
    request = urllib.request.Request(
        f"{base_url}/fits", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.load(response)
    return answer


def get_job(base_url: str, job_id: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base_url}/fits/{job_id}", timeout=30) as response:
        answer: dict[str, Any] = json.load(response)
    return answer


def wait_finished(base_url: str, job: dict[str, Any], stop: threading.Event,
                  timeout_s: float = FIT_WAIT_S) -> dict[str, Any]:
    """Poll the job until it is done or failed (or the timeout, or a stop); its last state."""
    deadline = time.monotonic() + timeout_s
    while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
        if stop.wait(POLL_S):
            break
        job = get_job(base_url, job["id"])
    return job


def job_summary(job: dict[str, Any]) -> str:
    """``done: best period 0.5012 d``, ``failed: <kind> (<message>)`` or the status reached."""
    if job["status"] == "done":
        period = job["result"].get("best_period")  # None if it was not finite
        return f"done: best period {period:.6g} d" if period is not None else "done"
    if job["status"] == "failed":
        error = job["error"]
        return f"failed: {error['kind']} ({error['message']})"
    return f"still {job['status']} after {FIT_WAIT_S:g} s"


def example_fit(base_url: str, object_id: str, stop: threading.Event) -> FitOutcome:
    """Run the example fit once; never raises (the demo shows what went wrong instead)."""
    try:
        job = post_fit(base_url, fit_body(object_id))
        job = wait_finished(base_url, job, stop)
    except urllib.error.HTTPError as error:
        return FitOutcome(None, f"HTTP {error.code}: "
                                f"{error.read().decode(errors='replace')[:200]}")
    except (OSError, ValueError, KeyError) as error:
        return FitOutcome(None, f"failed: {error!r}")
    return FitOutcome(str(job["id"]), job_summary(job))


def fitter_lines(base_url: str, example: ExampleObject | None,
                 stop: threading.Event) -> str:
    """The fitter's part of "where to look": its addresses and the example fit."""
    lines = [f"  fitter:                  {base_url}/fits   (docs/fitter.md)",
             f"    health, metrics:       {base_url}/health   {base_url}/metrics"]
    if example is None:
        return "\n".join([*lines, "    (no alert stored: no example fit)"])
    outcome = example_fit(base_url, example.object_id, stop)
    body = json.dumps(fit_body(example.object_id))
    lines += [f"    example fit, a {FIT_MODEL} of {example.object_id} "
              f"({example.alerts} alerts):",
              f"      curl -s -XPOST {base_url}/fits -H 'Content-Type: application/json' "
              f"-d '{body}'"]
    if outcome.job_id is not None:
        lines.append(f"      curl -s '{base_url}/fits/{outcome.job_id}'")
    lines.append(f"        -> {outcome.summary}")
    return "\n".join(lines)
