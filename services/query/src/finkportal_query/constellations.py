"""IAU constellation of positions: astropy's answer, without astropy's cost on most points.

``astropy.coordinates.get_constellation`` precesses to B1875 through its frame machinery
(~5-10 ms a call, whatever the number of points) and then looks the point up in the
Delporte boundaries (Roman 1987). That transformation of a direction is fixed (same
equinox, same default obstime), so here it is replaced by a 3x3 matrix fitted once to
astropy's own transformation: within ~25" of astropy (aberration is not a rotation).
The lookup then uses astropy's boundary table. A point whose box of
``MARGIN_DEG`` around it meets a boundary, or lies near a pole, is
given to astropy itself: every answer is astropy's.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import NamedTuple

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord, get_constellation
from astropy.coordinates import funcs as coordinate_funcs
from numpy.typing import NDArray

MARGIN_DEG = 60 / 3600  # > twice the largest gap between the matrix and astropy (~25")
POLAR_DEC_DEG = 85.0  # RA boxes grow near the poles: leave those points to astropy
_SAMPLES = 400
_LOCK = threading.Lock()
Floats = NDArray[np.float64]


class Boundaries(NamedTuple):
    """Delporte boundaries at B1875: RA range (hours), lower Dec (degrees), full name."""

    ra_low: Floats
    ra_high: Floats
    dec_low: Floats
    names: NDArray[np.str_]
    to_b1875: Floats  # 3x3 matrix: ICRS unit vectors -> B1875 unit vectors


def constellations(ra_deg: Floats, dec_deg: Floats) -> list[str]:
    """Full IAU names of the constellations of the (finite, on-sky) positions."""
    table = boundaries()
    ra_h, dec = _to_b1875(table.to_b1875, ra_deg, dec_deg)
    found = _lookup(table, ra_h, dec)
    unsure = np.abs(dec) > POLAR_DEC_DEG
    half_ra = MARGIN_DEG / 15 / np.cos(np.radians(np.clip(dec, -POLAR_DEC_DEG, POLAR_DEC_DEG)))
    for d_ra, d_dec in ((-1, -1), (-1, 1), (1, -1), (1, 1)):
        corner = _lookup(table, (ra_h + d_ra * half_ra) % 24, dec + d_dec * MARGIN_DEG)
        unsure |= corner != found
    names = table.names[found].astype(object)
    if unsure.any():
        coords = SkyCoord(ra_deg[unsure] * u.deg, dec_deg[unsure] * u.deg, frame="icrs")
        names[unsure] = np.atleast_1d(get_constellation(coords))
    return [str(name) for name in names]


def _to_b1875(matrix: Floats, ra_deg: Floats, dec_deg: Floats) -> tuple[Floats, Floats]:
    vectors = matrix @ _unit_vectors(ra_deg, dec_deg)
    vectors /= np.linalg.norm(vectors, axis=0)
    ra_h = (np.degrees(np.arctan2(vectors[1], vectors[0])) % 360) / 15
    return ra_h, np.degrees(np.arcsin(np.clip(vectors[2], -1, 1)))


def _unit_vectors(ra_deg: Floats, dec_deg: Floats) -> Floats:
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])


def _lookup(table: Boundaries, ra_h: Floats, dec: Floats) -> NDArray[np.int64]:
    """Astropy's rule: the first row whose RA range holds the point and whose Dec is below."""
    inside = ((table.ra_low[:, None] < ra_h) & (ra_h < table.ra_high[:, None])
              & (dec > table.dec_low[:, None]))
    return np.argmax(inside, axis=0).astype(np.int64)


@cache
def boundaries() -> Boundaries:
    """astropy's boundary table and the fitted B1875 matrix (built once, thread-safe)."""
    with _LOCK:
        get_constellation(SkyCoord(0 * u.deg, 0 * u.deg))  # makes astropy load its tables
        data = coordinate_funcs._constellation_data
        table, long_names = data["ctable"], data["cnames_long"]
        return Boundaries(np.asarray(table["ral"], dtype=np.float64),
                          np.asarray(table["rau"], dtype=np.float64),
                          np.asarray(table["decl"], dtype=np.float64),
                          np.asarray(long_names), _fitted_matrix())


def _fitted_matrix() -> Floats:
    """Least-squares 3x3 map from ICRS to astropy's B1875 directions, on a fixed sample."""
    rng = np.random.default_rng(1875)
    ra = rng.uniform(0, 360, _SAMPLES)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, _SAMPLES)))
    precessed = SkyCoord(ra * u.deg, dec * u.deg).transform_to(
        coordinate_funcs.PrecessedGeocentric(equinox="B1875"))
    source = _unit_vectors(ra, dec)
    target = _unit_vectors(precessed.ra.deg, precessed.dec.deg)
    solution, *_ = np.linalg.lstsq(source.T, target.T, rcond=None)
    return np.asarray(solution.T, dtype=np.float64)
