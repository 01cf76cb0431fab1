"""Ground truth of the simulated populations is visible in the alerts they produce."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

import numpy as np
import pytest
from astropy.timeseries import LombScargle

from finkportal_tools.sim import generate_night_with_truth
from finkportal_tools.sim.models import periodic_mag, pspl_magnification, sn_ia_mag
from finkportal_tools.sim.photometry import dc_mag

NIGHT = date(2024, 3, 2)


@pytest.fixture(scope="module")
def night() -> list[tuple[dict, dict]]:
    return list(generate_night_with_truth(800, 21, NIGHT, cutouts=False))


def by_type(night, kind: str) -> list[tuple[dict, dict]]:
    return [(a, t) for a, t in night if t["type"] == kind]


def test_every_population_is_present(night):
    counts = Counter(t["type"] for _, t in night)
    assert set(counts) == {"sn_ia", "periodic", "microlensing", "asteroid", "bogus"}
    assert all(n >= 20 for n in counts.values())


def test_truth_is_not_inside_alerts(night):
    alert, _truth = night[0]
    flat = str({k: v for k, v in alert.items() if not k.startswith("cutout")})
    assert "'type'" not in flat
    assert "t_peak" not in flat
    assert "tE" not in flat


def test_supernovae_sit_on_a_host_and_look_like_supernovae(night):
    sne = by_type(night, "sn_ia")
    snn = [a["snn_snia_vs_nonia"] for a, _ in sne]
    assert np.mean(np.array(snn) > 0.5) > 0.7
    for alert, truth in sne:
        cand = alert["candidate"]
        assert alert["cdsxmatch"] == "Unknown"
        assert alert["roid"] == 0
        assert cand["distnr"] == pytest.approx(truth["host_offset_arcsec"])
        assert cand["sgscore1"] < 0.2  # the nearest Pan-STARRS source is a galaxy
        assert cand["isdiffpos"] == "t"
        # First detected after the explosion (at 1 % of peak flux, only the
        # nearest are detectable a little earlier) and not after the alert.
        assert truth["explosion_jd"] - 3 < cand["jdstarthist"] <= cand["jd"]


def test_supernova_model_rises_then_reddens(night):
    for _, truth in by_type(night, "sn_ia")[:20]:
        t = truth["t_peak"]
        g0, r0 = sn_ia_mag(np.array([t, t]), np.array([1, 2]), truth)
        g30, r30 = sn_ia_mag(np.array([t + 30, t + 30]), np.array([1, 2]), truth)
        assert g30 - r30 > g0 - r0 + 0.3
        early, peak = sn_ia_mag(np.array([t - truth["rise_time"], t]), np.array([2, 2]), truth)
        assert early - peak == pytest.approx(5.0, abs=0.01)  # 1 % of peak flux at explosion
        assert 15.0 <= truth["rise_time"] / (1 + truth["redshift"]) <= 20.0


def test_supernova_detections_follow_the_true_model(night):
    pulls = []
    for alert, truth in by_type(night, "sn_ia"):
        for p in [alert["candidate"], *[p for p in alert["prv_candidates"] if p["magpsf"]]]:
            model = sn_ia_mag(np.array([p["jd"]]), np.array([p["fid"]]), truth)[0]
            pulls.append((p["magpsf"] - model) / p["sigmapsf"])
    pulls = np.array(pulls)
    assert len(pulls) > 200
    # Detections near the limit are biased bright (only upward fluctuations pass).
    assert abs(np.median(pulls)) < 0.4
    assert 0.6 < np.std(pulls) < 1.6


def test_variables_match_their_reference_star_and_simbad_type(night):
    variables = by_type(night, "periodic")
    for alert, truth in variables:
        cand = alert["candidate"]
        assert alert["cdsxmatch"] == truth["simbad_type"] in {"RRLyr", "EB*", "Ce*"}
        assert 0.2 <= truth["period"] <= 10.0
        assert cand["distnr"] < 0.5
        assert cand["sgscore1"] > 0.9
        assert cand["ndethist"] > 30  # known for years
    assert {a["candidate"]["isdiffpos"] for a, _ in variables} == {"t", "f"}


def test_variable_dc_magnitudes_follow_the_true_model(night):
    """Reconstructed total magnitudes agree with the model within the errors."""
    pulls = []
    for alert, truth in by_type(night, "periodic"):
        points = [alert["candidate"], *[p for p in alert["prv_candidates"] if p["magpsf"]]]
        for p in points:
            total = dc_mag(np.array([p["magpsf"]]), p["magnr"], np.array([p["isdiffpos"] == "t"]))
            model = periodic_mag(np.array([p["jd"]]), np.array([p["fid"]]), truth)
            # DC error: the difference-flux error scaled by the flux ratio.
            err = p["sigmapsf"] * 10 ** (-0.4 * (p["magpsf"] - total[0]))
            pulls.append((total[0] - model[0]) / err)
    pulls = np.array(pulls)
    assert len(pulls) > 200
    assert abs(np.median(pulls)) < 0.3
    assert 0.6 < np.std(pulls) < 1.6


def test_periods_are_found_by_lomb_scargle_in_a_long_history():
    """With a year of history the period shows in the alert light curves."""
    night = generate_night_with_truth(150, 4, NIGHT, cutouts=False, history_days=365,
                                      mix={"periodic": 1.0})
    latest: dict[str, tuple[dict, dict]] = {}
    for alert, truth in night:
        latest[alert["objectId"]] = (alert, truth)
    found = total = 0
    for alert, truth in list(latest.values())[:20]:
        points = [p for p in alert["prv_candidates"] if p["magpsf"]] + [alert["candidate"]]
        r = [p for p in points if p["fid"] == 2]
        if len(r) < 40:
            continue
        jd = np.array([p["jd"] for p in r])
        mag = dc_mag(np.array([p["magpsf"] for p in r]), np.array([p["magnr"] for p in r]),
                     np.array([p["isdiffpos"] == "t" for p in r]))
        freq = np.linspace(0.09, 5.5, 40_000)
        best = 1 / freq[np.argmax(LombScargle(jd, mag).power(freq))]
        total += 1
        # Eclipsing binaries peak at P or P/2 (two eclipses per period).
        found += any(abs(best - k * truth["period"]) < 0.01 * k * truth["period"]
                     for k in (1.0, 0.5))
    assert total >= 15
    assert found / total > 0.75


def test_microlensing_events_brighten_as_paczynski_predicts(night):
    events = by_type(night, "microlensing")
    assert all(a["mulens"] > 0 and a["cdsxmatch"] == "Unknown" for a, _ in events)
    for alert, truth in events:
        cand = alert["candidate"]
        assert cand["isdiffpos"] == "t"  # magnified above the baseline
        total = dc_mag(np.array([cand["magpsf"]]), cand["magnr"], np.array([True]))[0]
        base = truth["baseline_mag_r"] if cand["fid"] == 2 else truth["baseline_mag_g"]
        amp = pspl_magnification(np.array([cand["jd"]]), truth["t0"], truth["u0"], truth["tE"])
        fs = truth["blend_fraction"]
        expected = base - 2.5 * np.log10(fs * amp[0] + 1 - fs)
        assert total == pytest.approx(expected, abs=0.05 + 5 * cand["sigmapsf"])


def test_asteroids_move_and_are_detected_once_per_object(night):
    asteroids = by_type(night, "asteroid")
    per_object = Counter(a["objectId"] for a, _ in asteroids)
    assert set(per_object.values()) == {1}
    by_name = defaultdict(list)
    for alert, truth in asteroids:
        cand = alert["candidate"]
        assert alert["roid"] == 3
        assert cand["ssnamenr"] == truth["ssnamenr"] != "null"
        assert cand["ndethist"] == 1
        assert all(p["magpsf"] is None for p in alert["prv_candidates"])
        by_name[truth["ssnamenr"]].append(cand)
    moved = [c for c in by_name.values() if len(c) == 2]
    assert moved, "some asteroids are seen in both visits"
    for first, second in moved:
        hours = (second["jd"] - first["jd"]) * 24
        shift = np.hypot((second["ra"] - first["ra"]) * np.cos(np.radians(first["dec"])),
                         second["dec"] - first["dec"]) * 3600
        assert shift > 1.5
        assert hours > 0


def test_bogus_detections_score_low(night):
    bogus = by_type(night, "bogus")
    real = [a for a, t in night if t["type"] != "bogus"]
    assert max(a["candidate"]["drb"] for a, _ in bogus) < 0.1
    assert max(a["candidate"]["rb"] for a, _ in bogus) < 0.35
    assert np.median([a["candidate"]["drb"] for a in real]) > 0.9
    assert all(a["snn_sn_vs_all"] < 0.6 and a["roid"] == 0 for a, _ in bogus)
