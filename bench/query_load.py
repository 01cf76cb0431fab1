"""Load generator of the query benchmark: the real service as a subprocess, HTTP on loopback.

- :class:`QueryServer` runs ``python -m finkportal_query`` on a store and waits for
  ``GET /health``;
- :class:`Client` is one keep-alive HTTP/1.1 connection (``http.client``); a request is
  timed from sending it to the last byte of the body, the body is checked afterwards
  (outside the clock) so a broken API cannot score well;
- :func:`sequential_run` times requests one after the other, after a warm-up;
- :func:`objects_against_raw` times ``objects`` and the equivalent raw store read of the
  same objects, alternating which goes first so neither always finds the other's pages
  cached;
- :func:`concurrent_run` runs N client threads for a while and counts errors.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from finkportal_core.storage import Store
from finkportal_core.tables import MAIN_TABLE, object_prefix

# What a check says about a response body: None when right, else what is wrong.
Check = Callable[[bytes], str | None]


@dataclass(frozen=True)
class Request:
    """One API request with the check of its answer."""

    kind: str
    method: str
    path: str
    body: dict[str, Any] | None
    check: Check


def get_request(kind: str, endpoint: str, params: dict[str, Any], check: Check) -> Request:
    query = urllib.parse.urlencode(params)
    return Request(kind, "GET", f"/api/v1/{endpoint}?{query}", None, check)


def post_request(kind: str, endpoint: str, params: dict[str, Any], check: Check) -> Request:
    return Request(kind, "POST", f"/api/v1/{endpoint}", params, check)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class QueryServer:
    """The query service on ``store_dir``, started with ``env`` (FINK_QUERY_* suffixes)."""

    def __init__(self, store_dir: Path, env: dict[str, str], log: Path):
        self.port, self.log = free_port(), log
        settings = {"STORE_URL": f"sqlite:{store_dir}", "PORT": str(self.port),
                    "LOG_LEVEL": "WARNING", **env}
        full_env = {**os.environ, **{f"FINK_QUERY_{k}": v for k, v in settings.items()}}
        with open(log, "ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "finkportal_query"],
                                            env=full_env, stdout=out, stderr=subprocess.STDOUT)
        self.ps = psutil.Process(self.process.pid)

    def wait_healthy(self, timeout_s: float = 120.0) -> float:
        """Seconds until ``GET /health`` answers 200 (exits with the log if it never does)."""
        return wait_http_healthy(self.process, self.port, self.log, "the query service",
                                 timeout_s)

    def processes(self) -> list[psutil.Process]:
        """The server and its uvicorn worker processes, if any."""
        return [self.ps, *self.ps.children(recursive=True)]

    def usage(self) -> tuple[float, float]:
        """(CPU seconds, RSS in MB) of the server processes together."""
        cpu, rss = 0.0, 0.0
        for proc in self.processes():
            try:
                times = proc.cpu_times()
                cpu += times.user + times.system
                rss += proc.memory_info().rss / 1e6
            except psutil.NoSuchProcess:
                continue
        return cpu, rss

    def stop(self) -> None:
        stop_process(self.process)


def wait_http_healthy(process: subprocess.Popen[bytes], port: int, log: Path, name: str,
                      timeout_s: float = 120.0) -> float:
    """Seconds until the service on ``port`` answers ``GET /health`` with 200; if it exits
    or the time runs out, stops it and exits with the end of its ``log``."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s and process.poll() is None:
        try:
            if http_get(port, "/health")[0] == 200:
                return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:]
    stop_process(process)
    raise SystemExit(f"{name} did not become healthy:\n{tail}")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM; killed if it has not exited 30 s later."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def http_get(port: int, path: str) -> tuple[int, bytes]:
    """(status, body) of one GET on a connection of its own, closed after."""
    client = Client(port, timeout_s=30)
    try:
        status, body, _ = client.send(Request("get", "GET", path, None, lambda _b: None))
    finally:
        client.conn.close()
    return status, body


