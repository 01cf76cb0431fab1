"""The query benchmark's dataset: synthetic nights stored exactly as ingest and the indexer do.

Alerts come from :mod:`finkportal_tools.sim` (several nights, one seed each). Worker
processes build each exposure's alerts, turn them into main and history rows with
``alert_to_rows`` and write them with ingest's own :class:`AlertSink` (history first,
then the main rows); they then build each stored alert's index record from the main
cells just written (``index_record``, as ingest does before publishing it) and
classify it. This process writes the index tables with the indexer's
:class:`IndexWriter`, in exposure order, and recounts every night's statistics at the
end with the reindex code. No Kafka: what differs from production is only the
transport (the alerts are never Avro-encoded, so float fields keep the simulator's
float64 values instead of ZTF's float32).

Cutouts: the alerts of every ``cutout_every``-th exposure keep their three stamps, the
others are stored as alerts without cutouts (null ``b:`` cells, what the simulator's
``cutouts=False`` gives); the simulator makes both from the same random streams, so
only the stamps differ.

The directory holds a marker (``bench-dataset.json``) once complete, with the
parameters and facts of the build; a build with the same parameters is reused. An
interrupted build resumes at the first night not finished (rewrites are idempotent).
A per-night catalogue (``bench-catalogue-<night>.npz``: objectId, candid, jd, ra, dec,
class, cutouts) lets the benchmark draw real targets without scanning the store.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import sqlite3
import sys
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from finkportal_core.indexing.layout import ensure_index_tables
from finkportal_core.indexing.records import RecordError, index_record
from finkportal_core.storage import Store, open_store
from finkportal_core.tables import alert_to_rows, ensure_alert_tables
from finkportal_indexer.reindex import recount_all_nights
from finkportal_indexer.statistics import ensure_statistics_tables
from finkportal_indexer.writer import Classified, IndexWriter, classify
from finkportal_ingest.batch import PreparedBatch
from finkportal_ingest.errors import TransientIngestError
from finkportal_ingest.sink import AlertSink
from finkportal_tools.sim import NightConfig
from finkportal_tools.sim.night import NightSimulator

MARKER = "bench-dataset.json"
PROGRESS = "bench-progress.json"
HISTORY_CACHE_KEYS = 1_000_000  # ingest's default
# Measured (20,000 alerts over 5 nights, after a WAL checkpoint): ~48 KB per alert without
# cutouts (main row ~20 KB, history ~27 KB, index ~2 KB), ~51 KB more with cutouts.
BYTES_PER_ALERT = 48_000
CUTOUT_BYTES = 51_000
ESTIMATE_MARGIN = 1.1
DISK_MARGIN_BYTES = 5 * 2**30


@dataclass(frozen=True)
class DatasetParams:
    """Everything that decides the stored dataset (a change means a rebuild)."""

    alerts: int
    nights: int
    cutout_every: int
    seed: int
    first_night: str = "2024-03-01"
    history_days: int = 30
    version: int = 1

    def night_configs(self) -> list[NightConfig]:
        """One night per day from ``first_night``, ``alerts`` split evenly, seeds in turn."""
        start = date.fromisoformat(self.first_night)
        sizes = [self.alerts // self.nights + (k < self.alerts % self.nights)
                 for k in range(self.nights)]
        return [NightConfig(n_alerts=n, seed=self.seed + k, night=start + timedelta(days=k),
                            cutouts=False, history_days=self.history_days)
                for k, n in enumerate(sizes)]

    def keeps_cutouts(self, exposure_index: int) -> bool:
        return exposure_index % self.cutout_every == 0


@dataclass
class ExposureResult:
    """What a worker stored for one exposure."""

    classified: list[Classified]
    cutout_alerts: int = 0
    cutout_bytes: int = 0
    history_rows: int = 0
    skipped: list[str] = field(default_factory=list)


# -- worker processes --------------------------------------------------------------------


class _Worker:
    """One process's store, ingest sink and simulators (one per night and cutout choice)."""

    def __init__(self, store_url: str):
        self.store = open_store(store_url)
        self.sink = AlertSink(self.store, HISTORY_CACHE_KEYS)
        self.simulators: dict[NightConfig, NightSimulator] = {}

    def simulator(self, config: NightConfig) -> NightSimulator:
        if config not in self.simulators:
            self.simulators[config] = NightSimulator(config)
        return self.simulators[config]


