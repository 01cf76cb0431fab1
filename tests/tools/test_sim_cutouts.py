"""Synthetic cutouts are valid gzipped FITS images holding the alert's source."""

from __future__ import annotations

import gzip
import io
import warnings
from datetime import date

import numpy as np
import pytest
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

from finkportal_tools.sim import generate_night_with_truth
from finkportal_tools.sim.fits import BLOCK, fits_bytes, gzipped_fits

CUTOUTS = ("cutoutScience", "cutoutTemplate", "cutoutDifference")


def open_stamp(stamp: bytes) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("error", VerifyWarning)  # a non-standard header fails
        with fits.open(io.BytesIO(gzip.decompress(stamp))) as hdul:
            hdul.verify("exception")
            assert hdul[0].header["BITPIX"] == -32
            return np.asarray(hdul[0].data, dtype=np.float64)


@pytest.fixture(scope="module")
def night() -> list[tuple[dict, dict]]:
    return list(generate_night_with_truth(120, 13, date(2023, 10, 15)))


def test_cutouts_open_with_astropy_as_63x63_float_images(night):
    for alert, _ in night[:30]:
        for name in CUTOUTS:
            image = open_stamp(alert[name]["stampData"])
            assert image.shape == (63, 63)
            assert np.isfinite(image).all()
        assert alert["cutoutScience"]["fileName"].startswith(f"candid{alert['candid']}_")


def test_science_minus_template_is_the_difference(night):
    for alert, _ in night[:20]:
        sci, ref, diff = (open_stamp(alert[name]["stampData"]) for name in CUTOUTS)
        assert np.allclose(sci - ref, diff, atol=1e-2 * max(1.0, np.abs(sci).max() * 1e-4))


def test_difference_shows_the_reported_flux_at_the_centre(night):
    """A PSF source at the centre, brighter for brighter magpsf, signed by isdiffpos."""
    real = [(a, t) for a, t in night if t["type"] != "bogus" and a["candidate"]["magpsf"] < 19]
    assert len(real) > 10
    for alert, _ in real:
        diff = open_stamp(alert["cutoutDifference"]["stampData"])
        centre = diff[29:34, 29:34].sum()
        noise = np.std(diff[:15, :15])
        sign = 1 if alert["candidate"]["isdiffpos"] == "t" else -1
        assert sign * centre > 5 * noise

    for alert, _ in [(a, t) for a, t in real if a["candidate"]["magpsf"] < 18]:
        # The PSF flux in a 9x9 box is magpsf at the stamp zero point (26.2).
        diff = open_stamp(alert["cutoutDifference"]["stampData"])
        flux = 10 ** (-0.4 * (alert["candidate"]["magpsf"] - 26.2))
        box_noise = 9 * np.std(diff[:15, :15])
        assert abs(diff[27:36, 27:36].sum()) == pytest.approx(flux, rel=0.05, abs=4 * box_noise)


def test_supernova_templates_show_a_host_galaxy(night):
    sne = [a for a, t in night if t["type"] == "sn_ia" and a["candidate"]["magnr"] < 19.5]
    assert sne
    for alert in sne:
        template = open_stamp(alert["cutoutTemplate"]["stampData"])
        corner = template[:11, :11]
        sky = np.median(corner)
        noise = 1.4826 * np.median(np.abs(corner - sky))  # robust to a field star
        # The host raises the mean of the central 11x11 box well above the sky.
        assert template[26:37, 26:37].mean() > sky + 5 * noise / 11


def test_stamps_are_reproducible_and_compressed(night):
    again = list(generate_night_with_truth(120, 13, date(2023, 10, 15)))
    for (first, _), (second, _) in zip(night[:5], again[:5], strict=True):
        for name in CUTOUTS:
            assert first[name] == second[name]
    assert night[0][0]["cutoutScience"] != night[1][0]["cutoutScience"]
    sizes = [len(a[name]["stampData"]) for a, _ in night for name in CUTOUTS]
    assert max(sizes) < 20160  # gzip beats the 20,160-byte raw FITS file


def test_fits_writer_pads_to_blocks_and_roundtrips():
    image = np.arange(63 * 63, dtype=np.float32).reshape(63, 63) - 100.5
    raw = fits_bytes(image)
    assert len(raw) == 7 * BLOCK  # one header block, 15,876 data bytes padded to six
    restored = open_stamp(gzipped_fits(image))
    assert np.array_equal(restored, image)
    assert gzipped_fits(image) == gzipped_fits(image)  # no timestamp in the gzip header
    with pytest.raises(ValueError, match="2-D"):
        fits_bytes(np.zeros(5, dtype=np.float32))
