"""Code run in separate OS processes by the embedded-store tests.

Kept in an importable module so that ``multiprocessing`` (spawn) and ``python -m``
children can find it.
"""

from __future__ import annotations

import sys

from finkportal_core.storage.sqlite import SqliteStore

TABLE = "shared"


def batch_rows(writer: int, batch: int, size: int) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """One batch of one writer: ``size`` own rows, plus one cell merged into a shared row."""
    rows = [
        (b"w%d-b%04d-r%03d" % (writer, batch, n), {b"i:n": b"%d" % n, b"b:blob": bytes(2000)})
        for n in range(size)
    ]
    rows.append((b"shared", {b"i:w%d-b%04d" % (writer, batch): b"x"}))
    return rows


def write_batches(directory: str, writer: int, batches: int, size: int) -> int:
    """Write ``batches`` batches, reading back after each; return the batches written."""
    store = SqliteStore(directory)
    table = store.table(TABLE)
    for batch in range(batches):
        rows = batch_rows(writer, batch, size)
        table.put_many(rows)
        if table.get(rows[0][0], [b"i:n"]) != {b"i:n": b"0"}:
            raise AssertionError(f"writer {writer} cannot read back batch {batch}")
    store.close()
    return batches


def write_until_killed(directory: str, size: int) -> None:
    """Write batches forever, printing each batch number once ``put_many`` returned."""
    table = SqliteStore(directory).table(TABLE)
    for batch in range(1_000_000):
        table.put_many(batch_rows(0, batch, size))
        print(batch, flush=True)


if __name__ == "__main__":
    write_until_killed(sys.argv[1], int(sys.argv[2]))
