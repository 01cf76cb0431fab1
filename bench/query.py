"""Query service benchmark: latency of the public API on a million stored alerts.

1. dataset (cached in var/bench/query-store, see :mod:`bench.query_data`): synthetic
   nights stored through the storage interface with ingest's and the indexer's code;
2. the real service (``python -m finkportal_query``) on that store, HTTP on loopback;
3. sequential runs, one persistent connection, warm-up excluded: ``objects`` with
   cutouts of stored objects (interleaved with the raw store read of the same rows, the
   reference every endpoint is compared with), the same by POST, ``conesearch`` of
   5 arcsec / 1 arcmin / 1 degree around stored alerts, ``latests`` n=100 over every
   class present; each answer is checked against the dataset's catalogue;
4. 50 concurrent clients (threads, one connection each) on a mix of those requests.

Writes bench/results/query.json and the query section of docs/benchmarks.md.

Usage: python -m bench.query [--alerts 1000000] [--nights 5] [--cutout-every 10]
       python -m bench.query --build-only        (build or check the cached dataset)
       python -m bench.query --render            (rewrite the docs section from the results)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.index import machine
from bench.query_data import CUTOUT_BYTES, DatasetParams, build_dataset, load_catalogue
from bench.query_load import (
    QueryServer,
    concurrent_run,
    objects_against_raw,
    sequential_run,
)
from bench.query_targets import Targets
from bench.report import write_section
from finkportal_core.storage import open_store

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "query.json"
CONES = {"cone_5arcsec": 5.0, "cone_1arcmin": 60.0, "cone_1deg": 3600.0}
# The goals, p99 in ms.
GOALS_MS = {"objects": 30.0, "cone_5arcsec": 20.0, "cone_1arcmin": 50.0, "cone_1deg": 300.0,
            "latests": 50.0}
LABELS = {"objects": "`objects` withcutouts, GET", "objects_post": "`objects` withcutouts, POST",
          "cone_5arcsec": "`conesearch` 5″", "cone_1arcmin": "`conesearch` 1′",
          "cone_1deg": "`conesearch` 1°", "latests": "`latests` n=100",
          "raw_read": "raw store read (main-table scan of the object, cutouts included)"}


def run_latencies(server: QueryServer, targets: Targets, store_dir: Path,
                  args: argparse.Namespace) -> dict[str, Any]:
    """Every sequential run, in a fixed order (objects first: the coldest cache)."""
    runs: dict[str, Any] = {}
    warm, measured = targets.object_requests(args.warmup, args.objects, post=False)
    store = open_store(f"sqlite:{store_dir}")
    try:
        runs.update(objects_against_raw(server.port, store, warm, measured,
                                        targets.alert_count))
    finally:
        store.close()
    warm, measured = targets.object_requests(args.warmup, args.posts, post=True)
    runs["objects_post"] = sequential_run(server.port, [r for _, r in warm],
                                          [r for _, r in measured], "objects (POST)")
    for name, radius in CONES.items():
        warm_cones, cones = targets.cone_requests(radius, args.warmup, args.cones)
        runs[name] = sequential_run(server.port, warm_cones, cones, name)
    warm_latests, latests = targets.latests_requests(args.latests_n, args.warmup, args.latests)
    runs["latests"] = sequential_run(server.port, warm_latests, latests, "latests")
    return runs


def run_concurrent(server: QueryServer, targets: Targets,
                   args: argparse.Namespace) -> dict[str, Any]:
    """A mix of every measured kind, spread evenly over the clients' starting points."""
    mix = targets.mixed_requests(args.latests_n, per_kind=200)
    print(f"{args.clients} concurrent clients for {args.concurrent_seconds:.0f} s",
          file=sys.stderr)
    result = concurrent_run(server.port, mix, args.clients, args.concurrent_seconds)
    print(f"concurrent: {result['requests_per_s']} req/s, {result['errors']} errors, "
          f"{result['wrong']} wrong", file=sys.stderr)
    return result


def server_env(args: argparse.Namespace) -> dict[str, str]:
    env = {"WORKERS": str(args.server_workers)}
    for item in args.server_env:
        key, _, value = item.partition("=")
        env[key.removeprefix("FINK_QUERY_")] = value
    return env


