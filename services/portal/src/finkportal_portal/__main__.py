"""Entry point: ``finkportal-portal`` serves the Dash portal with waitress.

Settings: ``FINK_PORTAL_*``. SIGTERM/SIGINT stop taking connections, let running requests
finish (waitress's task dispatcher), close the clients and exit 0.
"""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

import waitress
from pydantic import ValidationError

from finkportal_core.logging import configure_logging
from finkportal_portal.settings import PortalSettings

log = logging.getLogger("finkportal_portal")


def serve(settings: PortalSettings) -> None:
    from finkportal_portal.app import create_app
    from finkportal_portal.context import CONFIG_KEY

    configure_logging(settings.log_level, settings.log_json)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per API call otherwise
    app = create_app(settings)
    server = waitress.create_server(app.server, host=settings.host, port=settings.port,
                                    threads=settings.threads, ident="finkportal")
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _stop)
    log.info("portal serving", extra={"url": f"http://{settings.host}:{settings.port}",
                                      "query_url": settings.query_url})
    try:
        server.run()  # returns after SystemExit, once waitress's threads are done
    finally:
        app.server.config[CONFIG_KEY].close()
        log.info("portal stopped")


def _stop(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def main() -> int:
    try:
        settings = PortalSettings()
    except ValidationError as exc:
        print(f"finkportal-portal: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
