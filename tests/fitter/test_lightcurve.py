"""Light curves from Fink alert rows: DC magnitudes, cleaning, and bad inputs."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from finkportal_core.alerts.files import iter_alert_files
from finkportal_fitter.errors import BadLightCurveError, InvalidFitOptionError
from finkportal_fitter.lightcurve import light_curve_from_arrays, light_curve_from_rows
from finkportal_tools.sim import simulate_light_curve

MULENS_CANDIDATES = ("alerts/astrolabsoftware_fink-usecases/notebooks/data/"
                     "microlensing_object_candidates")


def row(jd: float, fid: int = 1, magpsf: Any = 18.0, sigmapsf: Any = 0.05, *,
        isdiffpos: Any = "t", magnr: Any = 17.0, sigmagnr: Any = 0.02,
        distnr: Any = 0.3) -> dict[str, Any]:
    return {"i:jd": jd, "i:fid": fid, "i:magpsf": magpsf, "i:sigmapsf": sigmapsf,
            "i:isdiffpos": isdiffpos, "i:magnr": magnr, "i:sigmagnr": sigmagnr,
            "i:distnr": distnr}


def test_dc_magnitude_matches_fink_formula_computed_by_hand() -> None:
    # f_ref = 10^-6.8 = 1.584893e-7, f_diff = 10^-7.2 = 6.309573e-8.
    # 't': f_DC = 2.215851e-7 -> m = 16.636149; sigma_f = hypot(0.02 f_ref, 0.05 f_diff)/1.0857
    #      = 4.119152e-9 -> sigma_m = 1.0857 * 4.119152e-9 / 2.215851e-7 = 0.0201826.
    # 'f': f_DC = 9.539358e-8 -> m = 17.551202, sigma_m = 0.0468812.
    lc = light_curve_from_rows([row(2460000.5, isdiffpos="t"), row(2460001.5, isdiffpos="f")])
    assert lc.kind == "dc"
    np.testing.assert_allclose(lc.mag, [16.636149, 17.551202], atol=2e-6)
    np.testing.assert_allclose(lc.magerr, [0.0201826, 0.0468812], atol=2e-7)


@pytest.mark.parametrize(("positive", "negative"), [("t", "f"), ("1", "0"), (True, False)])
def test_every_isdiffpos_spelling_gives_the_same_sign(positive: Any, negative: Any) -> None:
    lc = light_curve_from_rows([row(1.0, isdiffpos=positive), row(2.0, isdiffpos=negative)])
    np.testing.assert_allclose(lc.mag, [16.636149, 17.551202], atol=2e-6)


def test_points_whose_total_flux_is_not_positive_or_unknown_are_dropped() -> None:
    # A negative difference brighter than the reference would make the total flux negative;
    # without isdiffpos the total flux is unknown.
    rows = [row(1.0), row(2.0, magpsf=16.5, isdiffpos="f"), row(3.0), row(4.0, isdiffpos=None)]
    lc = light_curve_from_rows(rows)
    np.testing.assert_array_equal(lc.jd, [1.0, 3.0])
    np.testing.assert_array_equal(light_curve_from_rows(rows, use_dc="never").jd,
                                  [1.0, 2.0, 3.0, 4.0])


def test_auto_falls_back_to_difference_magnitudes_when_a_point_has_no_reference() -> None:
    rows = [row(1.0), row(2.0, distnr=2.4), row(3.0, distnr=-999.0, magnr=-999.0),
            row(4.0, magnr=-999.0)]
    auto = light_curve_from_rows(rows)
    assert auto.kind == "difference"
    np.testing.assert_array_equal(auto.mag, [18.0, 18.0, 18.0, 18.0])
    assert light_curve_from_rows(rows, use_dc="never").kind == "difference"


def test_always_keeps_only_the_points_with_a_reference() -> None:
    rows = [row(1.0), row(2.0, distnr=2.4), row(3.0, distnr=None)]
    lc = light_curve_from_rows(rows, use_dc="always")
    assert lc.kind == "dc"
    np.testing.assert_array_equal(lc.jd, [1.0])
    with pytest.raises(BadLightCurveError, match="reference source"):
        light_curve_from_rows([row(2.0, distnr=2.4)], use_dc="always")


def test_cleaning_drops_bad_points_deduplicates_and_sorts() -> None:
    rows = [row(5.0), row(1.0, magpsf=None), row(2.0, magpsf=float("nan")),
            row(3.0, sigmapsf=1.2, sigmagnr=0.0), row(4.0, fid=2, sigmapsf=0.1),
            row(4.0, fid=2, sigmapsf=0.03), row(4.0, fid=1)]
    lc = light_curve_from_rows(rows, use_dc="never")
    np.testing.assert_array_equal(lc.jd, [4.0, 4.0, 5.0])
    np.testing.assert_array_equal(lc.fid, [1, 2, 1])
    # Of the two alerts at (4.0, r), the more precise one stays.
    np.testing.assert_allclose(lc.magerr, [0.05, 0.03, 0.05])


@pytest.mark.parametrize("rows", [[], [row(1.0, magpsf=None), row(2.0, magpsf=float("nan"))],
                                  [row(1.0, sigmapsf=None)]])
def test_rows_without_a_usable_detection_are_a_bad_light_curve(rows: list[dict[str, Any]]) -> None:
    with pytest.raises(BadLightCurveError) as caught:
        light_curve_from_rows(rows)
    if rows:  # the message counts the points it was given, not the ones left
        assert f"among {len(rows)} points" in caught.value.message


def test_bad_arrays_and_options_are_refused() -> None:
    with pytest.raises(BadLightCurveError, match="one value per point"):
        light_curve_from_arrays([1.0, 2.0], [1], [18.0, 18.1], [0.1, 0.1])
    with pytest.raises(BadLightCurveError, match="no usable detection"):
        light_curve_from_arrays([1.0], [1], [float("nan")], [0.1])
    with pytest.raises(InvalidFitOptionError):
        light_curve_from_rows([row(1.0)], use_dc="sometimes")  # type: ignore[arg-type]
    with pytest.raises(InvalidFitOptionError):
        light_curve_from_arrays([1.0], [1], [18.0], [0.1], kind="total")  # type: ignore[arg-type]


def test_rows_of_a_simulated_event_give_the_simulators_dc_magnitudes() -> None:
    sim = simulate_light_curve("microlensing", {"u0": 0.1, "baseline_mag_r": 17.0}, seed=4)
    rows = [row(float(jd), int(fid), float(m), float(s), isdiffpos=str(pos), magnr=float(nr),
                sigmagnr=0.0, distnr=0.2)
            for jd, fid, m, s, pos, nr in zip(sim.jd, sim.fid, sim.magpsf, sim.sigmapsf,
                                              sim.isdiffpos, sim.magnr, strict=True)]
    lc = light_curve_from_rows(rows)
    assert lc.kind == "dc"
    assert len(lc) == len(sim) > 20
    order = np.lexsort((sim.fid, sim.jd))
    np.testing.assert_allclose(lc.mag, sim.mag[order], rtol=1e-10)
    np.testing.assert_allclose(lc.magerr, sim.magerr[order], rtol=1e-10)


@pytest.mark.realdata
def test_real_microlensing_candidates_become_dc_light_curves(real_data_dir: Path) -> None:
    rows_by_object: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for alert in iter_alert_files(real_data_dir / MULENS_CANDIDATES):
        for measurement in [alert["candidate"], *(alert["prv_candidates"] or [])]:
            rows_by_object[alert["objectId"]].append(
                {f"i:{key}": value for key, value in measurement.items()})
    lc = light_curve_from_rows(rows_by_object["ZTF18acvqrrf"])
    detections = {(r["i:jd"], r["i:fid"]) for r in rows_by_object["ZTF18acvqrrf"]
                  if r["i:magpsf"] is not None}
    assert lc.kind == "dc"
    assert len(lc) == len(detections) > 40  # every detection once (alerts repeat history)
    assert np.all(np.diff(lc.jd) >= 0)
    by_point = {(r["i:jd"], r["i:fid"]): r for r in rows_by_object["ZTF18acvqrrf"]}
    for jd, fid, mag in zip(lc.jd, lc.fid, lc.mag, strict=True):
        source = by_point[(jd, fid)]
        # A positive difference adds to the reference star, a negative one dims it.
        brighter = source["i:isdiffpos"] in ("t", "1")
        assert (mag < source["i:magnr"]) == brighter
