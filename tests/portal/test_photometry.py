"""Fink's light-curve units against values computed by hand (arithmetic in the comments)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from finkportal_portal.photometry import (
    UNITS,
    candid_text,
    dc_available,
    dc_mag,
    diffpos_sign,
    flux_error,
    has_reference,
    jd_to_iso,
    light_curve_points,
    mag_error,
    mag_to_mjy,
    point_count,
)

# Hand-computed, magpsf 18 (sigma 0.1), magnr 17 (sigma 0.05):
#   f_ref  = 10^(-0.4*17) = 10^-6.8 = 1.584893e-7
#   f_diff = 10^(-0.4*18) = 10^-7.2 = 6.309573e-8
#   't': f_DC = 1.584893e-7 + 6.309573e-8 = 2.215851e-7, m_DC = -2.5 log10(2.215851e-7) = 16.636149
#   'f': f_DC = 1.584893e-7 - 6.309573e-8 = 9.539358e-8, m_DC = -2.5 log10(9.539358e-8) = 17.551202
#   sigma_ref  = 0.05 / 1.0857 * 1.584893e-7 = 7.298946e-9
#   sigma_diff = 0.1 / 1.0857 * 6.309573e-8 = 5.811526e-9
#   sigma_DC   = sqrt(7.298946e-9^2 + 5.811526e-9^2) = 9.329976e-9
#   't': sigma_mDC = 1.0857 * 9.329976e-9 / 2.215851e-7 = 0.045714
#   'f': sigma_mDC = 1.0857 * 9.329976e-9 / 9.539358e-8 = 0.106187
DC_MAG_T, DC_ERR_T = 16.636149, 0.045714
DC_MAG_F, DC_ERR_F = 17.551202, 0.106187
# In mJy (3631 Jy = 3.631e6 mJy at m = 0):
#   difference: 3.631e6 * 6.309573e-8 = 0.229101 mJy, error 0.1 / 1.0857 * 0.229101 = 0.021102
#   DC 't': 3.631e6 * 2.215851e-7 = 0.804575 mJy, error 3.631e6 * 9.329976e-9 = 0.033877
DIFF_MJY, DIFF_MJY_ERR = 0.229101, 0.021102
DC_MJY, DC_MJY_ERR = 0.804575, 0.033877


def alert(jd: Any = 2459000.5, fid: Any = 1, magpsf: Any = 18.0, sigmapsf: Any = 0.1,
          isdiffpos: Any = "t", magnr: Any = 17.0, sigmagnr: Any = 0.05, distnr: Any = 0.5,
          candid: Any = 1000, tag: str | None = None, diffmaglim: Any = 20.5) -> dict[str, Any]:
    """One query-API row; ``tag`` None leaves ``d:tag`` out (a request without upper limits)."""
    row = {"i:jd": jd, "i:fid": fid, "i:magpsf": magpsf, "i:sigmapsf": sigmapsf,
           "i:isdiffpos": isdiffpos, "i:magnr": magnr, "i:sigmagnr": sigmagnr,
           "i:distnr": distnr, "i:candid": candid, "i:diffmaglim": diffmaglim}
    if tag is not None:
        row["d:tag"] = tag
    return row


def only_point(rows: list[dict[str, Any]], unit: str) -> tuple[float, float]:
    bands = light_curve_points(rows, unit)
    assert point_count(bands) == 1, bands
    band = next(iter(bands.values()))
    return float(band.y[0]), float(band.yerr[0])


def test_ab_zero_point_in_millijansky() -> None:
    # 3631 Jy at m = 0 is 3.631e6 mJy; m = 20: 3.631e6 * 10^-8 = 0.03631 mJy.
    assert mag_to_mjy(0.0) == pytest.approx(3.631e6)
    assert mag_to_mjy(20.0) == pytest.approx(0.03631)
    assert mag_to_mjy(18.0) == pytest.approx(DIFF_MJY, rel=1e-5)


def test_errors_between_magnitudes_and_fluxes() -> None:
    # sigma_f = 0.1 / 1.0857 * 0.229101 = 0.021102, and back: 1.0857 * 0.021102 / 0.229101 = 0.1
    assert flux_error(0.1, DIFF_MJY) == pytest.approx(DIFF_MJY_ERR, rel=1e-4)
    assert mag_error(DIFF_MJY_ERR, DIFF_MJY) == pytest.approx(0.1, rel=1e-4)


def test_dc_mag_positive_and_negative_difference() -> None:
    mag, err = dc_mag(18.0, 0.1, 17.0, 0.05, "t")
    assert mag[0] == pytest.approx(DC_MAG_T, abs=1e-6)
    assert err[0] == pytest.approx(DC_ERR_T, abs=1e-6)
    mag, err = dc_mag(18.0, 0.1, 17.0, 0.05, "f")
    assert mag[0] == pytest.approx(DC_MAG_F, abs=1e-6)
    assert err[0] == pytest.approx(DC_ERR_F, abs=1e-6)


@pytest.mark.parametrize("flag", ["t", "1", True, 1, "T", " true "])
def test_every_spelling_of_a_positive_difference(flag: Any) -> None:
    assert diffpos_sign(flag) == 1.0
    assert dc_mag(18.0, 0.1, 17.0, 0.05, flag)[0][0] == pytest.approx(DC_MAG_T, abs=1e-6)


@pytest.mark.parametrize("flag", ["f", "0", False, 0, "F"])
def test_every_spelling_of_a_negative_difference(flag: Any) -> None:
    assert diffpos_sign(flag) == -1.0
    assert dc_mag(18.0, 0.1, 17.0, 0.05, flag)[0][0] == pytest.approx(DC_MAG_F, abs=1e-6)


@pytest.mark.parametrize("flag", [None, "", "x"])
def test_unknown_sign(flag: Any) -> None:
    assert math.isnan(diffpos_sign(flag))


def test_dc_mag_is_nan_when_the_total_flux_is_not_positive() -> None:
    # magpsf 16.5 brighter than the reference 17, 'f': 1.584893e-7 - 2.511886e-7 < 0.
    assert np.isnan(dc_mag(16.5, 0.1, 17.0, 0.05, "f")[0][0])


def test_each_unit_of_one_alert() -> None:
    rows = [alert()]
    assert only_point(rows, "diffmag") == (18.0, 0.1)
    assert only_point(rows, "dcmag") == (pytest.approx(DC_MAG_T, abs=1e-6),
                                         pytest.approx(DC_ERR_T, abs=1e-6))
    assert only_point(rows, "diffflux") == (pytest.approx(DIFF_MJY, rel=1e-5),
                                            pytest.approx(DIFF_MJY_ERR, rel=1e-4))
    assert only_point(rows, "dcflux") == (pytest.approx(DC_MJY, rel=1e-5),
                                          pytest.approx(DC_MJY_ERR, rel=1e-4))


def test_difference_flux_is_negative_when_the_object_faded() -> None:
    flux, err = only_point([alert(isdiffpos="f")], "diffflux")
    assert flux == pytest.approx(-DIFF_MJY, rel=1e-5)
    assert err == pytest.approx(DIFF_MJY_ERR, rel=1e-4)  # errors stay positive
    assert only_point([alert(isdiffpos="0")], "dcmag")[0] == pytest.approx(DC_MAG_F, abs=1e-6)
    # No sign known: neither a signed flux nor a total flux can be built.
    for unit in ("diffflux", "dcmag", "dcflux"):
        assert point_count(light_curve_points([alert(isdiffpos=None)], unit)) == 0
    assert point_count(light_curve_points([alert(isdiffpos=None)], "diffmag")) == 1


def test_points_with_an_error_of_one_magnitude_or_more_are_dropped() -> None:
    rows = [alert(jd=1, sigmapsf=0.999, candid=1), alert(jd=2, sigmapsf=1.0, candid=2),
            alert(jd=3, sigmapsf=1.7, candid=3)]
    for unit in ("diffmag", "diffflux"):
        assert light_curve_points(rows, unit)[1].candid.tolist() == ["1"]
    # In DC the error is the total magnitude's: sigmapsf 1.2 on a fainter difference gives
    # sigma_diff = 1.2 / 1.0857 * 6.309573e-8 = 6.973831e-8,
    # sigma_DC = sqrt(7.298946e-9^2 + 6.973831e-8^2) = 7.011923e-8,
    # sigma_mDC = 1.0857 * 7.011923e-8 / 2.215851e-7 = 0.343563 < 1: kept.
    assert only_point([alert(sigmapsf=1.2)], "dcmag")[1] == pytest.approx(0.343563, abs=1e-6)
    # magpsf 17.05 'f' nearly cancels the reference: f_DC = 1.584893e-7 - 1.513561e-7
    # = 7.133194e-9, sigma_DC = sqrt(7.298946e-9^2 + (0.1/1.0857*1.513561e-7)^2) = 1.573603e-8,
    # sigma_mDC = 1.0857 * 1.573603e-8 / 7.133194e-9 = 2.395 >= 1: dropped.
    cancelling = [alert(magpsf=17.05, isdiffpos="f")]
    assert point_count(light_curve_points(cancelling, "dcmag")) == 0
    assert point_count(light_curve_points(cancelling, "dcflux")) == 0


@pytest.mark.parametrize(("distnr", "magnr", "kept"), [
    (0.0, 17.0, True), (1.5, 17.0, True), (1.51, 17.0, False), (5.6, 17.0, False),
    (-999.0, -999.0, False), (None, 17.0, False), (0.5, None, False), (0.5, -999.0, False),
])
def test_dc_needs_a_reference_source_within_one_and_a_half_arcsec(
        distnr: Any, magnr: Any, kept: bool) -> None:
    rows = [alert(distnr=distnr, magnr=magnr)]
    for unit in ("dcmag", "dcflux"):
        assert point_count(light_curve_points(rows, unit)) == int(kept)
    assert dc_available(rows) is kept
    assert point_count(light_curve_points(rows, "diffmag")) == 1  # always there


def test_has_reference_vectorised() -> None:
    assert has_reference([0.2, 1.6, -999.0], [17.0, 17.0, -999.0]).tolist() == [
        True, False, False]


def test_upper_limits_and_bad_quality_only_in_difference_magnitude() -> None:
    rows = [alert(jd=3, candid=30, tag="valid"),
            alert(jd=1, magpsf=None, sigmapsf=None, candid=None, tag="upperlim",
                  diffmaglim=20.25),
            alert(jd=2, magpsf=19.0, sigmapsf=0.3, candid=20, tag="badquality")]
    band = light_curve_points(rows, "diffmag")[1]
    assert band.kind.tolist() == ["upperlim", "badquality", "valid"]  # oldest first
    assert band.y.tolist() == [20.25, 19.0, 18.0]
    assert np.isnan(band.yerr[0])
    assert band.candid.tolist() == ["", "20", "30"]
    for unit in ("dcmag", "diffflux", "dcflux"):
        assert light_curve_points(rows, unit)[1].kind.tolist() == ["valid"]


def test_missing_values_are_skipped_not_fatal() -> None:
    rows = [alert(jd=1, magpsf=None, candid=1), alert(jd=None, candid=2),
            alert(jd=3, sigmapsf=None, candid=3), alert(jd=4, fid=None, candid=4),
            alert(jd=5, fid=4, candid=5), alert(jd=6, candid=6, tag="something else"),
            alert(jd=7, magpsf=float("nan"), candid=7), alert(jd=8, candid=8)]
    for unit in UNITS:
        bands = light_curve_points(rows, unit)
        assert [band.candid.tolist() for band in bands.values()] == [["8"]]
    assert light_curve_points([], "diffmag") == {}


def test_bands_split_and_sorted_oldest_first() -> None:
    # Rows come newest first from the API.
    rows = [alert(jd=5, fid=3, candid=5), alert(jd=4, fid=2, candid=4),
            alert(jd=3, fid=1, candid=3), alert(jd=2, fid=2, candid=2),
            alert(jd=1, fid=1, candid=1)]
    bands = light_curve_points(rows, "diffmag")
    assert {fid: band.jd.tolist() for fid, band in bands.items()} == {
        1: [1.0, 3.0], 2: [2.0, 4.0], 3: [5.0]}
    assert bands[2].candid.tolist() == ["2", "4"]
    assert bands[3].fid == 3


def test_candids_stay_exact() -> None:
    big = 2_345_678_901_234_567_891  # ZTF candids exceed a float's 2^53
    assert candid_text(big) == "2345678901234567891"
    assert light_curve_points([alert(candid=big)], "diffmag")[1].candid.tolist() == [
        "2345678901234567891"]
    assert candid_text(None) == ""
    assert candid_text("123") == "123"


def test_julian_dates_become_utc_dates() -> None:
    # JD 2440587.5 is the Unix epoch; JD 2451545.0 is J2000.0, 2000-01-01 12:00 UTC.
    assert jd_to_iso([2440587.5, 2451545.0, 2451545.25]) == [
        "1970-01-01T00:00:00.000", "2000-01-01T12:00:00.000", "2000-01-01T18:00:00.000"]
    assert jd_to_iso([float("nan")]) == ["NaT"]


def test_unknown_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="diffmag, dcmag, diffflux, dcflux"):
        light_curve_points([alert()], "flux")
