"""The query service's part of ``finkportal demo``: wait for it, then show calls that work.

The example object is read from the store the demo's services share: the replayed object
with the most alerts, so that its light curve and its cone search are worth a look. Each
example call is made once, and its number of rows printed.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from finkportal_core.codec import decode_value
from finkportal_core.storage import open_store
from finkportal_core.storage.base import TableNotFoundError
from finkportal_core.tables import MAIN_TABLE

API_PREFIX = "/api/v1"
CONE_RADIUS_ARCSEC = 10.0


@dataclass(frozen=True)
class ExampleObject:
    object_id: str
    alerts: int
    ra: float
    dec: float


def api_base_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def is_healthy(base_url: str) -> bool:
    """``GET /health`` answers 200."""
    try:
        with urllib.request.urlopen(f"{base_url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:  # refused while starting, HTTP errors (URLError and HTTPError are OSErrors)
        return False


def wait_healthy(base_url: str, stop: threading.Event, exited: Callable[[], bool],
                 timeout_s: float = 90) -> bool:
    """Poll ``/health`` until it answers, the timeout, a stop, or the service ``exited``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not stop.is_set() and not exited():
        if is_healthy(base_url):
            return True
        stop.wait(0.5)
    return False


def example_object(store_url: str) -> ExampleObject | None:
    """The stored object with the most alerts, at the position of its latest alert."""
    store = open_store(store_url)
    try:
        rows = store.table(MAIN_TABLE).scan(columns=[b"i:ra", b"i:dec"])
        alerts: Counter[str] = Counter()
        positions: dict[str, tuple[float, float]] = {}
        for key, cells in rows:
            object_id = key.split(b"_", 1)[0].decode()
            alerts[object_id] += 1
            # Keys sort by time within an object: the last row seen is the latest alert.
            positions[object_id] = (decode_value(cells[b"i:ra"]), decode_value(cells[b"i:dec"]))
    except TableNotFoundError:
        return None
    finally:
        store.close()
    if not alerts:
        return None
    object_id, count = alerts.most_common(1)[0]
    return ExampleObject(object_id, count, *positions[object_id])


def objects_url(base_url: str, object_id: str) -> str:
    query = urllib.parse.urlencode({"objectId": object_id})
    return f"{base_url}{API_PREFIX}/objects?{query}"


def conesearch_url(base_url: str, ra: float, dec: float,
                   radius_arcsec: float = CONE_RADIUS_ARCSEC) -> str:
    query = urllib.parse.urlencode({"ra": f"{ra:.6f}", "dec": f"{dec:.6f}",
                                    "radius": f"{radius_arcsec:g}"})
    return f"{base_url}{API_PREFIX}/conesearch?{query}"


def fetch_rows(url: str) -> list[dict[str, object]]:
    """The JSON records an API call returns (raises OSError or ValueError on failure)."""
    with urllib.request.urlopen(url, timeout=30) as response:
        rows = json.load(response)
    if not isinstance(rows, list):
        raise ValueError(f"expected a list of rows, got {type(rows).__name__}")
    return rows


def rows_text(url: str) -> str:
    """``N rows``, or why the call failed: the demo shows the answer, not just the URL."""
    try:
        count = len(fetch_rows(url))
        return f"{count} row" if count == 1 else f"{count} rows"
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}: {error.read().decode(errors='replace')[:200]}"
    except (OSError, ValueError) as error:
        return f"failed: {error}"


def api_lines(base_url: str, example: ExampleObject | None) -> str:
    """The query service's part of "where to look": its addresses and two example calls."""
    lines = [f"  query API:               {base_url}{API_PREFIX}",
             f"    documentation:         {base_url}/docs",
             f"    health, metrics:       {base_url}/health   {base_url}/metrics"]
    if example is None:
        return "\n".join([*lines, "    (no alert stored: no example call)"])
    calls = [objects_url(base_url, example.object_id),
             conesearch_url(base_url, example.ra, example.dec)]
    lines.append(f"    example calls, on {example.object_id} ({example.alerts} alerts) "
                 f"and around it ({CONE_RADIUS_ARCSEC:g} arcsec):")
    lines += [f"      curl -s '{url}'\n        -> {rows_text(url)}" for url in calls]
    return "\n".join(lines)
