"""Entry point: ``finkportal-ingest`` (settings from ``FINK_INGEST_*``)."""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

from pydantic import ValidationError

from finkportal_core.logging import configure_logging
from finkportal_core.metrics import MetricsServer
from finkportal_core.storage import open_store
from finkportal_core.tables import ensure_alert_tables
from finkportal_ingest.metrics import IngestMetrics
from finkportal_ingest.service import IngestService
from finkportal_ingest.settings import IngestSettings

log = logging.getLogger("finkportal_ingest")


def run(settings: IngestSettings) -> int:
    """Construct every client explicitly, run until SIGTERM/SIGINT, close everything."""
    configure_logging(settings.log_level, settings.log_json)
    metrics = IngestMetrics()
    store = open_store(settings.store_url)
    server = MetricsServer(metrics.registry, settings.metrics_host, settings.metrics_port).start()
    try:
        ensure_alert_tables(store)
        service = IngestService(settings, store, metrics)

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("signal received, finishing the batch", extra={"signal": signum})
            service.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        service.run()
    finally:
        server.stop()
        store.close()
    return 0


def main() -> int:
    try:
        settings = IngestSettings()
    except ValidationError as exc:
        print(f"finkportal-ingest: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
