"""Portal benchmark: navigation to a fully drawn object page, a million alerts stored.

1. dataset: the query benchmark's cached store (``bench.query.prepare_dataset``, same
   parameters and directory, var/bench/query-store; built on first use);
2. the real query service (``python -m finkportal_query``, as ``bench.query``) on it and
   the real portal (``python -m finkportal_portal``) reading that service, on loopback;
3. Debian's chromium, headless (:mod:`bench.portal_browser`): after a few unmeasured
   pages, each mode opens distinct objects one after the other and times navigation
   start to the drawn page (title, ``#object-ready``, light-curve markers, the three
   cutouts) on the page's clock; ``cold`` (new browser context each page), ``warm``
   (one context, full loads from the cache) and ``search`` (inside the app, via the
   search bar). The query service's and the portal's own Prometheus histograms, read
   before and after each page, give the server time spent on it.

Targets: objects whose newest alert was stored with its cutouts (the page shows that
alert's), drawn with a fixed seed, alternately among the objects with the most stored
alerts (the top decile, at least 2) and among the others; every mode its own objects.

Writes bench/results/portal.json and the portal section of docs/benchmarks.md; every
page's record goes to var/bench/portal-pages.json.

Usage: python -m bench.portal [--objects 200] [--warmup 5] [--modes cold,warm,search]
       python -m bench.portal --alerts 20000      (a small trial on its own store)
       python -m bench.portal --render            (rewrite the docs section from the results)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from playwright.sync_api import sync_playwright
from prometheus_client.parser import text_string_to_metric_families

from bench import query as query_bench
from bench.index import machine
from bench.portal_browser import Browser, PageLoad
from bench.query_data import Catalogue, load_catalogue
from bench.query_load import (
    QueryServer,
    free_port,
    http_get,
    percentiles_ms,
    stop_process,
    wait_http_healthy,
)
from bench.report import write_section

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "portal.json"
PAGES = ROOT / "var" / "bench" / "portal-pages.json"  # every page's record (not committed)
GOAL_MS = 1000.0  # the goal for the drawn object page (p99)
MODES = ("cold", "warm", "search")
HEADLINE_MODE = "cold"  # the keys object_page_p50_ms / _p99_ms: a first visit


@dataclass(frozen=True)
class Target:
    object_id: str
    alerts: int  # stored alerts of the object


def object_table(cat: Catalogue) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per object: its id, its stored alerts, whether its newest alert kept its cutouts."""
    order = np.lexsort((cat.jd, cat.object_id))
    ids = cat.object_id[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    return ids[starts], ends - starts, cat.cutouts[order][ends - 1]


def draw_targets(cat: Catalogue, count: int, seed: int) -> list[Target]:
    """``count`` distinct objects with cutouts, alternating many-alert and few-alert ones."""
    ids, alerts, with_cutouts = object_table(cat)
    many_from = max(2, int(np.percentile(alerts[with_cutouts], 90)))
    rng = np.random.default_rng(seed)
    strata = [np.flatnonzero(with_cutouts & (alerts >= many_from)),
              np.flatnonzero(with_cutouts & (alerts < many_from))]
    picks = [rng.permutation(stratum)[:count] for stratum in strata]
    mixed = [int(i) for pair in zip(*picks, strict=False) for i in pair]
    longer = picks[0] if len(picks[0]) > len(picks[1]) else picks[1]
    mixed += [int(i) for i in longer[min(map(len, picks)):]]
    if len(mixed) < count:
        raise SystemExit(f"only {len(mixed)} objects with cutouts, {count} needed")
    return [Target(ids[i].decode(), int(alerts[i])) for i in mixed[:count]]


class PortalServer:
    """``python -m finkportal_portal`` reading the query service at ``query_port``."""

    def __init__(self, query_port: int, log: Path):
        self.port, self.log = free_port(), log
        settings = {"QUERY_URL": f"http://127.0.0.1:{query_port}", "PORT": str(self.port),
                    "FITTER_URL": f"http://127.0.0.1:{free_port()}", "LOG_LEVEL": "WARNING"}
        self.env = {f"FINK_PORTAL_{key}": value for key, value in settings.items()}
        with open(log, "ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "finkportal_portal"],
                                            env={**os.environ, **self.env},
                                            stdout=out, stderr=subprocess.STDOUT)

    def wait_healthy(self, timeout_s: float = 120.0) -> float:
        """Seconds until ``GET /health`` (which asks the query service too) answers 200."""
        return wait_http_healthy(self.process, self.port, self.log, "the portal", timeout_s)

    def stop(self) -> None:
        stop_process(self.process)


def histogram_total(port: int, metric: str, keep: Callable[[dict[str, str]], bool]
                    ) -> tuple[float, float]:
    """(seconds, observations) of a service's Prometheus histogram, over the kept labels."""
    seconds = count = 0.0
    for family in text_string_to_metric_families(http_get(port, "/metrics")[1].decode()):
        for sample in family.samples if family.name == metric else []:
            if keep(sample.labels) and sample.name.endswith("_sum"):
                seconds += sample.value
            elif keep(sample.labels) and sample.name.endswith("_count"):
                count += sample.value
    return seconds, count


@dataclass(frozen=True)
class Servers:
    query_port: int
    portal_port: int

    def totals(self) -> tuple[float, float, float]:
        """(query API seconds, query API calls, portal seconds) served so far."""
        api_s, calls = histogram_total(self.query_port, "query_request_seconds",
                                       lambda labels: labels["endpoint"].startswith("/api/"))
        portal_s, _ = histogram_total(self.portal_port, "portal_request_seconds",
                                      lambda labels: labels["route"] not in ("metrics", "health"))
        return api_s, calls, portal_s


def measure(browser: Browser, servers: Servers, mode: str, target: Target) -> dict[str, Any]:
    """One page of ``mode``, with the servers' time spent while it loaded."""
    before = servers.totals()
    load: PageLoad = getattr(browser, mode)(target.object_id)
    after = servers.totals()
    api_s, calls, portal_s = (b - a for a, b in zip(before, after, strict=True))
    return {**asdict(load), "alerts": target.alerts, "api_ms": round(api_s * 1000, 1),
            "api_calls": int(calls), "portal_ms": round(portal_s * 1000, 1)}


def run_mode(browser: Browser, servers: Servers, mode: str, targets: list[Target],
             warmup: int) -> list[dict[str, Any]]:
    for target in targets[:warmup]:
        measure(browser, servers, mode, target)
    pages = []
    for n, target in enumerate(targets[warmup:], 1):
        pages.append(measure(browser, servers, mode, target))
        if n % 50 == 0:
            print(f"{mode}: {n}/{len(targets) - warmup} pages", file=sys.stderr)
    return pages


def run(args: argparse.Namespace, store_dir: Path, targets: dict[str, list[Target]]
        ) -> dict[str, Any]:
    """Both services up, then every mode in turn in one headless chromium."""
    (ROOT / "var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "var") as tmp:
        query = QueryServer(store_dir, {"WORKERS": "1"}, Path(tmp) / "query.log")
        portal: PortalServer | None = None
        try:
            query.wait_healthy()
            portal = PortalServer(query.port, Path(tmp) / "portal.log")
            portal.wait_healthy()
            servers = Servers(query.port, portal.port)
            with sync_playwright() as playwright:
                browser = Browser(playwright, f"http://127.0.0.1:{portal.port}", args.timeout_s)
                try:
                    pages, load = {}, {}
                    for mode in args.modes:
                        pages[mode] = run_mode(browser, servers, mode, targets[mode], args.warmup)
                        load[mode] = round(os.getloadavg()[0], 2)  # was anyone else busy?
                    version, refused = browser.version, browser.refused
                finally:
                    browser.close()
        finally:
            if portal is not None:
                portal.stop()
            query.stop()
    return {"pages": pages, "load_1min_after": load, "chromium": version,
            "refused_requests": len(refused),
            "refused_examples": sorted(set(refused))[:5]}


def _ms(values: list[float]) -> dict[str, float]:
    """p50/p99/mean/max of values already in ms (``percentiles_ms`` takes seconds)."""
    return percentiles_ms([v / 1000 for v in values])


def mode_summary(pages: list[dict[str, Any]]) -> dict[str, Any]:
    drawn = [p for p in pages if p["error"] is None]
    fcp = [p["fcp_ms"] for p in drawn if p["fcp_ms"] is not None]
    total_ms = sum(p["drawn_ms"] for p in drawn)
    return {"drawn": _ms([p["drawn_ms"] for p in drawn]),
            "wall": _ms([p["wall_ms"] for p in drawn]),
            "shell_first_paint": _ms(fcp) if fcp else None,
            "api_share": round(sum(p["api_ms"] for p in drawn) / total_ms, 3) if drawn else None,
            "callbacks_answered": _ms([p["extra"]["callbacks_end_ms"] for p in drawn]),
            "api_ms": _ms([p["api_ms"] for p in drawn]),
            "api_calls_per_page": float(np.mean([p["api_calls"] for p in drawn] or [0])),
            "portal_share": round(sum(p["portal_ms"] for p in drawn) / total_ms, 3)
            if drawn else None,
            "transfer_kb_p50": float(np.median([p["transfer_kb"] for p in drawn] or [0])),
            "points": [min((p["points"] for p in drawn), default=0),
                       max((p["points"] for p in drawn), default=0)],
            "by_stored_alerts": {str(k): _ms([p["drawn_ms"] for p in drawn if p["alerts"] == k])
                                 for k in sorted({p["alerts"] for p in drawn})},
            "failed": len(pages) - len(drawn),
            "failures": [f"{p['object_id']}: {p['error']}" for p in pages if p["error"]][:5]}


def summarise(raw: dict[str, Any], dataset: dict[str, Any], args: argparse.Namespace
              ) -> dict[str, Any]:
    modes = {mode: {**mode_summary(pages), "load_1min_after": raw["load_1min_after"][mode]}
             for mode, pages in raw["pages"].items()}
    head = modes.get(HEADLINE_MODE) or next(iter(modes.values()))
    goal_met = {mode: bool(s["drawn"].get("p99_ms", GOAL_MS) < GOAL_MS and not s["failed"])
                for mode, s in modes.items()}
    return {
        "object_page_p50_ms": head["drawn"].get("p50_ms"),
        "object_page_p99_ms": head["drawn"].get("p99_ms"),
        "object_page_max_ms": head["drawn"].get("max_ms"),
        "headline_mode": HEADLINE_MODE, "goal_ms": GOAL_MS, "goal_met": goal_met,
        "modes": modes, "full_scale": dataset["alerts"] >= 1_000_000,
        "dataset": {"alerts": dataset["alerts"], "objects": dataset["objects"],
                    "disk_bytes": dataset["disk_bytes"], "params": dataset["params"]},
        "run": {"command": " ".join(["python -m bench.portal", *sys.argv[1:]]),
                "objects_per_mode": args.objects, "warmup_per_mode": args.warmup,
                "seed": args.seed, "timeout_s": args.timeout_s, "chromium": raw["chromium"],
                "refused_requests": raw["refused_requests"],
                "refused_examples": raw["refused_examples"], "wall_s": raw["wall_s"]},
        "machine": machine(), "date": time.strftime("%Y-%m-%d"),
    }


LABELS = {"cold": "cold: new browser context, URL", "warm": "warm: same context, URL",
          "search": "warm: search bar, inside the app"}


def _cell(value: Any, unit: str = "") -> str:
    return "–" if value is None else f"{value}{unit}"


def _mode_row(name: str, s: dict[str, Any], met: bool) -> str:
    drawn, wall, fcp = s["drawn"], s["wall"], s["shell_first_paint"] or {}
    share = None if s["api_share"] is None else f"{100 * s['api_share']:.0f} %"
    portal = None if s["portal_share"] is None else f"{100 * s['portal_share']:.0f} %"
    return (f"| {LABELS[name]} | {drawn['count']} | {_cell(drawn.get('p50_ms'))} | "
            f"**{_cell(drawn.get('p99_ms'))}** | {_cell(drawn.get('max_ms'))} | "
            f"{_cell(wall.get('p50_ms'))} / {_cell(wall.get('p99_ms'))} | "
            f"{_cell(fcp.get('p50_ms'))} | {_cell(s['callbacks_answered'].get('p50_ms'))} | "
            f"{_cell(share)} / {_cell(portal)} | "
            f"{s['transfer_kb_p50']:.0f} | {s['failed']} | "
            f"{'**met**' if met else '**not met**'} |")


def portal_table(r: dict[str, Any]) -> str:
    lines = ["| navigation | pages | p50 ms | p99 ms | max ms | wall p50 / p99 ms | "
             "shell first paint p50 ms | last callback answered p50 ms | "
             "query API / portal server time share | transferred KB p50 | failed | "
             "goal p99 < 1 s |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [_mode_row(name, s, r["goal_met"][name]) for name, s in r["modes"].items()]
    return "\n".join(lines)


def _strata_text(r: dict[str, Any]) -> str:
    mode = r["headline_mode"]
    strata = r["modes"].get(mode, {}).get("by_stored_alerts", {})
    parts = [f"{alerts} stored alert(s): {s.get('p50_ms')} / {s.get('p99_ms')} ms over "
             f"{s['count']} pages" for alerts, s in strata.items()]
    return f"By stored alerts ({mode}, p50 / p99): {'; '.join(parts)}." if parts else ""


def portal_markdown(r: dict[str, Any]) -> str:
    d, run_facts = r["dataset"], r["run"]
    points = sorted({n for s in r["modes"].values() for n in s["points"]})
    loads = ", ".join(f"{mode} {s['load_1min_after']}" for mode, s in r["modes"].items())
    scale = "" if r["full_scale"] else (
        f"**Small-scale run ({d['alerts']:,} alerts, not the issue's 1,000,000): these "
        "numbers do not measure the goal.**\n\n")
    return f"""## Portal (`make bench-portal`)

{scale}{r['date']}, {r['machine']}, headless Chromium {run_facts['chromium']} (Debian's), the
query service (`python -m finkportal_query`, `FINK_QUERY_WORKERS=1`) and the portal
(`python -m finkportal_portal`, default settings) all on these cores, over loopback. Store:
the query benchmark's {d['alerts']:,} synthetic alerts ({d['objects']:,} objects,
{d['disk_bytes'] / 1e9:.1f} GB, cutouts kept for every {d['params']['cutout_every']}th
exposure). Goal: a fully drawn object page in < 1 s (p99); headline
(`object_page_p50_ms` / `object_page_p99_ms`): **{r['object_page_p50_ms']} /
{r['object_page_p99_ms']} ms**, the {r['headline_mode']} navigation.

{portal_table(r)}

A page is timed on its own clock (`performance.now()`, from the navigation start, or from
the Search button's click for the search bar) to the first animation frame in which
`#object-title` reads the object's id, `#object-ready` reads `ready`, the light curve's
SVG holds its markers and the three cutout images have loaded; cold and warm full loads
include the HTML, Dash's and plotly's scripts (from the cache when warm) and the first
paint of the SPA shell. "Last callback answered" is when the last Dash callback answer
(the page's data, read from the query API by the portal) had arrived, by the page's
resource timings: what follows it is the browser loading scripts and drawing. Wall time
is the harness's `goto` (or click) to the wait's return.
Each mode opens {run_facts['objects_per_mode']} distinct objects after
{run_facts['warmup_per_mode']} unmeasured ones: objects whose newest alert kept its
cutouts, drawn with seed {run_facts['seed']}, alternately among those with the most stored
alerts and the others; their light curves drew {points[0]} to {points[-1]} markers
(alerts, upper limits and bad-quality points). {_strata_text(r)}
The search-bar mode goes to `/` by the navbar link, types the id (both unmeasured) and
clicks Search. Server time shares divide
the query service's and the portal's own request-time histograms (`/metrics`, read before
and after each page) by the drawn time; they overlap (the portal waits for the API) and
the rest is the browser. Non-local requests are refused ({run_facts['refused_requests']}
were asked for). The machine's 1-minute load average after each mode, for reference (the
browser, the portal and the query service alone keep both cores busy): {loads}.
The run (`{run_facts['command']}`) took {run_facts['wall_s'] / 60:.1f} min.
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=1_000_000,
                        help="size of the query benchmark's dataset to run on")
    parser.add_argument("--objects", type=int, default=200, help="measured pages per mode")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured pages per mode")
    parser.add_argument("--modes", type=lambda text: text.split(","), default=list(MODES),
                        help="comma list among " + ",".join(MODES))
    parser.add_argument("--seed", type=int, default=11, help="seed of the target sample")
    parser.add_argument("--timeout-s", type=float, default=30.0, help="per page")
    parser.add_argument("--no-write", action="store_true", help="print only (trial runs)")
    parser.add_argument("--render", action="store_true",
                        help="only rewrite the docs section from bench/results/portal.json")
    args = parser.parse_args()
    if unknown := set(args.modes) - set(MODES):
        parser.error(f"unknown modes {sorted(unknown)}")
    return args


def targets_by_mode(store_dir: Path, nights: list[str], args: argparse.Namespace
                    ) -> dict[str, list[Target]]:
    per_mode = args.warmup + args.objects
    drawn = draw_targets(load_catalogue(store_dir, nights), per_mode * len(args.modes),
                         args.seed)
    return {mode: drawn[k * per_mode:(k + 1) * per_mode] for k, mode in enumerate(args.modes)}


def main() -> None:
    args = parse_args()
    if args.render:
        write_section("portal", portal_markdown(json.loads(RESULTS.read_text())))
        return
    dataset_args = query_bench.parse_args(["--alerts", str(args.alerts)])
    _, dataset = query_bench.prepare_dataset(dataset_args)
    store_dir = Path(dataset_args.store)
    began = time.perf_counter()
    raw = run(args, store_dir, targets_by_mode(store_dir, dataset["nights"], args))
    raw["wall_s"] = round(time.perf_counter() - began, 1)
    result = summarise(raw, dataset, args)
    print(portal_table(result))
    print(json.dumps(result, indent=2))
    PAGES.parent.mkdir(parents=True, exist_ok=True)
    PAGES.write_text(json.dumps(raw["pages"], indent=1) + "\n")
    if not args.no_write:
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        write_section("portal", portal_markdown(result))


if __name__ == "__main__":
    main()
