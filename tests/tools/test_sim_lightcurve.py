"""simulate_light_curve: known-truth light curves for fitter recovery tests."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.timeseries import LombScargle

from finkportal_tools.sim import simulate_light_curve
from finkportal_tools.sim.models import microlensing_mag


def test_light_curves_are_reproducible_and_seed_dependent():
    first = simulate_light_curve("sn_ia", seed=3)
    again = simulate_light_curve("sn_ia", seed=3)
    other = simulate_light_curve("sn_ia", seed=4)
    assert np.array_equal(first.mag, again.mag)
    assert first.truth == again.truth
    assert first.truth["t_peak"] != other.truth["t_peak"]


def test_arrays_are_aligned_sorted_and_two_band():
    lc = simulate_light_curve("periodic", {"mean_mag_g": 16.0, "mean_mag_r": 15.7}, seed=1)
    assert len(lc.jd) == len(lc.fid) == len(lc.mag) == len(lc.magerr) > 30
    assert np.all(np.diff(lc.jd) > 0)
    assert set(lc.fid.tolist()) == {1, 2}
    assert np.all(lc.magerr > 0)
    assert np.all(np.isfinite(lc.mag))
    assert len(lc.limit_jd) == len(lc.diffmaglim)


@pytest.mark.parametrize("subtype", ["rrlyrae", "cepheid", "eclipsing"])
def test_lomb_scargle_recovers_the_period(subtype):
    recovered = 0
    for seed in range(6):
        lc = simulate_light_curve("periodic", {"subtype": subtype, "mean_mag_g": 16.0,
                                               "mean_mag_r": 15.6}, seed=seed,
                                  duration_days=200)
        period = lc.truth["period"]
        freq = np.linspace(0.08, 5.5, 50_000)
        power = np.zeros_like(freq)
        for band in (1, 2):
            sel = lc.fid == band
            power += LombScargle(lc.jd[sel], lc.mag[sel], lc.magerr[sel]).power(freq)
        best = 1 / freq[np.argmax(power)]
        # An eclipsing binary's strongest peak can be half its period.
        recovered += any(abs(best - k * period) < 0.01 * k * period for k in (1.0, 0.5))
    assert recovered >= 5


def test_microlensing_peak_is_at_t0_and_matches_paczynski():
    truth = {"t0": 2460260.0, "u0": 0.1, "tE": 25.0, "baseline_mag_r": 17.0,
             "baseline_mag_g": 17.8, "blend_fraction": 0.7}
    lc = simulate_light_curve("microlensing", truth, seed=5)
    assert lc.truth["t0"] == truth["t0"]
    assert lc.truth["type"] == "microlensing"
    r = lc.fid == 2
    brightest = lc.jd[r][np.argmin(lc.mag[r])]
    assert abs(brightest - truth["t0"]) < 3.0
    model = microlensing_mag(lc.jd, lc.fid, lc.truth)
    pulls = (lc.mag - model) / lc.magerr
    # Only magnified epochs pass the 5-sigma cut: a small bright bias is expected.
    assert abs(np.mean(pulls)) < 0.5
    assert 0.6 < np.std(pulls) < 1.5


def test_supernova_rises_to_its_peak_then_fades():
    lc = simulate_light_curve("sn_ia", {"t_peak": 2460260.0, "peak_mag_g": 17.0,
                                         "peak_mag_r": 17.05}, seed=2)
    g = lc.fid == 1
    brightest = lc.jd[g][np.argmin(lc.mag[g])]
    assert abs(brightest - 2460260.0) < 4.0
    assert lc.jd.min() >= lc.truth["explosion_jd"] - 3  # nothing before the explosion
    late = g & (lc.jd > 2460290.0)
    assert np.all(lc.mag[late] > 17.0 + 1.0)
    assert np.array_equal(lc.mag, lc.magpsf)  # no reference flux: DC is magpsf


def test_bad_requests_are_rejected():
    with pytest.raises(ValueError, match="kind must be one of"):
        simulate_light_curve("asteroid")
    with pytest.raises(ValueError, match="unknown microlensing parameters"):
        simulate_light_curve("microlensing", {"period": 3.0})
