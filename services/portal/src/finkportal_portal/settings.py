"""Portal settings: every field is read from ``FINK_PORTAL_<FIELD>``.

The portal has no store and no Kafka: it reads data through the query API and asks the
fitter for fits, both over HTTP.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from finkportal_core.settings import LogSettings


class PortalSettings(LogSettings):
    """Settings of the Dash portal."""

    model_config = SettingsConfigDict(env_prefix="FINK_PORTAL_", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", description="Address the HTTP server binds (0.0.0.0 in a pod).")
    port: int = Field(8050, ge=0, le=65535,
                      description="HTTP port of the portal; /metrics and /health are served on it.")
    threads: int = Field(8, ge=1, le=256,
                         description="Request threads of the WSGI server (waitress).")
    query_url: str = Field("http://127.0.0.1:8000",
                           description="Base URL of the query API, as the portal reaches it.")
    fitter_url: str = Field("http://127.0.0.1:8002",
                            description="Base URL of the fitter service, as the portal reaches it.")
    public_api_url: str = Field(
        "", description="Base URL of the query API as users reach it, shown in the copyable API "
        "calls and the API page; empty: the same as query_url.")
    request_timeout_s: float = Field(
        30.0, gt=0, le=600, description="Timeout of one call to the query API or the fitter.")
    max_results: int = Field(
        1000, ge=1, le=10_000, description="Most objects a search lists (cone searches and "
        "class searches ask the API for at most this many).")
    page_size: int = Field(12, ge=1, le=200, description="Results per page (cards and table).")
    fit_poll_ms: int = Field(
        500, ge=100, le=10_000, description="How often a running fit's progress is polled.")

    @property
    def api_url_for_users(self) -> str:
        return (self.public_api_url or self.query_url).rstrip("/")
