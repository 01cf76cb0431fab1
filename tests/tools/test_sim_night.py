"""The synthetic night: schema validity, identifiers, ordering, determinism, laziness."""

from __future__ import annotations

import hashlib
import itertools
import re
import time
import tracemalloc
from datetime import date

import fastavro
import fastavro.validation
import pytest

from finkportal_core.alerts import (
    ZTF_ROOT_FIELDS,
    decode_message,
    encode_ztf_message,
    packaged_schema,
)
from finkportal_tools.sim import NightConfig, generate_night, generate_night_with_truth
from finkportal_tools.sim.parallel import encoded_night
from finkportal_tools.sim.records import jd_to_date
from finkportal_tools.sim.survey import NIGHT_END_FRACTION, NIGHT_START_FRACTION, night_jd0

NIGHT = date(2023, 10, 15)
OBJECT_ID = re.compile(r"^ZTF\d{2}[a-z]{7}$")


def ztf_part(alert: dict) -> dict:
    return {k: v for k, v in alert.items() if k in ZTF_ROOT_FIELDS}


@pytest.fixture(scope="module")
def night() -> list[tuple[dict, dict]]:
    return list(generate_night_with_truth(600, 7, NIGHT, cutouts=False))


def test_alerts_validate_against_the_packaged_ztf_schema(night):
    schema = fastavro.parse_schema(packaged_schema("4.02"))
    with_cutouts = list(generate_night(5, 7, NIGHT))
    # fastavro's validator is slow (~30 ms an alert): a sample of every kind.
    by_kind: dict[str, list[dict]] = {}
    for alert, truth in night:
        by_kind.setdefault(truth["type"], []).append(alert)
    sample = [a for alerts in by_kind.values() for a in alerts[:12]]
    assert len(by_kind) == 5
    for alert in sample + with_cutouts:
        assert fastavro.validation.validate(ztf_part(alert), schema, raise_errors=True)
    assert all(a["cutoutScience"]["stampData"][:2] == b"\x1f\x8b" for a in with_cutouts)


def test_identifiers_are_ztf_shaped_and_candids_unique(night):
    candids = [a["candid"] for a, _ in night]
    assert len(set(candids)) == len(candids) == 600
    for alert, _ in night:
        assert OBJECT_ID.match(alert["objectId"])
        assert alert["candid"] == alert["candidate"]["candid"] < 2**63
        assert alert["candidate"]["pid"] == alert["candid"] // 10**6


def test_object_ids_carry_the_year_of_first_detection(night):
    for alert, _ in night:
        first = jd_to_date(alert["candidate"]["jdstarthist"])
        assert alert["objectId"][3:5] == f"{first.year % 100:02d}"


def test_alerts_come_in_time_order_within_the_night(night):
    jds = [a["candidate"]["jd"] for a, _ in night]
    assert jds == sorted(jds)
    start = night_jd0(NIGHT) + NIGHT_START_FRACTION
    assert start <= jds[0]
    assert jds[-1] <= night_jd0(NIGHT) + NIGHT_END_FRACTION
    assert len(set(jds)) > 1  # several exposures


def test_history_is_thirty_days_of_detections_and_upper_limits(night):
    limits = detections = 0
    for alert, _ in night:
        jd = alert["candidate"]["jd"]
        for prv in alert["prv_candidates"]:
            assert jd - 30 <= prv["jd"] < jd
            if prv["magpsf"] is None:
                limits += 1
                assert prv["diffmaglim"] is not None
                assert prv["candid"] is None
            else:
                detections += 1
                assert prv["magpsf"] <= prv["diffmaglim"]
    assert limits > 1000
    assert detections > 300


