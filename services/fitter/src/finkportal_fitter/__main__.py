"""Entry point: ``finkportal-fitter`` serves the fit API with uvicorn. Settings: ``FINK_FITTER_*``.

One uvicorn process: jobs live in its memory and its worker pool does the fitting (scale
with ``workers``, or with more replicas: a job id is answered by the replica that made it,
a repeated request by any of them, from the shared cache table).
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

import uvicorn
from pydantic import ValidationError

from finkportal_core.logging import configure_logging
from finkportal_fitter.settings import FitterSettings


def serve(settings: FitterSettings) -> None:
    """Run until SIGTERM/SIGINT: uvicorn stops listening and drains open requests, then
    the lifespan lets running fits finish (``shutdown_grace_s``) and closes everything."""
    configure_logging(settings.log_level, settings.log_json)
    # uvicorn re-raises the stop signal under the handler that was there before it once it
    # has shut down: make that one exit 0, like the other services.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _exit_cleanly)
    uvicorn.run("finkportal_fitter.__main__:app_from_environment", factory=True,
                host=settings.host, port=settings.port, workers=1, log_config=None,
                access_log=False, timeout_graceful_shutdown=10)


def _exit_cleanly(_signum: int, _frame: FrameType | None) -> None:
    sys.exit(0)


def app_from_environment() -> object:
    """The factory uvicorn calls."""
    from finkportal_fitter.app import create_app

    settings = FitterSettings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings)


def main() -> int:
    try:
        settings = FitterSettings()
    except ValidationError as exc:
        print(f"finkportal-fitter: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
