"""The three 63x63 stamps of an alert (Science, Template, Difference) as grey images.

Science and Template get an asinh stretch between the 0.5 and 99.5 percentiles (faint
structure and a bright core both visible); the Difference a linear one between the same
percentiles, so that residual signs stay readable. A negative difference (``isdiffpos``
'f'/'0': the object faded) is shown sign-flipped, so the object is bright in every stamp.
Row 0 of the array is drawn at the bottom (FITS convention, as ds9 shows the stamp).
Masked (NaN) pixels stay NaN: plotly leaves them blank.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from numpy.typing import ArrayLike

from finkportal_portal.figures._style import message_figure
from finkportal_portal.photometry import FloatArray, diffpos_sign

CUTOUT_KINDS = ("Science", "Template", "Difference")
CLIP_PERCENTILES = (0.5, 99.5)
# Softening of the asinh stretch (in units of the clipped range): smaller is more log-like.
ASINH_SOFTENING = 0.1
GREYS = [[0.0, "#000000"], [1.0, "#ffffff"]]


def cutout_kind(kind: str) -> str:
    """``kind`` in its canonical spelling ('science' -> 'Science'), else ValueError."""
    for known in CUTOUT_KINDS:
        if str(kind).strip().lower() == known.lower():
            return known
    raise ValueError(f"unknown cutout kind {kind!r}: use one of {', '.join(CUTOUT_KINDS)}")


def stretch_cutout(array2d: ArrayLike, kind: str, isdiffpos: Any = None) -> FloatArray:
    """The stamp scaled to [0, 1] for display (NaN where the stamp has no value).

    Useful on its own to write a PNG; ``cutout_figure`` draws it.
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


def cutout_figure(array2d: ArrayLike | None, kind: str, isdiffpos: Any = None) -> go.Figure:
    """A square grey heatmap of one stamp, without axes; a message when there is no stamp."""
    name = cutout_kind(kind)
    if array2d is None or np.size(np.asarray(array2d, dtype=object)) == 0:
        return message_figure(f"No {name.lower()} cutout")
    image = stretch_cutout(array2d, name, isdiffpos)
    hidden = {"visible": False, "showgrid": False, "zeroline": False}
    figure = go.Figure(go.Heatmap(z=image, zmin=0.0, zmax=1.0, colorscale=GREYS,
                                  showscale=False, hoverinfo="skip"))
    figure.update_layout(
        template="none", margin={"l": 2, "r": 2, "t": 2, "b": 2}, paper_bgcolor="white",
        plot_bgcolor="white", xaxis={**hidden, "constrain": "domain"},
        yaxis={**hidden, "scaleanchor": "x", "scaleratio": 1, "constrain": "domain"},
        meta={"kind": name},
    )
    return figure