class Client:
    """One persistent HTTP connection to the service."""

    def __init__(self, port: int, timeout_s: float = 60.0):
        self.port, self.timeout_s = port, timeout_s
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)

    def reconnect(self) -> None:
        self.conn.close()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout_s)

    def send(self, request: Request) -> tuple[int, bytes, float]:
        """(status, body, seconds from sending to the last byte)."""
        body = None if request.body is None else json.dumps(request.body).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        start = time.perf_counter()
        self.conn.request(request.method, request.path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, data, time.perf_counter() - start


def percentiles_ms(seconds: Sequence[float]) -> dict[str, float]:
    if not seconds:
        return {"count": 0}
    ms = np.asarray(seconds) * 1000.0
    return {"count": len(ms), "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2),
            "mean_ms": round(float(ms.mean()), 2), "max_ms": round(float(ms.max()), 2)}


@dataclass
class RunResult:
    """Latencies of one kind of request, and what went wrong."""

    seconds: list[float] = field(default_factory=list)
    errors: int = 0  # non-2xx or an exception
    wrong: int = 0  # 2xx with an answer the check refused
    examples: list[str] = field(default_factory=list)
    response_bytes: int = 0

    def note(self, problem: str) -> None:
        if len(self.examples) < 5:
            self.examples.append(problem[:300])

    def summary(self) -> dict[str, Any]:
        mean_bytes = self.response_bytes / max(len(self.seconds), 1)
        return {**percentiles_ms(self.seconds), "errors": self.errors, "wrong": self.wrong,
                "mean_response_kb": round(mean_bytes / 1024, 1), "problems": self.examples}


def timed(client: Client, request: Request, result: RunResult, check: bool = True) -> None:
    """Send one request, record its latency (2xx only) and check its answer."""
    try:
        status, body, seconds = client.send(request)
    except (OSError, http.client.HTTPException) as exc:
        result.errors += 1
        result.note(f"{request.path}: {type(exc).__name__}: {exc}")
        client.reconnect()
        return
    if not 200 <= status < 300:
        result.errors += 1
        result.note(f"{request.path}: HTTP {status}: {body[:200]!r}")
        return
    result.seconds.append(seconds)
    result.response_bytes += len(body)
    problem = request.check(body) if check else None
    if problem is not None:
        result.wrong += 1
        result.note(f"{request.path}: {problem}")


def sequential_run(port: int, warmup: Sequence[Request], measured: Sequence[Request],
                   label: str) -> dict[str, Any]:
    """Warm up (not recorded), then time ``measured`` one after the other."""
    client = Client(port)
    for request in warmup:
        timed(client, request, RunResult(), check=False)
    result = RunResult()
    for request in measured:
        timed(client, request, result)
    client.conn.close()
    return announce(label, result.summary())


def announce(label: str, summary: dict[str, Any]) -> dict[str, Any]:
    print(f"{label}: {summary.get('p50_ms')} / {summary.get('p99_ms')} ms p50/p99, "
          f"{summary['errors']} errors, {summary['wrong']} wrong", file=sys.stderr)
    return summary


def raw_read(store: Store, object_id: str) -> tuple[int, float]:
    """The main-table rows of one object, every column (cutouts included): (rows, seconds)."""
    table = store.table(MAIN_TABLE)
    start = time.perf_counter()
    rows = list(table.scan(row_prefix=object_prefix(object_id)))
    return len(rows), time.perf_counter() - start


def objects_against_raw(port: int, store: Store, warmup: Sequence[tuple[str, Request]],
                        measured: Sequence[tuple[str, Request]],
                        expected_rows: Callable[[str], int]) -> dict[str, dict[str, Any]]:
    """``objects`` of each object and the raw read of its rows, in alternating order."""
    client = Client(port)
    for object_id, request in warmup:
        raw_read(store, object_id)
        timed(client, request, RunResult(), check=False)
    api, raw = RunResult(), RunResult()
    for n, (object_id, request) in enumerate(measured):
        if n % 2:
            timed(client, request, api)
        count, seconds = raw_read(store, object_id)
        raw.seconds.append(seconds)
        if count != expected_rows(object_id):
            raw.wrong += 1
            raw.note(f"{object_id}: {count} rows read, {expected_rows(object_id)} stored")
        if not n % 2:
            timed(client, request, api)
    client.conn.close()
    return {"objects": announce("objects", api.summary()),
            "raw_read": announce("raw read", raw.summary())}


def concurrent_run(port: int, requests: Sequence[Request], clients: int, seconds: float,
                   check_every: int = 10) -> dict[str, Any]:
    """``clients`` threads, each on its own connection, cycling through ``requests``
    from its own offset until ``seconds`` have passed; every ``check_every``-th answer
    of a thread is checked (checking all would take the server's CPU on a small machine)."""
    results = [RunResult() for _ in range(clients)]
    start_line = threading.Barrier(clients + 1)
    deadline: list[float] = []

    def work(index: int) -> None:
        client, result = Client(port), results[index]
        start_line.wait()
        n = index * (len(requests) // clients + 1)
        while time.perf_counter() < deadline[0]:
            timed(client, requests[n % len(requests)], result, check=n % check_every == 0)
            n += 1
        client.conn.close()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    deadline.append(time.perf_counter() + seconds)
    began = time.perf_counter()
    start_line.wait()
    for thread in threads:
        thread.join(seconds + 120)
    elapsed = time.perf_counter() - began
    merged = RunResult()
    for result in results:
        merged.seconds += result.seconds
        merged.errors += result.errors
        merged.wrong += result.wrong
        merged.response_bytes += result.response_bytes
        for example in result.examples:
            merged.note(example)
    done = len(merged.seconds) + merged.errors
    return {"clients": clients, "seconds": round(elapsed, 1), "requests": done,
            "requests_per_s": round(done / elapsed, 1), "threads_stuck":
            sum(thread.is_alive() for thread in threads), **merged.summary()}