_WORKER: _Worker | None = None


def _start_worker(store_url: str) -> None:
    global _WORKER
    _WORKER = _Worker(store_url)


def store_exposure(config: NightConfig, index: int, limit: int | None) -> ExposureResult:
    """Build, store (as ingest) and classify (as the indexer) one exposure's alerts."""
    assert _WORKER is not None, "worker not initialised"
    alerts = [alert for alert, _ in _WORKER.simulator(config).exposure_alerts(index)]
    rows = [alert_to_rows(alert) for alert in alerts[:limit]]
    batch = PreparedBatch(messages=[], main_rows=[main for main, _ in rows])
    for _, history in rows:
        for key, cells in history:
            batch.history_rows.setdefault(key, cells)
    result = ExposureResult([], history_rows=_write_patiently(_WORKER.sink, batch))
    for key, cells in batch.main_rows:
        try:
            result.classified.append(classify(index_record(key, cells)))
        except RecordError as exc:
            result.skipped.append(str(exc))
        if config.cutouts:
            result.cutout_alerts += 1
            result.cutout_bytes += sum(len(v) for q, v in cells.items() if q.startswith(b"b:"))
    return result


def _write_patiently(sink: AlertSink, batch: PreparedBatch, attempts: int = 5) -> int:
    """Ingest's write, retried as ingest's loop would when the store is busy (the other
    worker holds the table's lock for longer than the busy timeout)."""
    for attempt in range(1, attempts + 1):
        try:
            return sink.write(batch)
        except TransientIngestError:
            if attempt == attempts:
                raise
            time.sleep(attempt)
    raise AssertionError("unreachable")


# -- the build ---------------------------------------------------------------------------


class NightBuild:
    """Hands one night's exposures to the pool in order and indexes the results in order.

    Each exposure yields at least its planned quota of alerts, so exposures go out
    freely while the quotas in flight cannot reach the night's size; near the end the
    pool is drained and the last exposures go one at a time with an exact limit, so
    the night holds exactly the alerts ``generate_night`` would give.
    """

    def __init__(self, params: DatasetParams, config: NightConfig, pool: Any, writer: IndexWriter,
                 workers: int):
        self.params, self.config, self.pool, self.writer = params, config, pool, writer
        self.in_flight: deque[tuple[Any, int]] = deque()
        self.max_in_flight = 2 * workers
        self.stored = 0
        self.facts: Counter[str] = Counter()
        self.skipped: list[str] = []  # why the indexer refused an alert (a few)
        self.catalogue: list[tuple[Any, ...]] = []
        self.reported = time.monotonic()

    def run(self, progress: Callable[[int], None]) -> None:
        exposures = NightSimulator(self.config).exposures
        for exposure in exposures:
            if self.stored >= self.config.n_alerts:
                break
            quota_in_flight = sum(quota for _, quota in self.in_flight)
            if self.stored + quota_in_flight + exposure.quota < self.config.n_alerts:
                self._submit(exposure.index, exposure.quota, None)
                if len(self.in_flight) >= self.max_in_flight:
                    self._collect_one()
                if time.monotonic() - self.reported > 10:
                    self.reported = time.monotonic()
                    progress(self.stored)
                continue
            self._drain()
            if self.stored < self.config.n_alerts:
                self._submit(exposure.index, exposure.quota, self.config.n_alerts - self.stored)
                self._drain()
        self._drain()

    def _submit(self, index: int, quota: int, limit: int | None) -> None:
        config = replace(self.config, cutouts=self.params.keeps_cutouts(index))
        self.in_flight.append((self.pool.apply_async(store_exposure, (config, index, limit)),
                               quota))

    def _drain(self) -> None:
        while self.in_flight:
            self._collect_one()

    def _collect_one(self) -> None:
        result: ExposureResult = self.in_flight.popleft()[0].get()
        self.writer.write(result.classified)
        self.stored += len(result.classified) + len(result.skipped)
        self.facts.update(cutout_alerts=result.cutout_alerts, cutout_bytes=result.cutout_bytes,
                          history_rows=result.history_rows, skipped=len(result.skipped))
        self.skipped += result.skipped[:max(0, 5 - len(self.skipped))]
        has_cutouts = result.cutout_alerts > 0
        self.catalogue.extend((r["objectId"], r["candid"], r["jd"], r["ra"], r["dec"], cls,
                               has_cutouts) for r, cls in result.classified)


