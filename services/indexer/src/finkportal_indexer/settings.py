"""Indexer settings: every field is read from ``FINK_INDEXER_<FIELD>``."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from finkportal_core.settings import ConsumerServiceSettings


class IndexerSettings(ConsumerServiceSettings):
    """Settings of the indexer service (and of its ``reindex`` command)."""

    model_config = SettingsConfigDict(env_prefix="FINK_INDEXER_", extra="ignore", frozen=True)

    index_topic: str = Field(
        "finkportal_alerts_stored",
        description="Internal topic of compact records that ingest publishes for every "
        "stored alert (must equal FINK_INGEST_INDEX_TOPIC).",
    )
    group_id: str = Field("finkportal-indexer", description="Kafka consumer group id.")
    dead_letter_topic: str = Field(
        "finkportal_indexer_dlq",
        description="Topic receiving records that cannot be indexed, with the reason in "
        "the 'reason' header.",
    )
    batch_size: int = Field(1000, ge=1, le=100_000, description="Most records per batch.")
    metrics_port: int = Field(9102, ge=0, le=65535, description="Prometheus /metrics port.")
    statistics_interval_s: float = Field(
        5.0, gt=0,
        description="Night statistics are recounted at most this often for the nights "
        "that received alerts (a recount reads all of that night's object-night rows).",
    )
    streams_enabled: bool = Field(
        True, description="Publish the live filtered streams (fink_<filter>_ztf topics)."
    )
    index_enabled: bool = Field(
        True,
        description="Write the index tables and statistics. With streams on and this off, "
        "the process only publishes streams: run it beside an index-only process (streams "
        "off), with its own group id, so stream encoding never delays indexing.",
    )
    stream_topic_prefix: str = Field(
        "",
        description="Prepended to every stream topic (fink_<filter>_ztf), e.g. 'staging.' to "
        "share a Kafka cluster; empty in production so fink-client sees Fink's names.",
    )
    reindex_batch_size: int = Field(
        2000, ge=1, le=100_000, description="Main-table rows per reindex batch (checkpoint)."
    )

    @model_validator(mode="after")
    def _does_something(self) -> IndexerSettings:
        if not (self.index_enabled or self.streams_enabled):
            raise ValueError("index_enabled and streams_enabled are both false: nothing to do")
        return self
