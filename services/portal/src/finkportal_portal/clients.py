"""HTTP clients of the query API and of the fitter: the portal's only data sources.

Both are built once at start-up (``create_app``) and closed at shutdown. Every failure comes
out as :class:`ApiError` with a message meant for the person looking at the page: the
pages show it instead of breaking.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

API = "/api/v1"


class ApiError(Exception):
    """The query API or the fitter refused a request or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class _Client:
    """An httpx client whose errors become :class:`ApiError` naming the service."""

    service = "service"

    def __init__(self, base_url: str, timeout_s: float,
                 observe: Callable[[str, str], None] | None = None) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)
        # (service, outcome) of every call, for the metrics; outcome: ok, refused, unreachable.
        self._observe = observe or (lambda _service, _outcome: None)

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            self._observe(self.service, "unreachable")
            raise ApiError(f"the {self.service} did not answer in time ({exc.__class__.__name__}); "
                           "try a narrower search or retry later") from exc
        except httpx.TransportError as exc:
            self._observe(self.service, "unreachable")
            raise ApiError(f"the {self.service} is unreachable: {exc}") from exc
        if response.status_code >= 400:
            self._observe(self.service, "refused")
            raise ApiError(f"the {self.service} answered {response.status_code}: "
                           f"{_error_text(response)}", response.status_code)
        self._observe(self.service, "ok")
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise ApiError(f"the {self.service} sent something that is not JSON") from exc


def _error_text(response: httpx.Response) -> str:
    """The ``text`` of our services' error bodies, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict) and "text" in body:
        return str(body["text"])
    return str(body)[:300]


class QueryClient(_Client):
    """The query API (``/api/v1/...``), as documented in docs/api.md."""

    service = "query API"

    def rows(self, endpoint: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """JSON rows of a table endpoint (``objects``, ``conesearch``, ``latests``...)."""
        rows = self._json("GET", f"{API}/{endpoint.removeprefix('/api/v1/').strip('/')}",
                          params=params)
        if not isinstance(rows, list):
            raise ApiError(f"the {self.service} sent {type(rows).__name__}, expected rows")
        return rows

    def objects(self, object_id: str, **params: str) -> list[dict[str, Any]]:
        return self.rows("objects", {"objectId": object_id, **params})

    def cutout_arrays(self, object_id: str, candid: int | str | None = None) -> dict[str, Any]:
        """``{"b:cutoutScience_stampData": [[...]], ...}`` of one alert (default: the latest);
        empty when the alert has no cutouts (the API's 404), which pages show as such."""
        params = {"objectId": object_id, "kind": "All", "output-format": "array"}
        if candid is not None:
            params["candid"] = str(candid)
        try:
            document = self._json("GET", f"{API}/cutouts", params=params)
        except ApiError as exc:
            if exc.status == 404:
                return {}
            raise
        return document if isinstance(document, dict) else {}

    def cutout_png(self, object_id: str, kind: str = "Science", **params: str) -> bytes:
        return self._send("GET", f"{API}/cutouts", params={
            "objectId": object_id, "kind": kind, "output-format": "PNG", **params}).content

    def download(self, object_id: str, output_format: str) -> bytes:
        """Every alert of the object in ``output_format`` (json, csv, votable, parquet)."""
        return self._send("GET", f"{API}/objects", params={
            "objectId": object_id, "output-format": output_format}).content

    def statistics(self, date: str = "") -> list[dict[str, Any]]:
        return self.rows("statistics", {"date": date})

    def classes(self) -> list[str]:
        """Fink's classes then the SIMBAD labels, as ``latests`` takes them."""
        document = self._json("GET", f"{API}/classes")
        names: list[str] = []
        for group in document.values() if isinstance(document, dict) else []:
            names.extend(str(name) for name in group)
        return names

    def health(self) -> bool:
        try:
            return self._http.get("/health").status_code == 200
        except httpx.TransportError:
            return False


class FitterClient(_Client):
    """The fitter service: ``POST /fits`` and ``GET /fits/{id}`` (docs/fitter.md)."""

    service = "fitter"

    def submit(self, object_id: str, model: str, options: dict[str, Any]) -> dict[str, Any]:
        """The job: finished at once when the cache has it, else queued."""
        job = self._json("POST", "/fits", json={"objectId": object_id, "model": model,
                                                "options": options})
        return job if isinstance(job, dict) else {}

    def job(self, job_id: str) -> dict[str, Any]:
        job = self._json("GET", f"/fits/{job_id}")
        return job if isinstance(job, dict) else {}
