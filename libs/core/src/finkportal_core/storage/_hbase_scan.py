"""Our scan semantics on top of HBase scanners, one short-lived scanner per batch.

Forward: HBase's own (start inclusive, stop exclusive) bounds are ours; the
next batch starts right after the last key (``last + b"\\x00"``).

Reverse: HBase starts at the *upper* bound, inclusive, and stops before the
lower bound, exclusive; we want the opposite inclusivities. So the scanner
starts at ``high`` and the row equal to ``high`` is dropped client-side (one
extra row is asked for, so that a batch always makes progress), and it stops
at ``low[:-1]``, a key just below ``low``: the few rows in between are dropped
and mark the end of the scan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from finkportal_core.storage.base import Row


@dataclass(frozen=True)
class HBaseScan:
    low: bytes | None  # inclusive
    high: bytes | None  # exclusive
    columns: list[bytes] | None  # as sent over Thrift
    reverse: bool
    limit: int | None
    batch_size: int


# fetch(start_row, stop_row, plan, count) -> at most ``count`` rows in HBase order
Fetch = Callable[[bytes | None, bytes | None, HBaseScan, int], list[Row]]


def run_scan(plan: HBaseScan, fetch: Fetch) -> Iterator[Row]:
    """Yield the rows of the scan, fetching them batch by batch."""
    step = _reverse_batch if plan.reverse else _forward_batch
    low, high = plan.low, plan.high
    remaining = plan.limit
    while remaining is None or remaining > 0:
        size = plan.batch_size if remaining is None else min(plan.batch_size, remaining)
        rows, done = step(fetch, plan, low, high, size)
        yield from rows
        if remaining is not None:
            remaining -= len(rows)
        if done or not rows:
            return
        if plan.reverse:
            high = rows[-1][0]
        else:
            low = rows[-1][0] + b"\x00"  # the smallest key after the last one


def _forward_batch(fetch: Fetch, plan: HBaseScan, low: bytes | None, high: bytes | None,
                   size: int) -> tuple[list[Row], bool]:
    rows = fetch(low, high, plan, size)
    return rows, len(rows) < size


def _reverse_batch(fetch: Fetch, plan: HBaseScan, low: bytes | None, high: bytes | None,
                   size: int) -> tuple[list[Row], bool]:
    asked = size + 1 if high is not None else size
    stop = low[:-1] if low is not None and len(low) > 1 else None
    raw = fetch(high, stop, plan, asked)
    kept = [row for row in raw if (high is None or row[0] < high)]
    below = [row for row in kept if low is not None and row[0] < low]
    kept = kept[: len(kept) - len(below)][:size]
    return kept, bool(below) or len(raw) < asked