def save_catalogue(path: Path, rows: list[tuple[Any, ...]]) -> None:
    """The night's alerts as columns: what target sampling and checks need."""
    classes = sorted({row[5] for row in rows})
    code = {name: n for n, name in enumerate(classes)}
    np.savez(path, object_id=np.array([r[0] for r in rows], dtype="S16"),
             candid=np.array([r[1] for r in rows], dtype=np.int64),
             jd=np.array([r[2] for r in rows]), ra=np.array([r[3] for r in rows]),
             dec=np.array([r[4] for r in rows]),
             class_code=np.array([code[r[5]] for r in rows], dtype=np.int16),
             class_names=np.array(classes, dtype=str),
             cutouts=np.array([r[6] for r in rows], dtype=bool))


@dataclass
class Catalogue:
    """Every stored alert (columns), concatenated over the nights."""

    object_id: np.ndarray
    candid: np.ndarray
    jd: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    fink_class: np.ndarray  # str
    cutouts: np.ndarray


def load_catalogue(directory: Path, nights: list[str]) -> Catalogue:
    parts = [np.load(directory / f"bench-catalogue-{night}.npz") for night in nights]
    classes = [part["class_names"][part["class_code"]] for part in parts]
    columns = {name: np.concatenate([part[name] for part in parts])
               for name in ("object_id", "candid", "jd", "ra", "dec", "cutouts")}
    return Catalogue(fink_class=np.concatenate(classes), **columns)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        loaded = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return loaded if isinstance(loaded, dict) else None


def complete_dataset(directory: Path, params: DatasetParams) -> dict[str, Any] | None:
    """The marker of a finished build with exactly ``params``, else None."""
    marker = _read_json(directory / MARKER)
    return marker if marker is not None and marker.get("params") == asdict(params) else None


def check_disk(directory: Path, params: DatasetParams) -> int:
    """Refuse a build the disk cannot hold (with a margin for everyone else)."""
    cutout_alerts = params.alerts // params.cutout_every
    needed = int(ESTIMATE_MARGIN * (params.alerts * BYTES_PER_ALERT
                                    + cutout_alerts * CUTOUT_BYTES))
    free = shutil.disk_usage(directory).free
    if needed + DISK_MARGIN_BYTES > free:
        raise SystemExit(f"the dataset needs ~{needed / 1e9:.0f} GB and only "
                         f"{free / 1e9:.0f} GB are free (keeping {DISK_MARGIN_BYTES / 2**30:.0f} "
                         "GiB spare): use fewer --alerts or a larger --cutout-every")
    return needed


def prepare_directory(directory: Path, params: DatasetParams, rebuild: bool) -> list[str]:
    """Nights already stored by an interrupted build with these params (else start clean).

    A dataset of other parameters is only replaced on ``rebuild``: it took long to build.
    """
    progress = _read_json(directory / PROGRESS)
    if not rebuild and progress is not None and progress.get("params") == asdict(params):
        return list(progress["nights_done"])
    if directory.exists() and any(directory.iterdir()):
        if progress is None and not (directory / MARKER).exists():
            raise SystemExit(f"{directory} is not a benchmark dataset: not deleting it")
        if not rebuild:
            raise SystemExit(f"{directory} holds a dataset of other parameters "
                             f"({progress and progress.get('params')}): give --rebuild to "
                             "replace it, or another --store")
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return []


