"""Entry point: ``finkportal-ingest`` (settings from ``FINK_INGEST_*``)."""

from __future__ import annotations

import sys

from pydantic import ValidationError

from finkportal_core.runner import run_service
from finkportal_core.storage.base import Store
from finkportal_core.tables import ensure_alert_tables
from finkportal_ingest.metrics import IngestMetrics
from finkportal_ingest.service import IngestService
from finkportal_ingest.settings import IngestSettings


def run(settings: IngestSettings) -> int:
    """Construct every client explicitly, run until SIGTERM/SIGINT, close everything."""
    metrics = IngestMetrics()

    def build(store: Store) -> IngestService:
        ensure_alert_tables(store)
        return IngestService(settings, store, metrics)

    return run_service(settings, metrics.registry, build)


def main() -> int:
    try:
        settings = IngestSettings()
    except ValidationError as exc:
        print(f"finkportal-ingest: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