def run(args: argparse.Namespace, params: DatasetParams, dataset: dict[str, Any]
        ) -> dict[str, Any]:
    store_dir = Path(args.store)
    catalogue = load_catalogue(store_dir, dataset["nights"])
    targets = Targets(catalogue, args.seed)
    (ROOT / "var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "var") as tmp:
        server = QueryServer(store_dir, server_env(args), Path(tmp) / "query.log")
        try:
            ready_s = server.wait_healthy()
            cpu_before, _ = server.usage()
            began = time.perf_counter()
            runs = run_latencies(server, targets, store_dir, args)
            cpu_mid, _ = server.usage()
            sequential_s = time.perf_counter() - began
            concurrent = run_concurrent(server, targets, args)
            cpu_after, rss = server.usage()
            log_tail = Path(tmp, "query.log").read_text(errors="replace")[-2000:]
        finally:
            server.stop()
    return {"runs": runs, "concurrent": concurrent,
            "server": {"env": server_env(args), "ready_s": round(ready_s, 1),
                       "rss_mb_after": round(rss, 1),
                       "cpu_s_sequential": round(cpu_mid - cpu_before, 1),
                       "sequential_wall_s": round(sequential_s, 1),
                       "cpu_s_concurrent": round(cpu_after - cpu_mid, 1),
                       "log_tail": log_tail.strip()[-600:]}}


def ratio(value: float | None, reference: float | None) -> float | None:
    return round(value / reference, 2) if value and reference else None


def summarise(raw: dict[str, Any], dataset: dict[str, Any], params: DatasetParams,
              args: argparse.Namespace) -> dict[str, Any]:
    runs, concurrent = raw["runs"], raw["concurrent"]
    reference = runs["raw_read"]
    result: dict[str, Any] = {}
    for name in ("objects", "objects_post", *CONES, "latests", "raw_read"):
        result[f"{name}_p50_ms"] = runs[name].get("p50_ms")
        result[f"{name}_p99_ms"] = runs[name].get("p99_ms")
    result["concurrent_errors"] = concurrent["errors"]
    result["ratios_to_raw_read"] = {
        name: {"p50": ratio(runs[name].get("p50_ms"), reference.get("p50_ms")),
               "p99": ratio(runs[name].get("p99_ms"), reference.get("p99_ms"))}
        for name in ("objects", "objects_post", *CONES, "latests")}
    wrong = sum(run["wrong"] + run["errors"] for run in runs.values())
    result["wrong_or_failed_answers"] = wrong + concurrent["wrong"]
    result["goals_ms"] = GOALS_MS
    result["goals_met"] = {
        name: bool(runs[name].get("p99_ms") is not None and runs[name]["p99_ms"] < goal
                   and runs[name]["wrong"] == 0 and runs[name]["errors"] == 0)
        for name, goal in GOALS_MS.items()}
    result["goals_met"]["concurrent"] = concurrent["errors"] == 0 and concurrent["wrong"] == 0
    facts = {k: v for k, v in dataset.items() if k != "params"}
    facts["disk_free_bytes"] = shutil.disk_usage(args.store).free
    result.update({
        "full_scale": params.alerts >= 1_000_000,
        "dataset": {"params": dataset["params"], **facts},
        "runs": runs, "concurrent": concurrent, "server": raw["server"],
        "requests": {"warmup": args.warmup, "objects": args.objects, "posts": args.posts,
                     "cones": args.cones, "latests": args.latests, "latests_n": args.latests_n,
                     "clients": args.clients, "concurrent_s": args.concurrent_seconds,
                     "seed": args.seed},
        "machine": machine(), "date": time.strftime("%Y-%m-%d"),
    })
    return result


def _cell(value: Any, unit: str = "") -> str:
    return "–" if value is None else f"{value}{unit}"


def _run_row(r: dict[str, Any], name: str) -> str:
    run, goal = r["runs"][name], GOALS_MS.get(name)
    ratios = r["ratios_to_raw_read"].get(name, {})
    met = "" if goal is None else ("**met**" if r["goals_met"][name] else "**not met**")
    versus = "1 (reference)" if name == "raw_read" else \
        f"{_cell(ratios.get('p50'))} / {_cell(ratios.get('p99'))}"
    return (f"| {LABELS[name]} | {run['count']} | {_cell(run.get('p50_ms'))} | "
            f"**{_cell(run.get('p99_ms'))}** | {versus} | {run['errors']} / {run['wrong']} | "
            f"{'–' if goal is None else f'< {goal:g} ms'} | {met} |")


def query_table(r: dict[str, Any]) -> str:
    """The measured numbers as Markdown tables (printed, and in the docs section)."""
    lines = ["| request | requests timed | p50 ms | p99 ms | p50 / p99 ÷ raw read | "
             "errors / wrong answers | goal (p99) | |", "|---|---|---|---|---|---|---|---|"]
    lines += [_run_row(r, name) for name in ("objects", "objects_post", *CONES, "latests",
                                             "raw_read")]
    c = r["concurrent"]
    lines += ["", "| concurrent load | value |", "|---|---|",
              f"| clients, duration | {c['clients']}, {c['seconds']} s |",
              f"| requests (mix of the five measured kinds) | {c['requests']} "
              f"({c['requests_per_s']}/s) |",
              f"| latency under load, p50 / p99 | {_cell(c.get('p50_ms'))} / "
              f"{_cell(c.get('p99_ms'))} ms |",
              f"| **errors** (non-2xx or exception; goal 0) | **{c['errors']}** "
              f"({'met' if r['goals_met']['concurrent'] else 'not met'}) |",
              f"| wrong answers among those checked (1 in 10) | {c['wrong']} |"]
    return "\n".join(lines)


def _dataset_text(r: dict[str, Any]) -> str:
    d, p = r["dataset"], r["dataset"]["params"]
    gb, alerts = d["disk_bytes"] / 1e9, max(d["alerts"], 1)
    share = 100.0 * d["cutout_alerts"] / alerts
    all_cutouts_gb = gb + (d["alerts"] - d["cutout_alerts"]) * CUTOUT_BYTES / 1e9
    available_gb = gb + d["disk_free_bytes"] / 1e9
    fits = "would fit in" if all_cutouts_gb < available_gb else "would not fit in"
    load = d["load_s"]
    return (f"{d['alerts']:,} synthetic alerts ({d['objects']:,} objects) over {p['nights']} "
            f"nights from {p['first_night']}, stored through the storage interface by ingest's "
            f"`AlertSink` and indexed by the indexer's `IndexWriter` (then statistics "
            f"recounted): loaded in {load / 60:.1f} min ({d['alerts'] / load:.0f} alerts/s, "
            f"sharing the machine), {gb:.1f} GB on disk ({gb * 1e6 / alerts:.0f} KB per "
            f"alert). Cutouts are stored for the alerts of every {p['cutout_every']}th "
            f"exposure ({d['cutout_alerts']:,} alerts, {share:.1f} %), the others without "
            f"(null stamps): with every alert's cutouts (~{CUTOUT_BYTES / 1e3:.0f} KB each on "
            f"disk) the store would take ~{all_cutouts_gb:.0f} GB, which {fits} the "
            f"{available_gb:.0f} GB this disk had for it. `objects` targets are objects with "
            f"at least one alert stored with cutouts.{_skipped_text(d)}")


def _skipped_text(d: dict[str, Any]) -> str:
    if not d.get("skipped"):
        return ""
    why = "; ".join(d.get("skipped_examples", [])[:2])
    return (f" {d['skipped']} stored alert(s) were refused by the indexer's record checks, as "
            f"in production{f' ({why})' if why else ''}; they are in no index and no target.")


def _server_text(server: dict[str, Any]) -> str:
    return ", ".join(f"`FINK_QUERY_{key}={value}`" for key, value in server["env"].items())


def query_markdown(r: dict[str, Any]) -> str:
    server = r["server"]
    met = [name for name, ok in r["goals_met"].items() if ok]
    scale = "" if r["full_scale"] else (
        f"**Small-scale run ({r['dataset']['alerts']:,} alerts, not the issue's 1,000,000): "
        "these numbers do not measure the goals.**\n\n")
    return f"""## Query service (`make bench-query`)

{scale}{r['date']}, {r['machine']}. {_dataset_text(r)}

The service runs as `python -m finkportal_query` ({_server_text(server)}, other settings
default) on that store; the load generator runs on the same two cores, over loopback. Goals
met: {len(met)} of {len(r['goals_met'])} ({', '.join(met) or 'none'}).

{query_table(r)}

Sequential runs use one keep-alive connection; a request is timed from sending it to the
last byte of its body, after {r['requests']['warmup']} unmeasured requests per kind. Targets
are drawn with a fixed seed from the stored alerts: objects with cutouts, cones centred on
stored alerts (a new sample per radius), `latests` cycling over the
{len(r['dataset']['classes'])} classes present. The raw read is
`store.table("ztf_alerts").scan(row_prefix=b"<objectId>_")` of the same objects in the
same process run, alternating with the API call which one goes first; the ratio columns
divide each endpoint's p50 and p99 by the raw read's. Every answer is checked against the
dataset (rows and stamps of the object; every object inside the cone and none outside;
the class's newest alerts), so a wrong answer counts against its goal. The concurrent run
gives each of the {r['concurrent']['clients']} threads its own connection, cycling through
objects, the three cones and `latests`. Server CPU: {server['cpu_s_sequential']} s over
{server['sequential_wall_s']} s of sequential runs, {server['cpu_s_concurrent']} s in the
concurrent run; RSS {server['rss_mb_after']} MB after it.
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--nights", type=int, default=5, help="nights the alerts spread over")
    parser.add_argument("--cutout-every", type=int, default=10,
                        help="the alerts of every Nth exposure keep their cutouts (1: all)")
    parser.add_argument("--dataset-seed", type=int, default=1)
    parser.add_argument("--store", help="dataset directory (default var/bench/query-store, "
                        "or query-store-<alerts> for another size)")
    parser.add_argument("--build-workers", type=int, default=2)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached dataset")
    parser.add_argument("--build-only", action="store_true", help="build the dataset, no run")
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=200, help="objects requests by POST")
    parser.add_argument("--cones", type=int, default=500, help="requests per cone radius")
    parser.add_argument("--latests", type=int, default=500)
    parser.add_argument("--latests-n", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured requests per kind")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--concurrent-seconds", type=float, default=20.0)
    parser.add_argument("--server-workers", type=int, default=1,
                        help="FINK_QUERY_WORKERS of the service (uvicorn processes)")
    parser.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE",
                        help="another FINK_QUERY_ setting of the service (repeatable)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the target sample")
    parser.add_argument("--no-write", action="store_true", help="print only (trial runs)")
    parser.add_argument("--render", action="store_true",
                        help="only rewrite the docs section from bench/results/query.json")
    return parser.parse_args(argv)


def prepare_dataset(args: argparse.Namespace) -> tuple[DatasetParams, dict[str, Any]]:
    """The cached dataset ``args`` describe, built on first use (``args.store`` set to its
    directory); also what the portal benchmark runs on."""
    if args.store is None:
        suffix = "" if args.alerts == 1_000_000 else f"-{args.alerts}"
        args.store = str(ROOT / "var" / "bench" / f"query-store{suffix}")
    params = DatasetParams(alerts=args.alerts, nights=args.nights,
                           cutout_every=args.cutout_every, seed=args.dataset_seed)
    dataset = build_dataset(Path(args.store), params, args.build_workers, args.rebuild)
    print(f"dataset: {dataset['alerts']} alerts, {dataset['disk_bytes'] / 1e9:.1f} GB, "
          f"built in {dataset['load_s']:.0f} s", file=sys.stderr)
    return params, dataset


def main() -> None:
    args = parse_args()
    if args.render:
        write_section("query", query_markdown(json.loads(RESULTS.read_text())))
        return
    params, dataset = prepare_dataset(args)
    if args.build_only:
        return
    result = summarise(run(args, params, dataset), dataset, params, args)
    print(json.dumps(result, indent=2))
    print(query_table(result))
    if not args.no_write:
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        write_section("query", query_markdown(result))


if __name__ == "__main__":
    main()
