"""Cutouts as small PNG images (data URIs) for ``html.Img``: the object page shows three
stamps, and three plotly heatmaps would cost the browser three chart initialisations per
page (and the heatmap trace, which the portal's plotly.js bundle leaves out), where an
image costs nothing. The stretch is ``cutouts.stretch_cutout``'s."""

from __future__ import annotations

import base64
import io
import urllib.parse
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from PIL import Image

from finkportal_portal.figures.cutouts import cutout_kind, stretch_cutout


def cutout_png(array2d: ArrayLike, kind: str, isdiffpos: Any = None) -> bytes:
    """A greyscale PNG of the stretched stamp, row 0 at the bottom (FITS convention), the
    pixels without a value transparent."""
    levels = np.flipud(stretch_cutout(array2d, kind, isdiffpos))
    known = np.isfinite(levels)
    grey = np.where(known, np.round(np.nan_to_num(levels) * 255), 0).astype(np.uint8)
    alpha = np.where(known, 255, 0).astype(np.uint8)
    image = Image.fromarray(np.dstack([grey, alpha]), mode="LA")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def cutout_src(array2d: ArrayLike | None, kind: str, isdiffpos: Any = None) -> str:
    """An ``img`` src: the stamp's PNG, or a drawn "no cutout" square when there is none."""
    name = cutout_kind(kind)
    if array2d is None or np.size(np.asarray(array2d, dtype=object)) == 0:
        return missing_src(f"No {name.lower()} cutout")
    png = cutout_png(array2d, name, isdiffpos)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def missing_src(text: str) -> str:
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="63" height="63">'
           '<rect width="63" height="63" fill="#eee"/><text x="31.5" y="34" font-size="6" '
           f'text-anchor="middle" fill="#888">{text}</text></svg>')
    return "data:image/svg+xml;utf8," + urllib.parse.quote(svg)
