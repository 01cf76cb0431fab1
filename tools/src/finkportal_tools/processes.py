"""Start service processes with their own logs, and stop every one of them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ServiceSpec:
    """How to run one service: its module (``python -m``) and its environment."""

    name: str
    module: str
    env: dict[str, str] = field(default_factory=dict)


class Supervisor:
    """Owns the child processes of the demo; stops them in reverse start order."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self._children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, spec: ServiceSpec) -> subprocess.Popen[bytes]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{spec.name}.log", "ab")  # noqa: SIM115 - child owns it
        process = subprocess.Popen(
            [sys.executable, "-m", spec.module], env={**os.environ, **spec.env},
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self._children.append((spec.name, process))
        return process

    def dead(self) -> list[tuple[str, int]]:
        """Services that exited, with their exit codes."""
        return [(name, p.returncode) for name, p in self._children if p.poll() is not None]

    def stop_all(self, timeout_s: float = 20.0) -> None:
        for _, process in reversed(self._children):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for _, process in reversed(self._children):
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._children.clear()
