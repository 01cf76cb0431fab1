"""Ingest's exception tree: transient errors are retried, permanent ones dead-lettered."""

from __future__ import annotations


class IngestError(Exception):
    """Base of every ingest error."""


class TransientIngestError(IngestError):
    """Retry with backoff: the store or the broker is temporarily unavailable."""


class PermanentIngestError(IngestError):
    """The message itself is bad: send it to the dead-letter topic with ``reason``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
