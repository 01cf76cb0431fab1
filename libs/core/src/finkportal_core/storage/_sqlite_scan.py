"""Batched scans of the embedded store by key ranges (keyset pagination).

A scan never holds a read transaction open while the caller consumes rows: each
batch is one short query per selected family (``WHERE row > <last key> ORDER BY
row LIMIT n``), so a slow consumer neither pins the WAL (which would stop
checkpoints) nor keeps memory beyond one batch.

With several families the per-family batches cover different key ranges; rows
are only emitted up to the *frontier*, the smallest "last key" among families
that filled their batch, below which every family is complete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import msgpack

from finkportal_core.storage.base import Row
from finkportal_core.storage.columns import Selection

Statement = tuple[str, str, list[object]]  # (family, sql, parameters)
Fetched = list[tuple[str, list[tuple[bytes, bytes]]]]  # (family, [(row, packed cells)])
ReadBatch = Callable[[list[Statement], bool], Fetched]


@dataclass(frozen=True)
class ScanPlan:
    selection: Selection
    low: bytes | None  # inclusive
    high: bytes | None  # exclusive
    reverse: bool
    limit: int | None
    batch_size: int


@dataclass(frozen=True)
class _Window:
    """The key range still to read: ``low`` (inclusive or not) up to ``high`` (exclusive)."""

    low: bytes | None
    low_inclusive: bool
    high: bytes | None

    def statement(self, family: str, reverse: bool, size: int) -> Statement:
        sql = _scan_sql(family, self.low is not None, self.low_inclusive, self.high is not None,
                        reverse)
        params: list[object] = [bound for bound in (self.low, self.high) if bound is not None]
        return family, sql, [*params, size]

    def after(self, frontier: bytes, reverse: bool) -> _Window:
        if reverse:
            return _Window(self.low, self.low_inclusive, frontier)
        return _Window(frontier, False, self.high)


@lru_cache(maxsize=512)
def _scan_sql(family: str, has_low: bool, low_inclusive: bool, has_high: bool,
              reverse: bool) -> str:
    conditions = []
    if has_low:
        conditions.append("row >= ?" if low_inclusive else "row > ?")
    if has_high:
        conditions.append("row < ?")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    order = "DESC" if reverse else "ASC"
    return f'SELECT row, cells FROM "f_{family}"{where} ORDER BY row {order} LIMIT ?'


def scan_rows(plan: ScanPlan, read_batch: ReadBatch) -> Iterator[Row]:
    """Yield the scan's rows; ``read_batch`` runs the statements of one batch.

    Rows are unpacked as they are yielded, after the batch's read transaction
    ended: a consumer that drops rows as it goes keeps only packed bytes.
    """
    window = _Window(plan.low, True, plan.high)
    remaining = plan.limit
    families = plan.selection.families
    while remaining is None or remaining > 0:
        size = plan.batch_size if remaining is None else min(plan.batch_size, remaining)
        fetched = read_batch([window.statement(f, plan.reverse, size) for f in families],
                             len(families) > 1)
        frontier = _frontier(fetched, size, plan.reverse)
        for row in _assemble(fetched, frontier, plan):
            yield row
            if remaining is not None:
                remaining -= 1
                if remaining == 0:
                    return
        if frontier is None:
            return
        window = window.after(frontier, plan.reverse)


def _frontier(fetched: Fetched, size: int, reverse: bool) -> bytes | None:
    """The last key up to which every family is complete (``None``: all exhausted)."""
    full = [rows[-1][0] for _, rows in fetched if len(rows) == size]
    if not full:
        return None
    return max(full) if reverse else min(full)


def _assemble(fetched: Fetched, frontier: bytes | None, plan: ScanPlan) -> Iterable[Row]:
    if len(fetched) == 1:
        return _one_family(*fetched[0], plan.selection)
    pick = plan.selection.pick
    merged: dict[bytes, dict[bytes, bytes]] = {}
    for family, packed_rows in fetched:
        for key, packed in packed_rows:
            if frontier is not None and (key < frontier if plan.reverse else key > frontier):
                break  # rows come sorted: the rest of this family is beyond the frontier
            cells = pick(family, msgpack.unpackb(packed))
            if cells:
                merged.setdefault(key, {}).update(cells)
    return [(key, merged[key]) for key in sorted(merged, reverse=plan.reverse)]


def _one_family(family: str, packed_rows: list[tuple[bytes, bytes]], selection: Selection
                ) -> Iterator[Row]:
    # Every fetched row is within the frontier: it is the last one, or there is none.
    pick = selection.pick
    for key, packed in packed_rows:
        cells = pick(family, msgpack.unpackb(packed))
        if cells:
            yield key, cells
