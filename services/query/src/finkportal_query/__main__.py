"""Entry point: ``finkportal-query`` serves the API with uvicorn. Settings: ``FINK_QUERY_*``."""

from __future__ import annotations

import sys

import uvicorn
from pydantic import ValidationError

from finkportal_core.logging import configure_logging
from finkportal_query.settings import QuerySettings


def serve(settings: QuerySettings) -> None:
    """Run uvicorn until SIGTERM/SIGINT; it drains open requests, then the lifespan closes
    the store."""
    configure_logging(settings.log_level, settings.log_json)
    uvicorn.run("finkportal_query.__main__:app_from_environment", factory=True,
                host=settings.host, port=settings.port, workers=settings.workers,
                log_config=None, access_log=False, timeout_graceful_shutdown=10)


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
