"""Query service settings: every field is read from ``FINK_QUERY_<FIELD>``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from finkportal_core.settings import BaseServiceSettings


class QuerySettings(BaseServiceSettings):
    """Settings of the REST API. The limits are documented in ``docs/api.md``."""

    model_config = SettingsConfigDict(env_prefix="FINK_QUERY_", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", description="Address the HTTP server binds (0.0.0.0 in a pod).")
    port: int = Field(
        8000, ge=0, le=65535, description="HTTP port of the API; /metrics is served on it too."
    )
    workers: int = Field(
        1, ge=1, le=64,
        description="uvicorn worker processes. Each handles requests on a thread pool; the "
        "embedded store reads in parallel from several processes.",
    )
    threads: int = Field(
        16, ge=1, le=512,
        description="Threads per worker that run store reads (the request thread pool size).",
    )
    max_rows: int = Field(
        10_000, ge=1, le=1_000_000,
        description="Most rows one response may hold (objects, latests, conesearch, sso, "
        "tracklet, explorer). A larger request is refused with 400 saying so.",
    )
    max_ids: int = Field(
        1000, ge=1, le=100_000,
        description="Most object ids, or Solar System names, in one comma-separated list.",
    )
    max_radius_arcsec: float = Field(
        18_000.0, gt=0, lt=648_000,
        description="Largest cone search radius, in arcseconds (Fink's limit: 5 degrees).",
    )
    max_scanned_rows: int = Field(
        1_000_000, ge=1,
        description="Most index rows one search may read before it stops and answers 400 "
        "'too large' (a guard against requests that would run for minutes).",
    )
    max_cutouts: int = Field(
        200, ge=1, le=100_000,
        description="Most alerts whose cutouts one objects request may return "
        "(withcutouts=true).",
    )
    root_path: str = Field(
        "", description="Path prefix when served behind a proxy (e.g. '/fink'); OpenAPI links "
        "and /docs use it."
    )
