"""finkportal indexer: index tables, night statistics, reindex and live Kafka streams."""
