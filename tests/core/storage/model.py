"""A dict model of a table, to state what any adapter must return."""

from __future__ import annotations

from collections.abc import Sequence

Model = dict[bytes, dict[bytes, bytes]]


def _pick(cells: dict[bytes, bytes], columns: Sequence[bytes] | None) -> dict[bytes, bytes]:
    if columns is None:
        return dict(cells)
    families = {c.rstrip(b":") for c in columns if b":" not in c.rstrip(b":")}
    exact = {c for c in columns if b":" in c.rstrip(b":")}
    return {c: v for c, v in cells.items() if c.split(b":", 1)[0] in families or c in exact}


def expected_scan(model: Model, low: bytes | None, high: bytes | None, reverse: bool,
                  columns: Sequence[bytes] | None, limit: int | None) -> list:
    keys = sorted(k for k in model if (low is None or k >= low) and (high is None or k < high))
    rows = [(k, _pick(model[k], columns)) for k in (reversed(keys) if reverse else keys)]
    rows = [(k, cells) for k, cells in rows if cells]
    return rows if limit is None else rows[:limit]


def expected_get_many(model: Model, keys: Sequence[bytes],
                      columns: Sequence[bytes] | None) -> list:
    picked = ((k, _pick(model.get(k, {}), columns)) for k in keys)
    return [(k, cells) for k, cells in picked if cells]
