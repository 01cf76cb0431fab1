"""Cutout decoding and drawing, checked against real ZTF stamps and astropy's own reading."""

from __future__ import annotations

import gzip
import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from PIL import Image

from finkportal_core.alerts.files import iter_alert_files
from finkportal_query.cutouts import (
    CUTOUT_KINDS,
    STRETCHES,
    CutoutDecodeError,
    fits_bytes,
    render_png,
    stamp_field,
    stamp_to_array,
)
from finkportal_query.errors import BadParameterError

# Real packets (see INVENTORY.csv) chosen for their stamps: a plain 63x63 one, one with
# NaN pixels, one cut by a CCD edge (not square), one cut and with NaN pixels.
STAMP_FILES = (
    "ZwickyTransientFacility_alertbase/go/testdata/single.avro",
    "astrolabsoftware_fink-alert-schemas/ztf/ztf_public_20190903.schema.avro",
    "astrolabsoftware_fink-alert-simulator/_history/1930790907/datasim/697251920715010005.avro",
    "astrolabsoftware_fink-alert-simulator/_history/1930790907/datasim/697252382115010005.avro",
)


@pytest.fixture(scope="module")
def stamps(real_data_dir: Path) -> dict[str, bytes]:
    """Every cutout of the first alert of each file, named ``<file>:<kind>``."""
    found = {}
    for name in STAMP_FILES:
        alert = next(iter_alert_files(real_data_dir / "alerts" / name))
        for kind in CUTOUT_KINDS:
            found[f"{name}:{kind}"] = alert[stamp_field(kind)]["stampData"]
    return found


@pytest.fixture(scope="module")
def edge_stamp(stamps: dict[str, bytes]) -> bytes:
    """The science stamp that is not square and has NaN pixels."""
    return stamps[f"{STAMP_FILES[3]}:Science"]


