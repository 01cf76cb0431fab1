"""The portal's Flask side, without a browser: health, metrics, thumbnails, API errors.

The query API here is either a real one-route HTTP server (a thread) or a closed port.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from finkportal_portal.app import create_app
from finkportal_portal.clients import ApiError, QueryClient
from finkportal_portal.settings import PortalSettings


class FakeQueryApi(BaseHTTPRequestHandler):
    """Answers like the query service: /health, 404 cutouts, 400 with Fink's error body."""

    def do_GET(self) -> None:
        if self.path == "/health":
            self._send(200, b'{"status": "ok"}', "application/json")
        elif self.path.startswith("/api/v1/cutouts"):
            self._send(404, b'{"status": "error", "text": "the alert has no Science cutout"}',
                       "application/json")
        elif self.path.startswith("/api/v1/objects"):
            self._send(400, b'{"status": "error", "text": "objectId is too short"}',
                       "application/json")
        else:
            self._send(200, b"not json", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeQueryApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_health_follows_the_query_api_and_liveness_does_not(api_url: str) -> None:
    up = create_app(PortalSettings(query_url=api_url)).server.test_client()
    assert up.get("/health").status_code == 200
    down = create_app(PortalSettings(query_url=closed_port_url())).server.test_client()
    answer = down.get("/health")
    assert answer.status_code == 503
    assert json.loads(answer.data)["text"] == "the query API is unreachable"
    assert down.get("/health/live").status_code == 200


def test_metrics_count_requests_by_route_kind_and_api_calls(api_url: str) -> None:
    client = create_app(PortalSettings(query_url=api_url)).server.test_client()
    client.get("/health")
    client.get("/thumb/ZTF21abfmbix.png")
    text = client.get("/metrics").data.decode()
    assert 'portal_requests_total{route="health",status="200"} 1.0' in text
    assert 'portal_requests_total{route="thumb",status="200"} 1.0' in text
    assert 'portal_api_calls_total{outcome="refused",service="query API"} 1.0' in text


def test_a_thumbnail_without_cutout_is_a_drawn_placeholder_and_an_outage_an_error(
        api_url: str) -> None:
    answer = create_app(PortalSettings(query_url=api_url)).server.test_client().get(
        "/thumb/ZTF21abfmbix.png")
    assert answer.status_code == 200
    assert answer.mimetype == "image/svg+xml"
    assert b"no cutout" in answer.data
    down = create_app(PortalSettings(query_url=closed_port_url())).server.test_client()
    failed = down.get("/thumb/ZTF21abfmbix.png")
    assert failed.status_code == 502
    assert b"unreachable" in failed.data


def test_client_errors_carry_the_apis_message_and_status(api_url: str) -> None:
    client = QueryClient(api_url, timeout_s=5)
    with pytest.raises(ApiError) as refused:
        client.objects("ZTF")
    assert refused.value.status == 400
    assert refused.value.message == "the query API answered 400: objectId is too short"
    assert client.cutout_arrays("ZTF21abfmbix") == {}  # no cutouts: nothing to draw
    with pytest.raises(ApiError, match="not JSON"):
        client.statistics()
    with pytest.raises(ApiError, match="unreachable"):
        QueryClient(closed_port_url(), timeout_s=5).classes()
