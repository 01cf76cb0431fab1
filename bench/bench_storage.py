"""Embedded store benchmark: the adapter's settings and the layouts it was chosen over.

Plain script; prints Markdown tables (copied into docs/storage.md by hand, with the
machine). Synthetic alert-sized rows: per alert one main row (110 small cells in
family ``i``, 20 in ``d``, three 20 KB incompressible cutouts in ``b``) and the
object's last 25 history rows (50 small cells each), most of which the previous
alert of the same object already wrote identically. Batches of 100 alerts, one
``put_many`` per table per batch, as ingest does.

Usage: uv run python bench/bench_storage.py [--alerts 4000] [--objects 80] [--repeat 3]
       [--only NAME]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Protocol

import msgpack

from finkportal_core.storage.columns import FamilyLayout
from finkportal_core.storage.sqlite import SqliteOptions, SqliteStore

Row = tuple[bytes, dict[bytes, bytes]]
Batch = tuple[list[Row], list[Row]]  # (main rows, history rows)
MAIN_FAMILIES = ("i", "d", "b")
HISTORY_FAMILIES = ("h",)
BATCH_ALERTS = 100
TMPFS = "/dev/shm" if os.path.isdir("/dev/shm") else None


# -- workload -------------------------------------------------------------------

def _small_value(rng: random.Random) -> bytes:
    return b"%.6f" % rng.uniform(-100, 100)


def make_batches(alerts: int, objects: int, seed: int = 1) -> list[Batch]:
    rng = random.Random(seed)
    names_i = [b"i:candidate_field_%03d" % k for k in range(110)]
    names_d = [b"d:added_value_%02d" % k for k in range(20)]
    names_h = [b"h:prv_field_%02d" % k for k in range(50)]
    cutouts = {b"b:cutout" + kind: os.urandom(20_000) for kind in (b"Science", b"Template",
                                                                    b"Difference")}
    histories: dict[int, list[Row]] = {}
    batches: list[Batch] = []
    for start in range(0, alerts, BATCH_ALERTS):
        main: list[Row] = []
        history: list[Row] = []
        for _ in range(start, min(alerts, start + BATCH_ALERTS)):
            obj = rng.randrange(objects)
            past = histories.setdefault(obj, [])
            key = b"ZTF%07d_%06d" % (obj, len(past))
            cells = {n: _small_value(rng) for n in names_i + names_d}
            main.append((key, {**cells, **cutouts}))
            history.extend(past[-25:])
            past.append((key, {n: _small_value(rng) for n in names_h}))
        batches.append((main, history))
    return batches


# -- candidates -----------------------------------------------------------------

class Candidate(Protocol):
    def write(self, batch: Batch) -> None: ...
    def get_i(self, key: bytes) -> object: ...
    def scan_i(self) -> int: ...
    def close(self) -> None: ...


class AdapterCandidate:
    """The real SqliteStore with some options."""

    def __init__(self, directory: Path, options: SqliteOptions):
        self.store = SqliteStore(directory, options)
        self.store.create_table("main", MAIN_FAMILIES)
        self.store.create_table("history", HISTORY_FAMILIES)
        self.main = self.store.table("main")
        self.history = self.store.table("history")

    def write(self, batch: Batch) -> None:
        self.history.put_many(batch[1])
        self.main.put_many(batch[0])

    def get_i(self, key: bytes) -> object:
        return self.main.get(key, [b"i"])

    def scan_i(self) -> int:
        return sum(1 for _ in self.main.scan(columns=[b"i"]))

    def close(self) -> None:
        self.store.close()


def _connect(path: Path, page_size: int = 16384) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(f"PRAGMA page_size={page_size}")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA wal_autocheckpoint=4096")
    db.execute("PRAGMA cache_size=-32768")  # as the adapter: 32 MiB
    return db


class CellRowsCandidate:
    """One SQLite row per cell: (row, column) -> value; a put is INSERT OR REPLACE per cell."""

    def __init__(self, directory: Path):
        self.dbs = {name: _connect(directory / f"{name}.sqlite") for name in ("main", "history")}
        for db in self.dbs.values():
            db.execute("CREATE TABLE cells(row BLOB, col BLOB, value BLOB, PRIMARY KEY(row, col))"
                       " WITHOUT ROWID")

    def write(self, batch: Batch) -> None:
        for name, rows in (("history", batch[1]), ("main", batch[0])):
            db = self.dbs[name]
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT OR REPLACE INTO cells VALUES (?, ?, ?)",
                           [(key, col, val) for key, cells in rows for col, val in cells.items()])
            db.execute("COMMIT")

    def get_i(self, key: bytes) -> object:
        return self.dbs["main"].execute(
            "SELECT col, value FROM cells WHERE row = ? AND col >= x'693a' AND col < x'693b'",
            (key,)).fetchall()

    def scan_i(self) -> int:
        rows = self.dbs["main"].execute(
            "SELECT row, col, value FROM cells WHERE col >= x'693a' AND col < x'693b'")
        return len({row for row, _, _ in rows})

    def close(self) -> None:
        for db in self.dbs.values():
            db.close()


class PackedCandidate:
    """Packed families in SQL tables, with variants of layout, merge and packing."""

    def __init__(self, directory: Path, *, one_table: bool = False, python_merge: bool = False,
                 packb: bool = False, loop_split: bool = False, page_size: int = 16384):
        self.one_table, self.python_merge = one_table, python_merge
        self.packb, self.loop_split = packb, loop_split
        self.packer = msgpack.Packer()
        self.layouts = {"main": FamilyLayout.of(MAIN_FAMILIES),
                        "history": FamilyLayout.of(HISTORY_FAMILIES)}
        self.dbs = {name: _connect(directory / f"{name}.sqlite", page_size)
                    for name in self.layouts}
        for name, db in self.dbs.items():
            db.create_function("fp_merge", 2, self._merge, deterministic=True)
            for family in (["all"] if one_table else self.layouts[name].families):
                extra = "fam TEXT, " if one_table else ""
                key = "PRIMARY KEY(row, fam)" if one_table else "PRIMARY KEY(row)"
                db.execute(f"CREATE TABLE f_{family}(row BLOB, {extra}cells BLOB, {key}) "
                           "WITHOUT ROWID")

    def _merge(self, old: bytes, new: bytes) -> bytes:
        cells = msgpack.unpackb(old)
        cells.update(msgpack.unpackb(new))
        return self.packer.pack(cells)

    def _groups(self, name: str, key: bytes, cells: dict[bytes, bytes]
                ) -> list[tuple[str, Mapping[bytes, bytes]]]:
        if not self.loop_split:
            return self.layouts[name].group(key, cells)
        groups: dict[str, dict[bytes, bytes]] = {}
        for column, value in cells.items():
            groups.setdefault(column[: column.index(b":")].decode(), {})[column] = value
        return list(groups.items())

    def write(self, batch: Batch) -> None:
        for name, rows in (("history", batch[1]), ("main", batch[0])):
            pack = msgpack.packb if self.packb else self.packer.pack
            params: dict[str, list[tuple]] = {}
            for key, cells in rows:
                for family, sub in self._groups(name, key, cells):
                    params.setdefault(family, []).append((key, family, pack(sub)))
            self._store(self.dbs[name], params)

    def _store(self, db: sqlite3.Connection, params: dict[str, list[tuple]]) -> None:
        db.execute("BEGIN IMMEDIATE")
        for family, rows in params.items():
            if self.one_table:
                db.executemany("INSERT INTO f_all VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET "
                               "cells = fp_merge(cells, excluded.cells) "
                               "WHERE cells IS NOT excluded.cells", rows)
            elif self.python_merge:
                self._read_modify_write(db, family, rows)
            else:
                db.executemany(f"INSERT INTO f_{family} VALUES (?, ?) ON CONFLICT DO UPDATE SET "
                               "cells = fp_merge(cells, excluded.cells) "
                               "WHERE cells IS NOT excluded.cells",
                               [(key, packed) for key, _, packed in rows])
        db.execute("COMMIT")

    def _read_modify_write(self, db: sqlite3.Connection, family: str, rows: list[tuple]) -> None:
        merged = []
        for key, _, packed in rows:
            old = db.execute(f"SELECT cells FROM f_{family} WHERE row = ?", (key,)).fetchone()
            merged.append((key, packed if old is None else self._merge(old[0], packed)))
        db.executemany(f"INSERT OR REPLACE INTO f_{family} VALUES (?, ?)", merged)

    def get_i(self, key: bytes) -> object:
        if self.one_table:
            sql = "SELECT cells FROM f_all WHERE row = ? AND fam = 'i'"
        else:
            sql = "SELECT cells FROM f_i WHERE row = ?"
        found = self.dbs["main"].execute(sql, (key,)).fetchone()
        return msgpack.unpackb(found[0]) if found else None

    def scan_i(self) -> int:
        sql = ("SELECT row, cells FROM f_all WHERE fam = 'i' ORDER BY row" if self.one_table
               else "SELECT row, cells FROM f_i ORDER BY row")
        return sum(1 for _, cells in self.dbs["main"].execute(sql) if msgpack.unpackb(cells))

    def close(self) -> None:
        for db in self.dbs.values():
            db.close()


# -- measurement ----------------------------------------------------------------

def _size_mb(directory: Path) -> float:
    return sum(p.stat().st_size for p in directory.iterdir()) / 1e6


def _checkpoint_all(directory: Path) -> None:
    """Fold every WAL into its database, as SQLite eventually must: part of the write cost."""
    for path in directory.glob("*.sqlite"):
        db = sqlite3.connect(path)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()


def measure(name: str, factory: Callable[[Path], Candidate], batches: list[Batch],
            alerts: int) -> dict[str, object]:
    root = TMPFS if "tmpfs" in name else os.environ.get("BENCH_DIR")
    directory = Path(tempfile.mkdtemp(prefix="bench-storage-", dir=root))
    candidate = factory(directory)
    try:
        started = time.perf_counter()
        for batch in batches:
            candidate.write(batch)
        _checkpoint_all(directory)
        write_s = time.perf_counter() - started
        keys = [key for main, _ in batches for key, _ in main]
        sample = random.Random(2).sample(keys, min(2000, len(keys)))
        get_s = _best_of(3, lambda: [candidate.get_i(k) for k in sample])
        scan_s = _best_of(3, candidate.scan_i)
        return {"name": name, "alerts_s": alerts / write_s, "get_i_us": get_s / len(sample) * 1e6,
                "scan_i_rows_s": candidate.scan_i() / scan_s, "disk_mb": _size_mb(directory)}
    finally:
        candidate.close()
        shutil.rmtree(directory, ignore_errors=True)


def candidates() -> dict[str, Callable[[Path], Candidate]]:
    return {
        "adapter (16 KiB pages, autocheckpoint 4096 pages, NORMAL)":
            lambda d: AdapterCandidate(d, SqliteOptions()),
        "adapter, 4 KiB pages":
            lambda d: AdapterCandidate(d, SqliteOptions(page_size=4096)),
        "adapter, 8 KiB pages":
            lambda d: AdapterCandidate(d, SqliteOptions(page_size=8192)),
        "adapter, autocheckpoint 1000 pages (SQLite's default)":
            lambda d: AdapterCandidate(d, SqliteOptions(wal_autocheckpoint_pages=1000)),
        "adapter, synchronous=FULL":
            lambda d: AdapterCandidate(d, SqliteOptions(synchronous="full")),
        "adapter on tmpfs (no disk: the CPU-bound part)":
            lambda d: AdapterCandidate(d, SqliteOptions()),
        "one SQL row per cell": CellRowsCandidate,
        "packed, one SQL table keyed (row, family)": lambda d: PackedCandidate(d, one_table=True),
        "packed per family, merge by read-modify-write in Python":
            lambda d: PackedCandidate(d, python_merge=True),
        "packed per family, msgpack.packb per call": lambda d: PackedCandidate(d, packb=True),
        "packed per family, Python loop to split families":
            lambda d: PackedCandidate(d, loop_split=True),
    }


def micro_pack_split(batches: list[Batch]) -> list[str]:
    """Time the two CPU-bound steps of a put alone: grouping cells and packing them."""
    rows = [row for main, history in batches[:10] for row in main + history]
    layout = FamilyLayout.of(MAIN_FAMILIES + HISTORY_FAMILIES)
    packer = msgpack.Packer()
    results = {
        "group by family, sorted+bisect (adapter)": lambda: [layout.group(k, c) for k, c in rows],
        "group by family, Python loop per cell": lambda: [_loop_group(c) for _, c in rows],
        "pack, reusable msgpack.Packer": lambda: [packer.pack(c) for _, c in rows],
        "pack, msgpack.packb": lambda: [msgpack.packb(c) for _, c in rows],
    }
    return [f"| {name} | {_best_of(3, fn) / len(rows) * 1e6:.1f} |" for name, fn in results.items()]


def _loop_group(cells: dict[bytes, bytes]) -> dict[bytes, dict[bytes, bytes]]:
    groups: dict[bytes, dict[bytes, bytes]] = {}
    for column, value in cells.items():
        groups.setdefault(column[: column.index(b":")], {})[column] = value
    return groups


def _best_of(times: int, fn: Callable[[], object]) -> float:
    durations = []
    for _ in range(times):
        started = time.perf_counter()
        fn()
        durations.append(time.perf_counter() - started)
    return min(durations)


def _best(name: str, runs: list[dict[str, object]]) -> dict[str, object]:
    def values(key: str) -> list[float]:
        return [float(str(run[key])) for run in runs]

    return {"name": name, "alerts_s": max(values("alerts_s")), "get_i_us": min(values("get_i_us")),
            "scan_i_rows_s": max(values("scan_i_rows_s")), "disk_mb": min(values("disk_mb"))}


def _iterate(results: list[dict[str, object]]) -> Iterator[str]:
    yield "| variant | write alerts/s | get `i` µs | scan `i` rows/s | MB on disk |"
    yield "| --- | ---: | ---: | ---: | ---: |"
    for r in results:
        yield (f"| {r['name']} | {r['alerts_s']:,.0f} | {r['get_i_us']:.1f} | "
               f"{r['scan_i_rows_s']:,.0f} | {r['disk_mb']:,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=4000)
    parser.add_argument("--objects", type=int, default=80,
                        help="fewer objects = longer histories (80 for 4000 alerts: ~20 rows)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds over all variants; the best figure of each is kept")
    parser.add_argument("--only", default=None, help="run the variants whose name contains this")
    args = parser.parse_args()
    batches = make_batches(args.alerts, args.objects)
    history_rows = sum(len(h) for _, h in batches)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")
    print(f"workload: {args.alerts} alerts, {history_rows} history rows "
          f"({history_rows / args.alerts:.1f} per alert), batches of {BATCH_ALERTS} alerts\n")
    chosen = {n: f for n, f in candidates().items() if not args.only or args.only in n}
    runs: dict[str, list[dict[str, object]]] = {name: [] for name in chosen}
    # Rounds over every variant, keeping each one's best figures: on a shared machine,
    # interference only ever slows a run down.
    for _ in range(args.repeat):
        for name, factory in chosen.items():
            runs[name].append(measure(name, factory, batches, args.alerts))
            print(list(_iterate(runs[name][-1:]))[-1], flush=True)
    print("\n" + "\n".join(_iterate([_best(name, r) for name, r in runs.items()])))
    print("\n| CPU step (per row) | µs |\n| --- | ---: |")
    print("\n".join(micro_pack_split(batches)))


if __name__ == "__main__":
    main()
