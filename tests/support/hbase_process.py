"""Run the HBase Thrift double (hbase_double.py) as a separate OS process.

A real process, as the production Thrift gateway is: the adapter talks to it over
a TCP socket only, and tests can kill it to see what clients see when it goes away.
"""

from __future__ import annotations

import selectors
import subprocess
import sys
from pathlib import Path
from types import TracebackType

DOUBLE_SCRIPT = Path(__file__).with_name("hbase_double.py")


class HBaseDoubleError(RuntimeError):
    """The double did not start."""


class HBaseDouble:
    """The double's process, listening on a free loopback port; a context manager."""

    def __init__(self, *, transport: str = "buffered", protocol: str = "binary",
                 idle_timeout_ms: int | None = None):
        self.host = "127.0.0.1"
        self.port = 0
        self.transport = transport
        self.protocol = protocol
        self._idle_timeout_ms = idle_timeout_ms
        self._process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        """The store URL of this server for ``open_store``."""
        return f"hbase://{self.host}:{self.port}?transport={self.transport}&protocol={self.protocol}"

    def start(self, timeout_s: float = 30.0) -> HBaseDouble:
        command = [sys.executable, str(DOUBLE_SCRIPT), "--host", self.host, "--port", "0",
                   "--transport", self.transport, "--protocol", self.protocol]
        if self._idle_timeout_ms is not None:
            command += ["--idle-timeout-ms", str(self._idle_timeout_ms)]
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        self.port = self._read_port(self._process, timeout_s)
        return self

    @staticmethod
    def _read_port(process: subprocess.Popen[str], timeout_s: float) -> int:
        assert process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout_s):
                process.kill()
                raise HBaseDoubleError(f"the HBase double printed no port within {timeout_s}s")
        line = process.stdout.readline().strip()
        if not line.isdigit():
            process.kill()
            raise HBaseDoubleError(f"the HBase double failed to start (printed {line!r})")
        return int(line)

    def kill(self) -> None:
        """Stop the server abruptly (SIGKILL), as a crashed gateway would."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)

    def __enter__(self) -> HBaseDouble:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.kill()
