"""The indexer's exception tree: transient errors are retried, permanent ones dead-lettered."""

from __future__ import annotations


class IndexerError(Exception):
    """Base of every indexer error."""


class TransientIndexerError(IndexerError):
    """Retry with backoff: the store or the broker is temporarily unavailable."""


class ReindexError(IndexerError):
    """The reindex command cannot go on (no main table, bad checkpoint...)."""
