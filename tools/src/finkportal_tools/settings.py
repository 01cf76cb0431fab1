"""Settings of the ``finkportal`` command line tools: ``FINK_TOOLS_<FIELD>``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

_REPO_ROOT = Path(__file__).resolve().parents[3]


class ToolsSettings(BaseSettings):
    """Defaults of the demo runner, the replayer and the store inspector."""

    model_config = SettingsConfigDict(env_prefix="FINK_TOOLS_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        _REPO_ROOT.parent / "shared" / "data",
        description="Directory of real ZTF alerts replayed by the demo; when absent the demo "
        "replays a synthetic night instead.",
    )
    work_dir: Path = Field(
        Path("var/demo"), description="Where the demo keeps its store and process logs."
    )
    store_url: str = Field(
        "sqlite:var/demo/store",
        description="Store read by `finkportal show` and written by the demo's services.",
    )
    kafka_host: str = Field("127.0.0.1", description="Address the embedded broker binds.")
    kafka_port: int = Field(9092, description="Port of the embedded Kafka broker.")
    ingest_metrics_port: int = Field(9101, description="Metrics port of the demo's ingest.")
    indexer_metrics_port: int = Field(9102, description="Metrics port of the demo's indexer.")
    query_port: int = Field(
        8000, description="HTTP port of the demo's query API (/api/v1, /docs, /health, /metrics)."
    )
    fitter_port: int = Field(
        8002, description="HTTP port of the demo's fitter (/fits, /health, /metrics)."
    )
    portal_port: int = Field(
        8050, description="HTTP port of the demo's portal (pages, /health, /metrics)."
    )
    synthetic_alerts: int = Field(
        5000, ge=1, description="Size of the synthetic night the demo replays without real data."
    )
    seed: int = Field(42, description="Seed of the synthetic night.")
