"""Cutouts as PNG images: size, orientation, stretch and the flipped negative difference."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from finkportal_portal.figures.cutouts import stretch_cutout
from finkportal_portal.figures.stamps import cutout_png, cutout_src


def decoded(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.mode == "LA"
    assert image.size == (63, 63)
    return np.asarray(image)


def ramp() -> np.ndarray:
    """Rows 0..62 increasing: row 0 faintest."""
    return np.repeat(np.arange(63, dtype=float)[:, None], 63, axis=1)


def test_row_0_is_drawn_at_the_bottom_with_the_stretch_of_the_figures() -> None:
    pixels = decoded(cutout_png(ramp(), "Science"))
    expected = np.round(np.flipud(stretch_cutout(ramp(), "Science")) * 255)
    assert np.array_equal(pixels[..., 0], expected.astype(np.uint8))
    assert pixels[-1, 0, 0] == 0
    assert pixels[0, 0, 0] == 255


def test_a_negative_difference_is_shown_sign_flipped() -> None:
    positive = decoded(cutout_png(ramp(), "Difference", "t"))[..., 0].astype(int)
    negative = decoded(cutout_png(ramp(), "Difference", "f"))[..., 0].astype(int)
    # Linear stretch between symmetric percentiles: flipping the sign mirrors the levels.
    assert np.all(np.abs(positive + negative - 255) <= 1)


def test_missing_pixels_are_transparent_and_missing_stamps_a_drawn_square() -> None:
    stamp = ramp()
    stamp[10, 20] = np.nan
    alpha = decoded(cutout_png(stamp, "Template"))[..., 1]
    assert alpha[62 - 10, 20] == 0
    assert np.count_nonzero(alpha == 0) == 1
    src = cutout_src(stamp.tolist(), "template")
    assert base64.b64decode(src.removeprefix("data:image/png;base64,"))[:4] == b"\x89PNG"
    assert cutout_src(None, "Science").startswith("data:image/svg+xml")
    assert "No%20science%20cutout" in cutout_src([], "Science")