def astropy_image(stamp: bytes) -> np.ndarray:
    """The reference decoding: gunzip, then astropy's own reading of the primary HDU."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ZTF's SIMPLE card is not at the standard column
        return fits.getdata(io.BytesIO(gzip.decompress(stamp)))


def decode_png(body: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(body))
    assert image.format == "PNG"
    assert image.mode == "RGB"
    return np.asarray(image)


def test_stamp_fields_are_the_alert_fields() -> None:
    assert [stamp_field(kind) for kind in CUTOUT_KINDS] == [
        "cutoutScience", "cutoutTemplate", "cutoutDifference"]
    with pytest.raises(BadParameterError, match="Science, Template, Difference"):
        stamp_field("science")


def test_real_stamps_decode_exactly_as_astropy_reads_them(stamps: dict[str, bytes]) -> None:
    shapes = set()
    with_nan = 0
    for name, stamp in stamps.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # decoding real stamps warns about nothing
            array = stamp_to_array(stamp)
        expected = astropy_image(stamp)
        assert array.dtype == np.float64, name
        assert array.flags.c_contiguous, name
        assert array.shape == expected.shape, name
        np.testing.assert_array_equal(array, expected.astype(np.float64), err_msg=name)
        shapes.add(array.shape)
        with_nan += bool(np.isnan(array).any())
    # The chosen files do cover the cases they were chosen for.
    assert (63, 63) in shapes
    assert len(shapes) > 1
    assert with_nan >= 2


def test_fits_bytes_is_a_standard_fits_file_with_the_same_image(stamps: dict[str, bytes]) -> None:
    for name, stamp in stamps.items():
        body = fits_bytes(stamp)
        assert body[:30] == b"SIMPLE  =                    T"
        assert len(body) % 2880 == 0
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # unlike ZTF's own file: no VerifyWarning
            with fits.open(io.BytesIO(body)) as hdus:
                hdus.verify("exception")
                data = hdus[0].data
                expected = astropy_image(stamp)
                assert data.dtype == expected.dtype, name
                np.testing.assert_array_equal(data, expected, err_msg=name)
                assert len(hdus) == 1


def test_fits_bytes_keeps_descriptive_header_cards(edge_stamp: bytes) -> None:
    with fits.open(io.BytesIO(fits_bytes(edge_stamp))) as hdus:
        assert hdus[0].header["BUNIT"] == "DN"


def test_uncompressed_fits_decodes_too(edge_stamp: bytes) -> None:
    np.testing.assert_array_equal(stamp_to_array(fits_bytes(edge_stamp)),
                                  stamp_to_array(edge_stamp))


def _broken_stamps(stamp: bytes) -> dict[str, object]:
    raw = gzip.decompress(stamp)
    bitpix = b"BITPIX  =" + b" " * 18  # the card up to its value, -32
    return {
        "empty": b"",
        "text": b"not a cutout at all" * 200,
        "gzip of text": gzip.compress(b"not a cutout" * 300),
        "cut gzip": stamp[: len(stamp) // 2],
        "corrupt gzip": stamp[:20] + bytes(len(stamp) - 20),
        "FITS without its data": raw[:2880],
        "FITS one block short": raw[:-2880],
        "gzip of cut FITS": gzip.compress(raw[:5760]),
        "header without END": raw.replace(b"END" + b" " * 77, b"XND" + b" " * 77),
        "bad BITPIX": raw.replace(bitpix + b"-32", bitpix + b"-3x"),
        "not bytes": "a string",
        "none": None,
    }


def test_broken_stamps_raise_a_clear_decode_error(edge_stamp: bytes) -> None:
    for label, broken in _broken_stamps(edge_stamp).items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # refused before astropy would warn
            with pytest.raises(CutoutDecodeError, match="cutout stamp") as caught:
                stamp_to_array(broken)  # type: ignore[arg-type]
        assert isinstance(caught.value, ValueError), label
        with pytest.raises(CutoutDecodeError):
            fits_bytes(broken)  # type: ignore[arg-type]


def test_png_has_the_stamp_size_and_fits_orientation(edge_stamp: bytes) -> None:
    array = stamp_to_array(edge_stamp)
    pixels = decode_png(render_png(array))
    assert pixels.shape == (*array.shape, 3)  # 63 rows, 44 columns
    ramp = np.arange(12.0).reshape(4, 3)  # FITS row 0 is the faintest
    drawn = decode_png(render_png(ramp, stretch="linear", colormap="gray", pmin=0, pmax=100))
    assert drawn[-1, 0].tolist() == [0, 0, 0]  # row 0 at the bottom
    assert drawn[0, -1].tolist() == [255, 255, 255]


def test_linear_gray_is_monotonic_and_greys_is_dark_on_light() -> None:
    ramp = np.linspace(-5.0, 40.0, 64).reshape(8, 8)
    gray = decode_png(render_png(ramp, stretch="linear", colormap="gray", pmin=0, pmax=100))
    levels = np.flipud(gray[..., 0]).ravel()
    assert np.all(np.diff(levels.astype(int)) >= 0)
    assert (levels[0], levels[-1]) == (0, 255)
    greys = decode_png(render_png(ramp, stretch="linear", colormap="Greys", pmin=0, pmax=100))
    assert greys[-1, 0, 0] > greys[0, -1, 0]  # faint pixels light, bright pixels dark
    inverted = decode_png(render_png(ramp, stretch="linear", colormap="Greys", pmin=0,
                                     pmax=100, invert=True))
    assert inverted[-1, 0, 0] < inverted[0, -1, 0]
    # The ramp is symmetric: inverting its levels mirrors the image (to a rounding).
    np.testing.assert_allclose(inverted, np.flip(greys, axis=(0, 1)), atol=1)


def test_every_stretch_draws_a_different_image(edge_stamp: bytes) -> None:
    array = stamp_to_array(edge_stamp)
    images = {stretch: decode_png(render_png(array, stretch=stretch)) for stretch in STRETCHES}
    for first in STRETCHES:
        for second in STRETCHES:
            if first < second:
                assert not np.array_equal(images[first], images[second]), (first, second)


def test_colormap_changes_the_pixels_and_colours_them(edge_stamp: bytes) -> None:
    array = stamp_to_array(edge_stamp)
    greys = decode_png(render_png(array))
    viridis = decode_png(render_png(array, colormap="viridis"))
    assert not np.array_equal(greys, viridis)
    assert np.all(greys[..., 0] == greys[..., 1])  # Greys stays grey
    assert np.any(viridis[..., 0] != viridis[..., 2])


def test_percentiles_clip_a_hot_pixel() -> None:
    image = np.tile(np.linspace(0.0, 1.0, 10), (10, 1))
    image[5, 5] = 1000.0
    full = decode_png(render_png(image, stretch="linear", colormap="gray", pmin=0, pmax=100))
    clipped = decode_png(render_png(image, stretch="linear", colormap="gray", pmin=0, pmax=95))
    assert full[..., 0].max() == 255
    assert np.median(full[..., 0]) < 5  # all crushed dark
    assert np.median(clipped[..., 0]) > 100  # the ramp spread over the levels


def test_nan_pixels_take_the_low_end_of_the_colormap() -> None:
    image = np.arange(16.0).reshape(4, 4)
    image[0, 0] = np.nan
    image[3, 3] = np.inf
    drawn = decode_png(render_png(image, stretch="linear", colormap="gray", pmin=0, pmax=100))
    assert drawn[-1, 0].tolist() == [0, 0, 0]
    assert drawn[0, -1].tolist() == [0, 0, 0]
    assert drawn[0, -2].tolist() == [255, 255, 255]  # the brightest finite pixel


@pytest.mark.parametrize("stretch", STRETCHES)
def test_flat_and_empty_images_still_render(stretch: str) -> None:
    for image in (np.full((5, 7), np.nan), np.full((5, 7), 3.5), np.full((5, 7), np.inf)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no division by zero, no all-NaN warnings
            pixels = decode_png(render_png(image, stretch=stretch))
        assert pixels.shape == (5, 7, 3)
        assert len(np.unique(pixels.reshape(-1, 3), axis=0)) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"stretch": "cubic"}, "sigmoid, linear, sqrt, power, log, asinh"),
        ({"colormap": "no-such-map"}, "matplotlib colormap name, e.g. Greys, viridis"),
        ({"colormap": ""}, "matplotlib colormap name"),
        ({"pmin": -1.0}, r"pmin must be a percentile in \[0, 100\]"),
        ({"pmax": 100.5}, r"pmax must be a percentile in \[0, 100\]"),
        ({"pmin": float("nan")}, "pmin must be a percentile"),
        ({"pmin": 50.0, "pmax": 50.0}, "pmin .* must be less than pmax"),
        ({"pmin": 90.0, "pmax": 10.0}, "pmin .* must be less than pmax"),
    ],
)
def test_bad_png_options_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(BadParameterError, match=message):
        render_png(np.ones((3, 3)), **options)  # type: ignore[arg-type]


def test_percentile_bounds_themselves_are_accepted() -> None:
    decode_png(render_png(np.arange(9.0).reshape(3, 3), pmin=0, pmax=100))
