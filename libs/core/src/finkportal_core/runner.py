"""Run a consuming service process: logging, store, metrics endpoint, signals, clean exit.

Every client is constructed here, at start-up, and closed on the way out; nothing
connects at import time. SIGTERM/SIGINT ask the service to finish the batch in hand.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from types import FrameType
from typing import Protocol

from prometheus_client import CollectorRegistry

from finkportal_core.logging import configure_logging
from finkportal_core.metrics import MetricsServer
from finkportal_core.settings import ConsumerServiceSettings
from finkportal_core.storage import open_store
from finkportal_core.storage.base import Store

log = logging.getLogger(__name__)


class Service(Protocol):
    """What a service's main object offers: a blocking ``run`` and a thread-safe ``stop``."""

    def run(self) -> None: ...

    def stop(self) -> None: ...


def on_stop_signals(stop: Callable[[], None]) -> None:
    """Call ``stop`` on SIGTERM and SIGINT (the service then finishes its batch)."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal received, finishing the batch", extra={"signal": signum})
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run_service(settings: ConsumerServiceSettings, registry: CollectorRegistry,
                build: Callable[[Store], Service]) -> int:
    """Open the store, serve ``registry``, run what ``build`` makes until a stop signal."""
    configure_logging(settings.log_level, settings.log_json)
    store = open_store(settings.store_url)
    server = MetricsServer(registry, settings.metrics_host, settings.metrics_port).start()
    try:
        service = build(store)
        on_stop_signals(service.stop)
        service.run()
    finally:
        server.stop()
        store.close()
    return 0
