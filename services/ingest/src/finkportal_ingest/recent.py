"""A bounded memory of history rows this process has already written durably.

History keys end with a digest of the row's cells, so the same key always means
the same content: a row written once need not be written again by the next alert
of the same object (each alert repeats up to 30 days of history). Skipping is
safe because the cache only ever holds keys of writes that were durable; after a
restart it starts empty and the rows are simply rewritten (idempotent).
"""

from __future__ import annotations

from collections.abc import Iterable


class RecentKeys:
    """Approximate LRU of keys in two generations: O(1) lookups, bounded memory."""

    def __init__(self, capacity: int):
        self._half = max(capacity // 2, 0)
        self._current: set[bytes] = set()
        self._previous: set[bytes] = set()

    def __contains__(self, key: bytes) -> bool:
        return key in self._current or key in self._previous

    def add_all(self, keys: Iterable[bytes]) -> None:
        if self._half == 0:
            return
        for key in keys:
            self._current.add(key)
            if len(self._current) >= self._half:
                # Forget the older generation wholesale instead of tracking order per key.
                self._previous, self._current = self._current, set()
