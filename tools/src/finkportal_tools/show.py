"""``finkportal show``: an object's stored alerts and light curve, read from the store."""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TextIO

from finkportal_core.codec import decode_value
from finkportal_core.storage import open_store
from finkportal_core.storage.base import Store, TableNotFoundError
from finkportal_core.tables import HISTORY_TABLE, MAIN_TABLE

BAND_NAMES = {1: "g", 2: "r", 3: "i"}
ALERT_COLUMNS = [b"i:candid", b"i:jd", b"i:fid", b"i:magpsf", b"i:sigmapsf", b"i:ra", b"i:dec",
                 b"i:isdiffpos", b"i:diffmaglim", b"d:cdsxmatch", b"d:roid"]
HISTORY_COLUMNS = [b"i:jd", b"i:fid", b"i:magpsf", b"i:sigmapsf", b"i:diffmaglim", b"d:tag"]


@dataclass(frozen=True)
class Point:
    """One light-curve point: a detection, or an upper limit when ``upper`` is set."""

    jd: float
    band: str
    mag: float
    upper: bool


def _decoded(cells: dict[bytes, bytes]) -> dict[str, Any]:
    return {key.decode(): decode_value(value) for key, value in cells.items()}


def read_object(store: Store, object_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The object's alerts (main table) and history rows, oldest first."""
    prefix = f"{object_id}_".encode()
    alerts = [_decoded(c) for _, c in store.table(MAIN_TABLE).scan(row_prefix=prefix,
                                                                   columns=ALERT_COLUMNS)]
    history = [_decoded(c) for _, c in store.table(HISTORY_TABLE).scan(row_prefix=prefix,
                                                                       columns=HISTORY_COLUMNS)]
    return alerts, history


def light_curve(alerts: list[dict[str, Any]], history: list[dict[str, Any]]) -> list[Point]:
    """Alerts as detections, history non-detections as upper limits (history detections too)."""
    alert_jds = {a["i:jd"] for a in alerts}
    points = [Point(a["i:jd"], BAND_NAMES.get(a["i:fid"], "?"), a["i:magpsf"], False)
              for a in alerts if _finite(a.get("i:magpsf"))]
    for row in history:
        if row["i:jd"] in alert_jds:
            continue
        if _finite(row.get("i:magpsf")):
            points.append(Point(row["i:jd"], BAND_NAMES.get(row["i:fid"], "?"), row["i:magpsf"],
                                False))
        elif _finite(row.get("i:diffmaglim")):
            points.append(Point(row["i:jd"], BAND_NAMES.get(row["i:fid"], "?"),
                                row["i:diffmaglim"], True))
    return sorted(points, key=lambda p: p.jd)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def ascii_plot(points: list[Point], width: int = 72, height: int = 14) -> list[str]:
    """Magnitude (bright at the top) against time; upper limits drawn as 'v'."""
    if not points:
        return ["(no light-curve points)"]
    jd0, jd1 = min(p.jd for p in points), max(p.jd for p in points)
    m0, m1 = min(p.mag for p in points), max(p.mag for p in points)
    grid = [[" "] * width for _ in range(height)]
    for p in points:
        x = 0 if jd1 == jd0 else round((p.jd - jd0) / (jd1 - jd0) * (width - 1))
        y = 0 if m1 == m0 else round((p.mag - m0) / (m1 - m0) * (height - 1))
        grid[y][x] = "v" if p.upper else p.band
    lines = [f"{m0 + (m1 - m0) * i / max(height - 1, 1):6.2f} |" + "".join(row)
             for i, row in enumerate(grid)]
    lines.append(" " * 7 + "+" + "-" * width)
    lines.append(f"{'':8}JD {jd0:.4f}{'':{max(width - 32, 1)}}JD {jd1:.4f}")
    return lines


def _alert_lines(alerts: Iterable[dict[str, Any]]) -> list[str]:
    titles = ("candid", 20), ("jd", 15), ("band", 4), ("magpsf", 7), ("err", 6), ("ra", 11), \
        ("dec", 11)
    lines = [" ".join(f"{title:>{width}}" for title, width in titles)]
    for a in alerts:
        lines.append(f"{a['i:candid']:>20} {a['i:jd']:>15.7f} {BAND_NAMES.get(a['i:fid'], '?'):>4} "
                     f"{a['i:magpsf']:>7.3f} {a['i:sigmapsf']:>6.3f} {a['i:ra']:>11.6f} "
                     f"{a['i:dec']:>11.6f}")
    return lines


def show_object(store: Store, object_id: str, out: TextIO) -> int:
    """Print the report; 1 when the object has no stored alert."""
    try:
        alerts, history = read_object(store, object_id)
    except TableNotFoundError:
        print("the store has no alert table yet: has ingest run?", file=out)
        return 1
    if not alerts:
        print(f"no alert stored for {object_id}", file=out)
        return 1
    print(f"{object_id}: {len(alerts)} alert(s), {len(history)} history row(s)", file=out)
    print("\n".join(_alert_lines(alerts)), file=out)
    print("\nlight curve (g, r, i: detections; v: upper limits)", file=out)
    print("\n".join(ascii_plot(light_curve(alerts, history))), file=out)
    return 0


def add_show_parser(subparsers: Any, default_store: str) -> None:
    parser = subparsers.add_parser("show", help="print an object's stored alerts and light curve")
    parser.add_argument("object_id", help="ZTF object id, e.g. ZTF18acvqrrf")
    parser.add_argument("--store-url", default=default_store, help="store to read")
    parser.set_defaults(func=_run_show)


def _run_show(args: argparse.Namespace) -> int:
    import sys

    store = open_store(args.store_url)
    try:
        return show_object(store, args.object_id, sys.stdout)
    finally:
        store.close()
