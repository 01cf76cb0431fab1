"""Bad messages go to the dead-letter topic with a reason; good ones around them are stored."""

from __future__ import annotations

import io
import json
import os
from datetime import date
from importlib import resources
from typing import Any

import fastavro

from finkportal_core.alerts import encode_ztf_message
from finkportal_core.storage import open_store
from finkportal_core.tables import MAIN_TABLE, alert_row_key
from finkportal_tools.sim import generate_night
from tests.ingest.conftest import wait_for_rows
from tests.support.kafka_io import produce, read_all


def container(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    fastavro.writer(buffer, fastavro.parse_schema(schema), [record])
    return buffer.getvalue()


def without_object_id(alert: dict[str, Any]) -> bytes:
    """A well-formed container whose schema simply has no objectId field."""
    text = resources.files("finkportal_core.schemas").joinpath("ztf_alert_4.02.avsc").read_text()
    schema = json.loads(text)
    schema["fields"] = [f for f in schema["fields"] if f["name"] != "objectId"]
    return container(schema, {k: v for k, v in alert.items() if k != "objectId"})


def test_bad_messages_are_dead_lettered_with_reasons(broker, ingest_factory, topic, store_url):
    good = list(generate_night(6, seed=5, night=date(2024, 3, 2)))
    good_bytes = [encode_ztf_message(a) for a in good]
    bad = {
        "corrupt": os.urandom(3000),
        "wrong schema": container({"type": "record", "name": "x", "fields": [
            {"name": "a", "type": "int"}]}, {"a": 1}),
        "truncated": good_bytes[0][: len(good_bytes[0]) // 2],
        "no objectId": without_object_id(good[1]),
        "empty": b"",
    }
    stream = [good_bytes[0], *bad.values(), *good_bytes[1:]]
    produce(broker.bootstrap_servers, topic, stream)
    ingest = ingest_factory()
    assert wait_for_rows(store_url, len(good), process=ingest) == len(good)

    dead = read_all(broker.bootstrap_servers, f"{topic}_dlq", expected=len(bad))
    assert sorted(m.value() or b"" for m in dead) == sorted(bad.values())
    for message in dead:
        headers = dict(message.headers() or [])
        assert headers["reason"], "every dead letter says why"
        assert headers["source_topic"].decode() == topic
    store = open_store(store_url)
    try:
        for alert in good:
            key = alert_row_key(alert)
            assert store.table(MAIN_TABLE).get(key, [b"i:candid"])
    finally:
        store.close()
