"""Turn a batch of Kafka messages into store rows and dead letters (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from finkportal_core.alerts import (
    AlertDecodeError,
    InvalidAlertError,
    decode_message,
)
from finkportal_core.consumer_loop import DeadLetter
from finkportal_core.storage.base import Row
from finkportal_core.tables import alert_to_rows


@dataclass
class PreparedBatch:
    """Rows ready to write for the good messages of one batch."""

    messages: list[Any]
    main_rows: list[Row] = field(default_factory=list)
    # One history row per key: alerts of one object in a batch repeat their history.
    history_rows: dict[bytes, dict[bytes, bytes]] = field(default_factory=dict)
    rows_by_message: list[tuple[Any, list[Row], list[Row]]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    @property
    def alert_count(self) -> int:
        return len(self.main_rows)


def message_rows(message: Any) -> tuple[list[Row], list[Row]]:
    """Main and history rows of every alert in one message; raises on bad input."""
    main: list[Row] = []
    history: list[Row] = []
    for alert in decode_message(message.value() or b"", message.key()):
        main_row, history_rows = alert_to_rows(alert)  # validates the alert first
        main.append(main_row)
        history.extend(history_rows)
    return main, history


def prepare_batch(messages: list[Any]) -> PreparedBatch:
    """Decode and validate each message; bad ones become dead letters, others rows."""
    batch = PreparedBatch(messages=messages)
    for message in messages:
        try:
            main, history = message_rows(message)
        except AlertDecodeError as exc:
            batch.dead_letters.append(DeadLetter(message, f"undecodable: {exc}", "decode"))
            continue
        except InvalidAlertError as exc:
            batch.dead_letters.append(DeadLetter(message, f"invalid alert: {exc}", "invalid"))
            continue
        batch.main_rows.extend(main)
        for key, cells in history:
            # A history key ends with a digest of its cells: same key, same row.
            batch.history_rows.setdefault(key, cells)
        batch.rows_by_message.append((message, main, history))
    return batch
