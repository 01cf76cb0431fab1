"""Ingest settings: every field is read from ``FINK_INGEST_<FIELD>``."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from finkportal_core.settings import ConsumerServiceSettings


class IngestSettings(ConsumerServiceSettings):
    """Settings of the ingest service."""

    model_config = SettingsConfigDict(env_prefix="FINK_INGEST_", extra="ignore", frozen=True)

    topic_pattern: str = Field(
        "^ztf_.*",
        description="Regular expression of the nightly alert topics to subscribe to "
        "(ZTF names them like ztf_20191101_programid1); must start with '^'.",
    )
    group_id: str = Field("finkportal-ingest", description="Kafka consumer group id.")
    dead_letter_topic: str = Field(
        "finkportal_ingest_dlq",
        description="Topic receiving messages that cannot be decoded or stored, "
        "with the reason in the 'reason' header.",
    )
    index_topic: str = Field(
        "finkportal_alerts_stored",
        description="Internal topic receiving one compact record per stored alert, read by "
        "the indexer; empty disables publishing.",
    )
    batch_size: int = Field(500, ge=1, le=100_000, description="Most alerts written per batch.")
    metrics_port: int = Field(9101, ge=0, le=65535, description="Prometheus /metrics port.")
    history_cache_keys: int = Field(
        1_000_000, ge=0,
        description="How many recently written history-row keys ingest remembers so the next "
        "alerts of an object skip rewriting identical history (~100 bytes each; 0 disables).",
    )

    @field_validator("topic_pattern")
    @classmethod
    def _pattern_is_regex(cls, value: str) -> str:
        # librdkafka only treats a subscription as a regex when it starts with '^'.
        if not value.startswith("^"):
            raise ValueError("topic_pattern must start with '^' (a regular expression)")
        return value
