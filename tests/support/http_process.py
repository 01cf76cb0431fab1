"""Service processes started by tests: wait until /health answers, stop with SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable

import httpx


def wait_http_healthy(process: subprocess.Popen[bytes], health_url: str,
                      log: Callable[[], str], name: str, timeout_s: float = 60) -> None:
    """Return once ``health_url`` answers 200; AssertionError with the log's end if the
    process exits or the time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{name} exited:\n{log()[-3000:]}")
        try:
            if httpx.get(health_url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{name} not healthy:\n{log()[-3000:]}")


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = 30) -> int:
    """SIGTERM, then the exit code (killed, and -9, if it hangs)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()
