"""Indexer benchmark: latency to readable index rows and to a live stream, and throughput.

Starts the embedded Tansu broker, one ingest and one indexer process on a fresh SQLite
store, then:

1. latency: produces synthetic alerts (cutouts, ~30-day histories, Fink added values) to
   a nightly topic at a steady rate, 150/s for 30 s then the goal's 500/s for a minute;
   a thread polls the store for each alert's ``ztf_index_time`` row, a consumer of
   ``fink_all_classified_ztf`` notes when each classified alert arrives; both are timed
   from the moment the alert was produced;
2. throughput: with the indexer stopped, ingest stores a backlog; a fresh indexer then
   indexes it while its CPU time is measured, with live streams on, then (on a new
   consumer group, same records) with streams off.

Writes bench/results/index.json and the index section of docs/benchmarks.md.

Usage: python -m bench.index [--rate 500] [--seconds 60] [--low-rate 150] [--backlog 20000]
       python -m bench.index --render   (rewrite the docs section from the last results)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import psutil
from confluent_kafka import Consumer, TopicPartition

from bench.index_probes import (
    CpuMeter,
    IndexPoller,
    PreparedAlert,
    StreamWatcher,
    bench_producer,
    cpu_seconds,
    latencies_ms,
    latency_summary,
    p99_by_quarter,
    prepared_night,
    produce_paced,
    produce_when_room,
    reference_loop_s,
)
from bench.index_report import index_markdown, index_table
from bench.report import write_section
from finkportal_core.filters import STREAM_FILTERS, stream_topic
from finkportal_tools.broker import EmbeddedBroker
from finkportal_tools.demo import metric_total
from finkportal_tools.sim import NightConfig
from finkportal_tools.sim.parallel import encoded_night

ROOT = Path(__file__).resolve().parents[1]
TOPIC = "ztf_20240301_programid1"
INDEX_TOPIC = "finkportal_alerts_stored"
STREAM = stream_topic("all_classified")
GOAL_P99_MS = 1000.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Service:
    """One service process (``python -m <module>``) with its settings, log and metrics."""

    def __init__(self, module: str, prefix: str, env: dict[str, str], log: Path):
        self.module, self.log, self.port = module, log, free_port()
        self.env = {**os.environ, **{f"{prefix}{k}": v for k, v in env.items()},
                    f"{prefix}METRICS_PORT": str(self.port), f"{prefix}LOG_LEVEL": "WARNING"}
        with open(log, "ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", module], env=self.env,
                                            stdout=out, stderr=subprocess.STDOUT)
        self.ps = psutil.Process(self.process.pid)

    def metric(self, name: str) -> float:
        if self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise SystemExit(f"{self.module} exited early:\n{tail}")
        return metric_total(f"http://127.0.0.1:{self.port}/metrics", name)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.ps)

    def wait_metric(self, name: str, expected: float, timeout_s: float) -> float:
        deadline = time.monotonic() + timeout_s
        while (value := self.metric(name)) < expected and time.monotonic() < deadline:
            time.sleep(0.2)
        return value

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(60)


class Pipeline:
    """Names shared by the services of one benchmark run."""

    def __init__(self, bootstrap: str, tmp: Path):
        self.bootstrap, self.tmp = bootstrap, tmp
        self.store_url = f"sqlite:{tmp / 'store'}"

    def ingest(self) -> Service:
        return Service("finkportal_ingest", "FINK_INGEST_", {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, "STORE_URL": self.store_url,
            "TOPIC_PATTERN": f"^{TOPIC}$", "GROUP_ID": "bench-index-ingest",
            "INDEX_TOPIC": INDEX_TOPIC, "BATCH_TIMEOUT_S": "0.1"}, self.tmp / "ingest.log")

    def indexer(self, group: str, streams: bool = True, index: bool = True) -> Service:
        return Service("finkportal_indexer", "FINK_INDEXER_", {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, "STORE_URL": self.store_url,
            "INDEX_TOPIC": INDEX_TOPIC, "GROUP_ID": group, "BATCH_TIMEOUT_S": "0.1",
            "STREAMS_ENABLED": str(streams).lower(), "INDEX_ENABLED": str(index).lower()},
            self.tmp / f"indexer-{group}.log")


def measure_latency(pipe: Pipeline, indexer: Service, processes: dict[str, psutil.Process],
                    alerts: list[PreparedAlert], warmup: int, rate: float) -> dict[str, Any]:
    """Warm up (group joins, caches), then produce at ``rate`` and time both observers.

    The pipeline must be idle on entry (it is again on return).
    """
    watcher = StreamWatcher(pipe.bootstrap, STREAM, f"bench-index-stream-{rate:.0f}")
    join_s = watcher.join_group()
    watcher.start()
    producer = bench_producer(pipe.bootstrap)
    before = indexer.metric("indexer_alerts_indexed")
    produce_paced(producer, TOPIC, alerts[:warmup], rate, {}, None)
    if indexer.wait_metric("indexer_alerts_indexed", before + warmup, 180) < before + warmup:
        raise SystemExit("warm-up alerts were not indexed within 180 s")
    measured = alerts[warmup:]
    poller = IndexPoller(pipe.store_url)
    poller.start()
    sent: dict[int, float] = {}
    meter = CpuMeter(processes)
    print(f"latency run: {len(measured)} alerts at {rate:.0f}/s", file=sys.stderr)
    achieved = produce_paced(producer, TOPIC, measured, rate, sent, poller)
    cores = meter.shares()
    drain_s = wait_drained(poller, indexer, before + len(alerts))
    poller.stop()
    watcher.stop()
    arrivals = watcher.arrivals()
    candids = [a.candid for a in measured]
    classified = [a.candid for a in measured if a.classified]
    index_ms = latencies_ms(sent, poller.seen, candids)
    stream_ms = latencies_ms(sent, arrivals, classified)
    return {"rate_target": rate, "rate_achieved": round(achieved, 1), "alerts": len(measured),
            "index": {**latency_summary(index_ms), "seen": len(index_ms),
                      "expected": len(candids),
                      "p99_by_quarter_ms": p99_by_quarter(sent, poller.seen, candids)},
            "stream": {**latency_summary(stream_ms), "seen": len(stream_ms),
                       "expected": len(classified),
                       "p99_by_quarter_ms": p99_by_quarter(sent, arrivals, classified)},
            "cores_used": cores, "drain_s": round(drain_s, 1),
            "stream_join_s": round(join_s, 1), "index_polls": poller.polls}


def wait_drained(poller: IndexPoller, indexer: Service, total: float,
                 timeout_s: float = 120) -> float:
    """After the last produce: until every row is readable and the indexer is done."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        if poller.pending == 0 and indexer.metric("indexer_alerts_indexed") >= total:
            break
        time.sleep(0.2)
    time.sleep(2.0)  # the last stream messages are in flight after the index rows
    return time.perf_counter() - start


