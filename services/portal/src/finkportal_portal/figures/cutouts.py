"""The three 63x63 stamps of an alert (Science, Template, Difference) as grey images.

Science and Template get an asinh stretch between the 0.5 and 99.5 percentiles (faint
structure and a bright core both visible); the Difference a linear one between the same
percentiles, so that residual signs stay readable. A negative difference (``isdiffpos``
'f'/'0': the object faded) is shown sign-flipped, so the object is bright in every stamp.
Masked (NaN) pixels stay NaN (``figures.stamps`` makes them transparent and draws row 0
at the bottom, as ds9 shows a FITS stamp).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from finkportal_portal.photometry import FloatArray, diffpos_sign

CUTOUT_KINDS = ("Science", "Template", "Difference")
CLIP_PERCENTILES = (0.5, 99.5)
# Softening of the asinh stretch (in units of the clipped range): smaller is more log-like.
ASINH_SOFTENING = 0.1


def cutout_kind(kind: str) -> str:
    """``kind`` in its canonical spelling ('science' -> 'Science'), else ValueError."""
    for known in CUTOUT_KINDS:
        if str(kind).strip().lower() == known.lower():
            return known
    raise ValueError(f"unknown cutout kind {kind!r}: use one of {', '.join(CUTOUT_KINDS)}")


def stretch_cutout(array2d: ArrayLike, kind: str, isdiffpos: Any = None) -> FloatArray:
    """The stamp scaled to [0, 1] for display (NaN where the stamp has no value).

    ``figures.stamps`` writes it as a PNG.
    """
    data = np.array(array2d, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f"a cutout is a 2-D array, got shape {data.shape}")
    name = cutout_kind(kind)
    if name == "Difference" and diffpos_sign(isdiffpos) < 0:
        data = -data
    scaled = _clipped(data)
    if name == "Difference":
        return scaled
    stretched: FloatArray = np.arcsinh(scaled / ASINH_SOFTENING) / np.arcsinh(1 / ASINH_SOFTENING)
    return stretched


def _clipped(data: FloatArray) -> FloatArray:
    """``data`` clipped to its percentile range and mapped linearly onto [0, 1]."""
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        return np.full(data.shape, np.nan)
    low, high = np.percentile(finite, CLIP_PERCENTILES)
    if high <= low:  # a flat stamp: mid-grey rather than a division by zero
        return np.where(np.isfinite(data), 0.5, np.nan)
    scaled: FloatArray = (np.clip(data, low, high) - low) / (high - low)
    return scaled
