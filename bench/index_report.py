"""The index section of docs/benchmarks.md and the table printed by ``make bench-index``."""

from __future__ import annotations

from typing import Any


def _cores(used: dict[str, float]) -> str:
    return ", ".join(f"{name} {share}" for name, share in used.items())


def latency_rows(lat: dict[str, Any], goal_ms: float) -> list[tuple[str, str]]:
    """Rows of one latency run at one produce rate."""
    index, stream, rate = lat["index"], lat["stream"], f"{lat['rate_target']:.0f}/s"
    return [
        (f"**{rate}**: produce rate achieved", f"{lat['rate_achieved']} alerts/s"),
        (f"{rate}: alert produced -> its index row readable, p50 / **p99** / max",
         f"{index['p50_ms']} / **{index['p99_ms']}** / {index['max_ms']} ms"),
        (f"{rate}: index rows seen / alerts produced", f"{index['seen']} / {index['expected']}"),
        (f"{rate}: index p99 per quarter of the run (rising = falling behind)",
         " / ".join(f"{v}" for v in index["p99_by_quarter_ms"]) + " ms"),
        (f"{rate}: alert produced -> arrival on `fink_all_classified_ztf`, p50 / **p99** / max",
         f"{stream['p50_ms']} / **{stream['p99_ms']}** / {stream['max_ms']} ms"),
        (f"{rate}: classified alerts received / expected",
         f"{stream['seen']} / {stream['expected']}"),
        (f"{rate}: stream p99 per quarter of the run",
         " / ".join(f"{v}" for v in stream["p99_by_quarter_ms"]) + " ms"),
        (f"{rate}: cores used while producing", _cores(lat["cores_used"])),
        (f"{rate}: **both p99 < {goal_ms:.0f} ms**",
         "**met**" if lat["goal_met"] else "**not met**"),
    ]


def index_table(r: dict[str, Any]) -> str:
    """The measured numbers as a Markdown table (printed, and in the docs section)."""
    thr = r["throughput_run"]
    rows = latency_rows(r["latency_run"], r["goal_p99_ms"])
    if r.get("latency_run_low_rate"):
        rows += latency_rows(r["latency_run_low_rate"], r["goal_p99_ms"])
    rows += [
        ("**indexer throughput per CPU-second, live streams on**",
         f"**{r['index_alerts_per_s_per_core']} alerts/s**"),
        ("indexer throughput per CPU-second, live streams off",
         f"{r['index_alerts_per_s_per_core_no_streams']} alerts/s"),
        ("indexer wall-clock rate of the one process, streams on / off",
         f"{r['index_alerts_per_s_one_process']} / "
         f"{r['index_alerts_per_s_one_process_no_streams']} alerts/s"),
        ("backlog alerts timed (after the first batch), streams on / off",
         f"{thr['streams']['alerts']:.0f} / {thr['no_streams']['alerts']:.0f}"),
    ]
    lines = ["| measure | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)


def _capacity(r: dict[str, Any]) -> str:
    """What the goal's rate costs in cores, from the measured per-core rates."""
    lat = r["latency_run"]
    rate, used = lat["rate_target"], lat["cores_used"]
    streams = rate / r["index_alerts_per_s_per_core"]
    plain = rate / r["index_alerts_per_s_per_core_no_streams"]
    return (
        f"At {rate:.0f} alerts/s the indexer alone needs {streams:.2f} cores with live streams "
        f"on ({plain:.2f} with streams off); while producing at that rate the processes used "
        f"{sum(used.values()):.2f} cores in all ({_cores(used)})."
    )


def _indexers(r: dict[str, Any]) -> str:
    if r.get("split", False):
        return ("two indexer processes in the latency runs (one index-only, one streams-only: "
                "`docs/indexer.md`, Scaling)")
    return "one indexer process (index and streams)"


def index_markdown(r: dict[str, Any]) -> str:
    lat, thr = r["latency_run"], r["throughput_run"]
    verdict = "met" if r["goal_met"] else "**not met**"
    loop = r["reference_loop_cpu_s"]
    return f"""## Indexer (`make bench-index`)

{r['date']}, {r['machine']}. The embedded Tansu broker, one ingest process and
{_indexers(r)} on a fresh embedded SQLite store, all on this machine with the benchmark itself.
Goal: p99 < {r['goal_p99_ms']:.0f} ms from an alert produced to its index rows readable and to
its arrival on a live stream, at {lat['rate_target']:.0f} alerts/s: {verdict} on this machine.

{index_table(r)}

{_capacity(r)}

How it was measured:

- **Latency.** Synthetic alerts (three gzipped FITS cutouts, up to 30 days of history,
  Fink added values, so {lat['stream']['expected']} of {lat['alerts']} are classified and go
  to `fink_all_classified_ztf`) are built before any clock starts, then produced to a
  nightly topic at a steady rate by wall clock, after a warm-up that is not counted (group
  joins, caches); the lower rate runs first, then the goal's rate. An alert's clock starts
  when it is handed to the producer, so the latency covers the whole path: broker, ingest
  (decode, store, publish the index record), the indexer (index rows, then the live
  stream) and the broker again. (a) A thread of the benchmark reads the `ztf_index_time`
  rows of the oldest pending alerts every 10 ms (`get_many` on the store; rows become
  readable in produce order) and notes when each first appears. (b) A consumer of
  `fink_all_classified_ztf`, in its group before producing starts and with
  `fetch.wait.max.ms=10` (so that its own fetches add no wait), notes when each message
  arrives; messages are decoded after the run. Ingest and the indexer run with
  `BATCH_TIMEOUT_S=0.1`; their loops take whatever is buffered first, so under load the
  timeout adds nothing. "Cores used" is CPU time (all threads) per wall-clock second.
- **Throughput.** With the indexer stopped, ingest stores a backlog of {thr['backlog']}
  alerts of another night; a fresh indexer then indexes it (index rows, object-night
  cells and summaries, statistics marks, live streams: the full alert read back from the
  store, encoded in Fink's form and sent to every matching topic). "Per CPU-second" divides
  the alerts by the CPU time (user + system, all threads) of the indexer process from its
  first counted batch to the last. The run without streams
  (`FINK_INDEXER_STREAMS_ENABLED=false`) indexes the same records again on a new consumer
  group, so it overwrites existing rows.
- The broker, ingest, the indexer and the benchmark share the machine's cores. A fixed
  pure-Python loop took {loop['before']} s of CPU before the run and {loop['after']} s after:
  compare it between runs, as a busy or oversubscribed host makes the same work slower.
"""