def index_topic_end(bootstrap: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-index-offsets"})
    try:
        return int(consumer.get_watermark_offsets(TopicPartition(INDEX_TOPIC, 0), 10)[1])
    finally:
        consumer.close()


def commit_start(bootstrap: str, group: str, offset: int) -> None:
    """Point a new consumer group at ``offset`` of the index topic (the backlog's start)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "enable.auto.commit": False})
    try:
        consumer.commit(offsets=[TopicPartition(INDEX_TOPIC, 0, offset)], asynchronous=False)
    finally:
        consumer.close()


def store_backlog(pipe: Pipeline, ingest: Service, n: int, seed: int, already: int) -> None:
    """Another night of ``n`` alerts, stored by ingest (and recorded on the index topic)."""
    producer = bench_producer(pipe.bootstrap)
    config = NightConfig(n_alerts=n, seed=seed, night=date(2024, 3, 2))
    for encoded in encoded_night(config, keep_added_values=True, workers=2):
        produce_when_room(producer, TOPIC, encoded.value, 0.05)
    producer.flush(120)
    if ingest.wait_metric("ingest_alerts_written", already + n, 600) < already + n:
        raise SystemExit("ingest did not store the backlog within 600 s")


def index_backlog(pipe: Pipeline, group: str, n: int, streams: bool) -> dict[str, float]:
    """A fresh indexer on ``n`` waiting records: wall and CPU from its first batch to the end.

    As in the ingest benchmark, start-up and the group join are excluded: the clocks
    start when the first batch is counted, and its alerts are not.
    """
    indexer = pipe.indexer(group, streams)
    start = time.perf_counter()
    first: tuple[float, float, float] | None = None
    try:
        while (done := indexer.metric("indexer_alerts_indexed")) < n:
            if first is None and done > 0:
                first = (time.perf_counter(), indexer.cpu_seconds(), done)
            if time.perf_counter() - start > 900:
                raise SystemExit(f"indexer indexed {done} of {n} within 900 s")
            time.sleep(0.05)
        end, cpu_end = time.perf_counter(), indexer.cpu_seconds()
    finally:
        indexer.stop()
    began, cpu_began, counted_from = first or (start, 0.0, 0.0)
    alerts = n - counted_from
    return {"alerts": alerts, "wall_s": round(end - began, 2),
            "cpu_s": round(cpu_end - cpu_began, 2),
            "per_core": round(alerts / (cpu_end - cpu_began), 1),
            "wall_rate": round(alerts / (end - began), 1), "join_s": round(began - start, 1)}


def broker_process() -> psutil.Process:
    """The Tansu process (a child of this one), for its CPU time."""
    for child in psutil.Process().children(recursive=True):
        if "--listener-url" in child.cmdline():
            return child
    raise SystemExit("broker process not found")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark on its own broker and store."""
    n_low = args.warmup + int(args.low_rate * args.low_seconds) if args.low_rate else 0
    n_high = args.warmup + int(args.rate * args.seconds)
    (ROOT / "var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "var") as tmp_name, \
            EmbeddedBroker(port=free_port(), log_path=Path(tmp_name) / "tansu.log") as broker:
        tmp = Path(tmp_name)
        broker.create_topics([TOPIC, INDEX_TOPIC, "finkportal_ingest_dlq",
                              "finkportal_indexer_dlq", *(f.topic for f in STREAM_FILTERS)])
        print(f"preparing {n_low + n_high} synthetic alerts", file=sys.stderr)
        alerts = prepared_night(n_low + n_high, args.seed, date(2024, 3, 1))
        pipe = Pipeline(broker.bootstrap_servers, tmp)
        ingest = pipe.ingest()
        # --split: an index-only process and a streams-only one (docs/indexer.md, Scaling).
        indexer = pipe.indexer("bench-indexer", streams=not args.split)
        streamer = pipe.indexer("bench-streamer", index=False) if args.split else None
        processes = {"ingest": ingest.ps, "indexer": indexer.ps, "broker": broker_process(),
                     "benchmark": psutil.Process()}
        if streamer is not None:
            processes["streamer"] = streamer.ps
        try:
            low = (measure_latency(pipe, indexer, processes, alerts[:n_low], args.warmup,
                                   args.low_rate) if n_low else None)
            high = measure_latency(pipe, indexer, processes, alerts[n_low:], args.warmup,
                                   args.rate)
            del alerts
            indexer.stop()
            if streamer is not None:
                streamer.stop()
            backlog_start = index_topic_end(pipe.bootstrap)
            print(f"storing a backlog of {args.backlog} alerts", file=sys.stderr)
            store_backlog(pipe, ingest, args.backlog, args.seed + 1, n_low + n_high)
            ingest.stop()
            with_streams = index_backlog(pipe, "bench-indexer", args.backlog, True)
            commit_start(pipe.bootstrap, "bench-indexer-nostreams", backlog_start)
            without = index_backlog(pipe, "bench-indexer-nostreams", args.backlog, False)
        finally:
            for service in (ingest, indexer, streamer):
                if service is not None:
                    service.stop()
    return {"latency": high, "latency_low": low, "throughput_streams": with_streams,
            "throughput_no_streams": without}


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown CPU")
    return (f"{platform.node()} {model} {os.cpu_count()} cores, "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}")


def meets_goal(latency: dict[str, Any]) -> bool:
    """Both p99 under the goal, with every alert seen (an unseen one has no latency)."""
    index, stream = latency["index"], latency["stream"]
    return bool(index["p99_ms"] < GOAL_P99_MS and stream["p99_ms"] < GOAL_P99_MS
                and index["seen"] == index["expected"] and stream["seen"] == stream["expected"])


def summarise(raw: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    latency, low = raw["latency"], raw["latency_low"]
    streams, plain = raw["throughput_streams"], raw["throughput_no_streams"]
    index, stream = latency["index"], latency["stream"]
    for run in (latency, low):
        if run is not None:
            run["goal_met"] = meets_goal(run)
    return {
        "index_alerts_per_s_per_core": streams["per_core"],
        "index_latency_p50_ms": index["p50_ms"],
        "index_latency_p99_ms": index["p99_ms"],
        "stream_latency_p50_ms": stream["p50_ms"],
        "stream_latency_p99_ms": stream["p99_ms"],
        "goal_p99_ms": GOAL_P99_MS,
        "goal_met": latency["goal_met"],
        "index_alerts_per_s_per_core_no_streams": plain["per_core"],
        "index_alerts_per_s_one_process": streams["wall_rate"],
        "index_alerts_per_s_one_process_no_streams": plain["wall_rate"],
        "latency_run": latency,
        "latency_run_low_rate": low,
        "throughput_run": {"backlog": args.backlog, "streams": streams, "no_streams": plain},
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=500.0, help="alerts/s of the latency run")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the latency run")
    parser.add_argument("--low-rate", type=float, default=150.0,
                        help="alerts/s of a shorter first run, to show a rate that holds "
                        "on this machine (0: skip)")
    parser.add_argument("--low-seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=int, default=500, help="alerts before measuring")
    parser.add_argument("--backlog", type=int, default=20_000, help="alerts of the throughput run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--split", action=argparse.BooleanOptionalAction, default=True,
                        help="latency runs with index-only and streams-only processes "
                        "(--no-split: one process doing both)")
    parser.add_argument("--no-write", action="store_true", help="print only (trial runs)")
    parser.add_argument("--render", action="store_true",
                        help="only rewrite the docs section from bench/results/index.json")
    args = parser.parse_args()
    out = ROOT / "bench" / "results" / "index.json"
    if args.render:
        write_section("index", index_markdown(json.loads(out.read_text())))
        return
    before = reference_loop_s()
    result = summarise(run(args), args)
    result["reference_loop_cpu_s"] = {"before": before, "after": reference_loop_s()}
    result["split"] = args.split
    print(json.dumps(result, indent=2))
    print(index_table(result))
    if not args.no_write:
        out.write_text(json.dumps(result, indent=2) + "\n")
        write_section("index", index_markdown(result))


if __name__ == "__main__":
    main()
