"""The replayer against a real broker: real files in time order, synthetic nights."""

from __future__ import annotations

import argparse
import io
import shutil
import tarfile
import time
import uuid
from datetime import date
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from finkportal_core.alerts import ZTF_ROOT_FIELDS, alert_files, decode_message, iter_alert_files
from finkportal_tools.replay import add_replay_parser, replay, ztf_topic
from tests.conftest import free_port

NIGHT_DIR = "alerts/astrolabsoftware_fink-alert-simulator"  # one night, ZTF 3.2 packets


def read_topic(bootstrap: str, topic: str, expected: int, timeout_s: float = 60) -> list:
    """Every message of partition 0, read with assign() (no group join wait)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"t-{uuid.uuid4()}",
                         "enable.auto.commit": False, "max.partition.fetch.bytes": 8 << 20})
    consumer.assign([TopicPartition(topic, 0, 0)])
    messages, deadline = [], time.monotonic() + timeout_s
    try:
        while len(messages) < expected and time.monotonic() < deadline:
            for message in consumer.consume(500, 0.5):
                assert message.error() is None, message.error()
                messages.append(message)
        # Anything beyond the expected count would show up now.
        messages.extend(m for m in consumer.consume(500, 1.0) if m.error() is None)
    finally:
        consumer.close()
    return messages


def topic_name() -> str:
    return f"replay-{uuid.uuid4().hex[:10]}"


def expected_order(path: Path) -> list[int]:
    alerts = {a["candid"]: a["candidate"]["jd"] for a in iter_alert_files(path)}
    return [c for c, _ in sorted(alerts.items(), key=lambda item: (item[1], item[0]))]


@pytest.mark.realdata
def test_real_night_arrives_complete_deduplicated_and_in_time_order(broker, real_data_dir):
    source = real_data_dir / NIGHT_DIR
    expected = expected_order(source)
    topic = topic_name()
    # The directory twice: every alert is a duplicate the second time.
    summary = replay([source, source], None, broker.bootstrap_servers, topic, progress=None)
    assert summary.failed == 0
    assert summary.produced == len(expected) > 400
    assert summary.duplicates == len(expected)
    messages = read_topic(broker.bootstrap_servers, topic, len(expected))
    decoded = [decode_message(m.value())[0] for m in messages]
    assert [a["candid"] for a in decoded] == expected
    assert all(m.key() is None for m in messages)
    assert all(a["cutoutScience"] for a in decoded)
    assert summary.bytes == sum(len(m.value()) for m in messages)


@pytest.mark.realdata
def test_tarball_replay_drops_added_values_and_names_the_topic_like_ztf(
        broker, real_data_dir, tmp_path):
    packets = [p for p in alert_files(real_data_dir / "alerts/astrolabsoftware_fink-client/tests")
               if p.name.startswith("fink-broker-sample-alert")]
    assert packets
    archive = tmp_path / "night.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for packet in packets:
            tar.add(packet, arcname=packet.name)
    originals = list(iter_alert_files(archive))
    assert any("cdsxmatch" in a for a in originals)
    summary = replay([archive], None, broker.bootstrap_servers, progress=None)
    first_jd = min(a["candidate"]["jd"] for a in originals)
    from finkportal_tools.sim.records import jd_to_date

    assert summary.topic == ztf_topic(jd_to_date(first_jd))
    decoded = [decode_message(m.value())[0]
               for m in read_topic(broker.bootstrap_servers, summary.topic, len(originals))]
    assert len(decoded) == summary.produced == len({a["candid"] for a in originals})
    assert all(set(a) <= ZTF_ROOT_FIELDS for a in decoded)


def test_synthetic_night_arrives_complete(broker):
    topic = topic_name()
    summary = replay(None, 2000, broker.bootstrap_servers, topic, seed=8,
                     night=date(2023, 10, 15), cutouts=False, progress=None)
    assert (summary.produced, summary.failed) == (2000, 0)
    messages = read_topic(broker.bootstrap_servers, topic, 2000)
    assert len(messages) == 2000
    alerts = [decode_message(m.value())[0] for m in messages]
    assert len({a["candid"] for a in alerts}) == 2000
    jds = [a["candidate"]["jd"] for a in alerts]
    assert jds == sorted(jds)


def test_rate_limit_and_count_limit_with_progress(broker):
    progress = io.StringIO()
    start = time.monotonic()
    summary = replay(None, 500, broker.bootstrap_servers, topic_name(), seed=1,
                     night=date(2024, 1, 2), cutouts=False, rate=40.0, limit=60,
                     progress=progress, progress_interval=0.5)
    elapsed = time.monotonic() - start
    assert summary.produced == 60
    assert summary.failed == 0
    assert elapsed >= 59 / 40.0  # 60 messages at 40/s cannot take less than ~1.5 s
    assert "60/60 alerts" in progress.getvalue()
    assert "ETA" in progress.getvalue()


def test_undeliverable_messages_are_counted(capsys):
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    summary = replay(None, 5, dead, "nowhere", cutouts=False, progress=None,
                     create_topic=False, producer_config={"message.timeout.ms": 1500},
                     flush_timeout=10)
    assert summary.produced == 0
    assert summary.failed == 5
    assert "delivery failed" in capsys.readouterr().err


def test_command_line_replays_and_reports(broker, tmp_path, capsys):
    source = tmp_path / "packets"
    parser = argparse.ArgumentParser()
    add_replay_parser(parser.add_subparsers())
    from finkportal_tools.sim import write_night

    write_night(source, 30, 4, date(2023, 10, 15), cutouts=False)
    topic = topic_name()
    args = parser.parse_args(["replay", str(source), "--bootstrap-servers",
                              broker.bootstrap_servers, "--topic", topic, "--quiet"])
    assert args.func(args) == 0
    assert "30 alerts" in capsys.readouterr().err
    assert len(read_topic(broker.bootstrap_servers, topic, 30)) == 30
    bad = parser.parse_args(["replay", str(source), "--synthetic", "5"])
    assert bad.func(bad) == 2
    missing = parser.parse_args(["replay", str(tmp_path / "nope"), "--bootstrap-servers",
                                 broker.bootstrap_servers])
    assert missing.func(missing) == 2
    shutil.rmtree(source)
