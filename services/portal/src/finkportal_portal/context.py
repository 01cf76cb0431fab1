"""What callbacks need at run time (settings, clients, metrics), reached through Flask.

``create_app`` stores one :class:`PortalContext` in the Flask config; callbacks run inside a
Flask request, so ``portal()`` finds it without module-level globals or import-time clients.
"""

from __future__ import annotations

from dataclasses import dataclass

import flask

from finkportal_portal.clients import FitterClient, QueryClient
from finkportal_portal.data import RowCache, TimedValue
from finkportal_portal.metrics import PortalMetrics
from finkportal_portal.settings import PortalSettings

CONFIG_KEY = "FINKPORTAL"


@dataclass
class PortalContext:
    settings: PortalSettings
    query: QueryClient
    fitter: FitterClient
    metrics: PortalMetrics
    rows: RowCache  # an object's rows with upper limits, shared by its page's callbacks
    classes: TimedValue  # the API's class names, for the search suggestions

    def close(self) -> None:
        self.query.close()
        self.fitter.close()


def portal() -> PortalContext:
    context: PortalContext = flask.current_app.config[CONFIG_KEY]
    return context