def test_second_visit_repeats_the_first_detection_in_its_history(night):
    by_object: dict[str, list[dict]] = {}
    for alert, _ in night:
        by_object.setdefault(alert["objectId"], []).append(alert)
    pairs = [alerts for alerts in by_object.values() if len(alerts) == 2]
    assert len(pairs) > 30
    for first, second in pairs:
        earlier = {p["candid"]: p for p in second["prv_candidates"] if p["candid"]}
        repeated = earlier[first["candid"]]
        assert repeated["magpsf"] == first["candidate"]["magpsf"]
        assert repeated["ra"] == first["candidate"]["ra"]
        assert second["candidate"]["ndethist"] == first["candidate"]["ndethist"] + 1
        assert second["candidate"]["fid"] != first["candidate"]["fid"]


def test_photometric_noise_follows_magnitude(night):
    """Brighter detections have smaller errors; at the 5-sigma limit the SNR is ~5."""
    # Supernovae have no reference flux: their error depends on magpsf alone.
    points = [(a["candidate"]["magpsf"], a["candidate"]["sigmapsf"],
               a["candidate"]["diffmaglim"]) for a, t in night if t["type"] == "sn_ia"]
    bright = [s for m, s, _ in points if m < 17.5]
    faint = [s for m, s, _ in points if m > 19.5]
    assert bright
    assert faint
    assert max(bright) < min(faint)
    near_limit = [s for m, s, lim in points if 0 <= lim - m < 0.05]
    assert near_limit
    assert all(0.19 < s < 0.26 for s in near_limit)  # 1.0857/5, plus source noise


def test_same_seed_gives_identical_bytes_and_other_seed_differs():
    def digest(seed: int) -> str:
        sha = hashlib.sha256()
        for alert in generate_night(40, seed, NIGHT):
            sha.update(encode_ztf_message(alert))
        return sha.hexdigest()

    assert digest(3) == digest(3)
    assert digest(3) != digest(4)


def test_switching_cutouts_and_fink_values_changes_nothing_else():
    plain = list(generate_night(50, 9, NIGHT, cutouts=False, fink_values=False))
    full = list(generate_night(50, 9, NIGHT))
    assert [ztf_part(a) | {"cutoutScience": None, "cutoutTemplate": None,
                           "cutoutDifference": None} for a in full] == plain
    assert "cdsxmatch" in full[0]
    assert "cdsxmatch" not in plain[0]


def test_encoded_messages_decode_to_the_same_alert():
    alert = next(generate_night(1, 5, NIGHT))
    decoded = decode_message(encode_ztf_message(ztf_part(alert)))[0]
    assert decoded["candid"] == alert["candid"]
    assert decoded["cutoutDifference"] == alert["cutoutDifference"]
    assert decoded["candidate"]["magpsf"] == pytest.approx(alert["candidate"]["magpsf"], abs=1e-5)


def test_a_million_alert_night_starts_at_once_and_streams_in_bounded_memory():
    tracemalloc.start()
    start = time.monotonic()
    try:
        stream = generate_night(1_000_000, 11, NIGHT, cutouts=False)
        first = next(stream)
        first_seconds = time.monotonic() - start
        count = 1 + sum(1 for _ in itertools.islice(stream, 1200))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert first["objectId"]
    assert count == 1201
    assert first_seconds < 10
    assert peak < 300 * 2**20


def test_bad_arguments_are_rejected_clearly():
    with pytest.raises(ValueError, match="n_alerts"):
        next(generate_night(-1, 0, NIGHT))
    with pytest.raises(ValueError, match="unknown population kinds"):
        next(generate_night(5, 0, NIGHT, mix={"kilonova": 1.0}))
    with pytest.raises(ValueError, match="outside the simulated survey"):
        next(generate_night(5, 0, date(2050, 1, 1)))


def test_worker_processes_give_the_same_bytes_in_the_same_order():
    config = NightConfig(n_alerts=700, seed=12, night=NIGHT, cutouts=False)
    single = [(e.candid, e.value) for e in encoded_night(config, workers=1)]
    parallel = [(e.candid, e.value) for e in encoded_night(config, workers=2)]
    assert len(single) == 700
    assert parallel == single
