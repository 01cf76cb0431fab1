"""Serve a Prometheus registry over HTTP on a port the service owns and stops."""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Scrapes every few seconds would flood the logs."""


class MetricsServer:
    """``/metrics`` for one registry, in a daemon thread, closed by ``stop()``."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int):
        self._server: WSGIServer = make_server(
            host, port, make_wsgi_app(registry), handler_class=_QuietHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
