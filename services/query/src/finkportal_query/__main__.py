"""Entry point: ``finkportal-query`` serves the API with uvicorn. Settings: ``FINK_QUERY_*``."""

from __future__ import annotations

import signal
import sys
from types import FrameType

import uvicorn
from pydantic import ValidationError

from finkportal_core.logging import configure_logging
from finkportal_query.settings import QuerySettings

# h11's default (16 KiB) resets the connection on a GET whose query string is longer, while
# the parameters allow 16,000-character id lists in a GET (up to ~150 KB percent-encoded).
MAX_REQUEST_HEAD_BYTES = 1 << 20


def serve(settings: QuerySettings) -> None:
    """Run uvicorn until SIGTERM/SIGINT; it drains open requests, then the lifespan closes
    the store."""
    configure_logging(settings.log_level, settings.log_json)
    # uvicorn drains requests on SIGTERM/SIGINT, then re-raises the signal under the handler
    # that was there before it: make that one exit 0, like the other services.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _exit_cleanly)
    uvicorn.run("finkportal_query.__main__:app_from_environment", factory=True,
                host=settings.host, port=settings.port, workers=settings.workers,
                log_config=None, access_log=False, timeout_graceful_shutdown=10,
                h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES)


def _exit_cleanly(_signum: int, _frame: FrameType | None) -> None:
    sys.exit(0)


def app_from_environment() -> object:
    """The factory each uvicorn worker calls (workers are separate processes)."""
    from finkportal_query.app import create_app

    settings = QuerySettings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings)


def main() -> int:
    try:
        settings = QuerySettings()
    except ValidationError as exc:
        print(f"finkportal-query: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