def _save_progress(directory: Path, params: DatasetParams, nights: list[str],
                   facts: dict[str, Any]) -> None:
    state = {"params": asdict(params), "nights_done": nights, "facts": facts}
    (directory / PROGRESS).write_text(json.dumps(state, indent=1))


def build_dataset(directory: Path, params: DatasetParams, workers: int,
                  rebuild: bool = False) -> dict[str, Any]:
    """Build (or reuse) the dataset; return its marker (parameters and facts)."""
    if not rebuild and (marker := complete_dataset(directory, params)) is not None:
        return marker
    done = prepare_directory(directory, params, rebuild)
    check_disk(directory, params)
    facts: dict[str, Any] = dict((_read_json(directory / PROGRESS) or {}).get("facts", {}))
    store_url = f"sqlite:{directory}"
    store = open_store(store_url)
    for create in (ensure_alert_tables, ensure_index_tables, ensure_statistics_tables):
        create(store)
    started = time.perf_counter() - facts.get("load_s", 0.0)
    context = multiprocessing.get_context("spawn")  # no store connections carried over
    with context.Pool(workers, initializer=_start_worker, initargs=(store_url,)) as pool:
        for config in params.night_configs():
            night = config.night.strftime("%Y%m%d")
            if night in done:
                continue
            build_night(directory, params, config, pool, store, workers, facts)
            facts["load_s"] = round(time.perf_counter() - started, 1)
            done.append(night)
            _save_progress(directory, params, done, dict(facts))
    recount_all_nights(store, lambda line: print(line, file=sys.stderr))
    facts["load_s"] = round(time.perf_counter() - started, 1)
    store.close()
    return _finish(directory, params, done, facts)


def build_night(directory: Path, params: DatasetParams, config: NightConfig, pool: Any,
                store: Store, workers: int, facts: dict[str, Any]) -> None:
    night = config.night.strftime("%Y%m%d")
    begun = time.perf_counter()

    def progress(stored: int) -> None:
        rate = stored / max(time.perf_counter() - begun, 1e-9)
        print(f"night {night}: {stored}/{config.n_alerts} alerts stored ({rate:.0f}/s)",
              file=sys.stderr)

    build = NightBuild(params, config, pool, IndexWriter(store), workers)
    build.run(progress)
    progress(build.stored)
    save_catalogue(directory / f"bench-catalogue-{night}.npz", build.catalogue)
    build.facts["alerts"] = build.stored
    for name, value in build.facts.items():
        facts[name] = facts.get(name, 0) + value
    facts["skipped_examples"] = facts.get("skipped_examples", []) + build.skipped


def checkpoint_all(directory: Path) -> None:
    """Fold every WAL into its table file, so sizes are the data's and readers start clean."""
    for path in sorted(directory.glob("*.sqlite")):
        db = sqlite3.connect(path)
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()


def table_sizes(directory: Path) -> dict[str, int]:
    sizes: dict[str, int] = Counter()
    for path in directory.glob("*.sqlite*"):
        sizes[path.name.split(".sqlite")[0]] += path.stat().st_size
    return dict(sorted(sizes.items()))


def _finish(directory: Path, params: DatasetParams, nights: list[str],
            facts: dict[str, Any]) -> dict[str, Any]:
    checkpoint_all(directory)
    sizes = table_sizes(directory)
    catalogue = load_catalogue(directory, nights)
    classes = Counter(str(name) for name in catalogue.fink_class)
    marker = {"params": asdict(params), "nights": nights, **facts,
              "objects": len(np.unique(catalogue.object_id)),
              "disk_bytes": sum(sizes.values()), "table_bytes": sizes,
              "classes": dict(classes.most_common()), "built": time.strftime("%Y-%m-%d %H:%M")}
    (directory / MARKER).write_text(json.dumps(marker, indent=1))
    return marker
