"""Live streams: every indexed alert that a registered filter keeps, in Fink's wire form.

The record says which filters match (its class and values); only then is the full
alert (candidate, history, cutouts, added values) read back from the store, encoded
once and sent to each matching ``fink_<filter>_ztf`` topic. The broker must
acknowledge everything before the batch is committed (at-least-once: a re-delivered
batch may repeat messages, as Fink's own streams may).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from confluent_kafka import Producer

from finkportal_core.alerts import InvalidAlertError
from finkportal_core.codec import CellDecodeError
from finkportal_core.filters import matching_filters, stream_message
from finkportal_core.indexing.records import Record, RecordError
from finkportal_core.kafka import Delivery
from finkportal_core.storage.base import Store
from finkportal_core.tables import (
    HISTORY_TABLE,
    MAIN_TABLE,
    RowDecodeError,
    history_keys,
    rows_to_alert,
)
from finkportal_indexer.errors import TransientIndexerError
from finkportal_indexer.metrics import IndexerMetrics
from finkportal_indexer.writer import Classified


class StreamPublisher:
    """Publishes the matching alerts of a batch to the filter topics."""

    def __init__(self, store: Store, producer: Producer, metrics: IndexerMetrics,
                 topic_prefix: str = ""):
        self._prefix = topic_prefix
        self._main = store.table(MAIN_TABLE)
        self._history = store.table(HISTORY_TABLE)
        self._producer = producer
        self._metrics = metrics

    def publish(self, classified: Sequence[Classified]) -> list[tuple[Record, str]]:
        """Send every match and wait for the broker; return the records that cannot be sent.

        Raises ``TransientIndexerError`` when the broker does not take the messages.
        """
        delivery = Delivery(self._producer)
        unsendable: list[tuple[Record, str]] = []
        sent: Counter[str] = Counter()
        for record, fink_class in classified:
            # The values a filter reads (roid, class) are in the record itself.
            topics = [self._prefix + f.topic for f in matching_filters(record, fink_class)]
            if not topics:
                continue
            try:
                key, value = self._message(record["key"].encode(), fink_class)
            except RecordError as exc:
                unsendable.append((record, str(exc)))
                continue
            for topic in topics:
                delivery.produce(topic, value, key)
                sent[topic] += 1
        if (problem := delivery.wait()) is not None:
            raise TransientIndexerError(f"stream topics unavailable: {problem}")
        for topic, count in sent.items():  # counted once the broker has them
            self._metrics.streamed.labels(topic=topic).inc(count)
        return unsendable

    def _message(self, main_key: bytes, fink_class: str) -> tuple[bytes, bytes]:
        cells = self._main.get(main_key)
        if not cells:  # ingest writes the row before publishing its record
            raise TransientIndexerError(f"main row {main_key!r} not readable yet")
        try:
            history = self._history.get_many(history_keys(cells))
            return stream_message(rows_to_alert(cells, history), fink_class)
        except (RowDecodeError, CellDecodeError, InvalidAlertError, ValueError) as exc:
            raise RecordError(f"stored alert {main_key!r} cannot be streamed: {exc}") from exc
