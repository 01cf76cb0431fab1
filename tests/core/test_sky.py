"""Sky-index math: cells, cone coverage ranges, row keys, separations and coordinate parsing."""

from __future__ import annotations

import bisect
import itertools
import math

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from hypothesis import given, settings
from hypothesis import strategies as st

from finkportal_core.sky import (
    MAX_CELL,
    SKY_DEPTH,
    angular_separation_deg,
    cell_from_key,
    cell_key,
    cone_ranges,
    coverage_depth,
    merge_ranges,
    parse_ra_dec,
    sky_cell,
    sky_cells,
)

ARCSEC = 1 / 3600
MEASURED_RADII = [5 * ARCSEC, 60 * ARCSEC, 1.0, 5.0]
CELL_AREA_SR = 4 * math.pi / MAX_CELL

# Boundary values first so hypothesis always tries poles and the RA=0 seam.
ras = st.one_of(st.sampled_from([0.0, 359.9999999, 180.0]), st.floats(0.0, 359.999999))
decs = st.one_of(st.sampled_from([90.0, -90.0, 89.9999, -89.9999, 0.0]), st.floats(-90.0, 90.0))
radii = st.one_of(st.sampled_from(MEASURED_RADII), st.floats(0.5 * ARCSEC, 5.0))


def destination(ra: float, dec: float, distance: float, bearing: float) -> tuple[float, float]:
    """Point reached from (ra, dec) along a great circle (all angles in degrees)."""
    lat1, lon1, d, b = (math.radians(v) for v in (dec, ra, distance, bearing))
    lat2 = math.asin(
        max(
            -1.0,
            min(1.0, math.sin(lat1) * math.cos(d) + math.cos(lat1) * math.sin(d) * math.cos(b)),
        )
    )
    lon2 = lon1 + math.atan2(
        math.sin(b) * math.sin(d) * math.cos(lat1), math.cos(d) - math.sin(lat1) * math.sin(lat2)
    )
    return math.degrees(lon2) % 360.0, math.degrees(lat2)


def in_ranges(cell: int, ranges: list[tuple[int, int]]) -> bool:
    index = bisect.bisect_right(ranges, (cell, MAX_CELL)) - 1
    return index >= 0 and ranges[index][0] <= cell < ranges[index][1]


def disc_area_sr(radius_deg: float) -> float:
    return 2 * math.pi * (1 - math.cos(math.radians(radius_deg)))


# --- cone coverage -----------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(ras, decs, radii, st.lists(st.tuples(st.floats(0, 0.999), st.floats(0, 360)), min_size=20))
def test_every_point_inside_a_cone_is_in_its_ranges(
    ra: float, dec: float, radius: float, offsets: list[tuple[float, float]]
) -> None:
    ranges = cone_ranges(ra, dec, radius)
    for fraction, bearing in offsets:
        point = destination(ra, dec, radius * fraction, bearing)
        assert angular_separation_deg(ra, dec, *point) <= radius
        assert in_ranges(sky_cell(*point), ranges), (point, ranges)


@settings(max_examples=150, deadline=None)
@given(ras, decs, radii)
def test_ranges_are_sorted_disjoint_merged_and_in_bounds(
    ra: float, dec: float, radius: float
) -> None:
    ranges = cone_ranges(ra, dec, radius)
    assert ranges
    assert all(0 <= start < stop <= MAX_CELL for start, stop in ranges)
    # Strictly increasing gaps: touching ranges would have been merged into one.
    assert all(prev[1] < nxt[0] for prev, nxt in itertools.pairwise(ranges))


@settings(max_examples=100, deadline=None)
@given(ras, decs, radii)
def test_covered_area_is_a_bounded_multiple_of_the_disc(
    ra: float, dec: float, radius: float
) -> None:
    ranges = cone_ranges(ra, dec, radius)
    covered = sum(stop - start for start, stop in ranges) * CELL_AREA_SR
    ratio = covered / disc_area_sr(radius)
    # Measured worst case is ~3.3 (docs/sky-index.md); 5 leaves margin, 1 is the hard floor.
    assert 1.0 <= ratio < 5.0
    assert len(ranges) <= 40


@settings(max_examples=100, deadline=None)
@given(ras, decs, radii, st.floats(0, 360))
def test_points_well_outside_are_mostly_excluded(
    ra: float, dec: float, radius: float, rotation: float
) -> None:
    ranges = cone_ranges(ra, dec, radius)
    # An even grid of bearings and distances, so no single direction dominates the count.
    bearings = [rotation + step * 360 / 36 for step in range(36)]

    def hits(factor: float) -> int:
        points = [destination(ra, dec, min(radius * factor, 170.0), b) for b in bearings]
        return sum(in_ranges(sky_cell(*point), ranges) for point in points)

    assert hits(4.0) == 0
    near = sum(hits(factor) for factor in (1.5, 2.0, 2.5, 3.0))
    assert near <= 0.5 * 4 * len(bearings)


def test_measured_radii_stay_within_documented_range_counts() -> None:
    rng = np.random.default_rng(7)
    centres = [(0.0, 90.0), (0.0, -90.0), (0.0, 0.0), (359.9999, 41.8)]
    centres += list(
        zip(rng.uniform(0, 360, 40), np.degrees(np.arcsin(rng.uniform(-1, 1, 40))), strict=False)
    )
    for radius in MEASURED_RADII:
        counts = [len(cone_ranges(float(ra), float(dec), radius)) for ra, dec in centres]
        assert 1 <= max(counts) <= 30, (radius, counts)


def test_cone_at_pole_covers_all_longitudes_and_seam_covers_both_sides() -> None:
    pole = cone_ranges(123.0, 90.0, 1.0)
    assert all(in_ranges(sky_cell(lon, 89.5), pole) for lon in range(0, 360, 7))
    seam = cone_ranges(0.0, 10.0, 5 * ARCSEC)
    assert in_ranges(sky_cell(359.99995, 10.0), seam)
    assert in_ranges(sky_cell(0.00005, 10.0), seam)
    assert not in_ranges(sky_cell(180.0, 10.0), seam)


def test_coverage_depth_never_deepens_for_wider_cones() -> None:
    depths = [coverage_depth(r) for r in np.geomspace(0.1 * ARCSEC, 179.0, 300)]
    assert all(a >= b for a, b in itertools.pairwise(depths))
    assert depths[0] <= SKY_DEPTH
    assert depths[-1] >= 0


@pytest.mark.parametrize("radius", [0.0, -1.0, math.nan, math.inf, 180.0])
def test_cone_rejects_bad_radius(radius: float) -> None:
    with pytest.raises(ValueError, match="radius"):
        cone_ranges(10.0, 10.0, radius)


def test_merge_ranges_fuses_overlapping_and_touching() -> None:
    assert merge_ranges([(10, 20), (0, 5), (5, 8), (15, 30), (40, 41)]) == [
        (0, 8),
        (10, 30),
        (40, 41),
    ]
    assert merge_ranges([]) == []


# --- cells -------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(ras, decs)
def test_sky_cell_centre_lies_within_a_milliarcsecond(ra: float, dec: float) -> None:
    import cdshealpix.nested as healpix

    cell = sky_cell(ra, dec)
    assert 0 <= cell < MAX_CELL
    lon, lat = healpix.healpix_to_lonlat(np.array([cell], dtype=np.uint64), SKY_DEPTH)
    separation = angular_separation_deg(ra, dec, float(lon.deg[0]), float(lat.deg[0]))
    assert separation < 1e-3 * ARCSEC


def test_vectorised_cells_match_scalar_and_coarser_depth_is_a_shift() -> None:
    import cdshealpix.nested as healpix
    from astropy.coordinates import Latitude, Longitude

    rng = np.random.default_rng(3)
    ra, dec = rng.uniform(0, 360, 500), np.degrees(np.arcsin(rng.uniform(-1, 1, 500)))
    cells = sky_cells(ra, dec)
    assert cells.dtype == np.int64
    assert [sky_cell(float(a), float(d)) for a, d in zip(ra[:50], dec[:50], strict=True)] == list(
        cells[:50]
    )
    coarse = healpix.lonlat_to_healpix(Longitude(ra, u.deg), Latitude(dec, u.deg), 8)
    assert np.array_equal(cells >> (2 * (SKY_DEPTH - 8)), coarse.astype(np.int64))


def test_ra_360_wraps_to_0_and_bad_dec_is_rejected() -> None:
    assert sky_cell(360.0, 12.0) == sky_cell(0.0, 12.0)
    with pytest.raises(ValueError, match="declination"):
        sky_cell(10.0, 90.5)
    with pytest.raises(ValueError, match="finite"):
        sky_cells(np.array([1.0, math.nan]), np.array([0.0, 0.0]))


# --- row keys ----------------------------------------------------------------------------------


@given(st.integers(0, MAX_CELL - 1), st.integers(0, MAX_CELL - 1))
def test_key_byte_order_equals_cell_order(a: int, b: int) -> None:
    assert (cell_key(a) < cell_key(b)) == (a < b)
    assert len(cell_key(a)) == 8
    assert cell_from_key(cell_key(a) + b"\x00suffix") == a


@pytest.mark.parametrize("cell", [-1, MAX_CELL])
def test_cell_key_rejects_out_of_range(cell: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        cell_key(cell)


# --- separation --------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(ras, decs, st.floats(1e-8, 179.9), st.floats(0, 360))
def test_separation_matches_astropy(ra: float, dec: float, distance: float, bearing: float) -> None:
    ra2, dec2 = destination(ra, dec, distance, bearing)
    expected = SkyCoord(ra * u.deg, dec * u.deg).separation(SkyCoord(ra2 * u.deg, dec2 * u.deg))
    assert abs(angular_separation_deg(ra, dec, ra2, dec2) - expected.deg) < 1e-9


def test_separation_is_accurate_at_tiny_offsets_and_across_the_seam() -> None:
    assert angular_separation_deg(10.0, 20.0, 10.0, 20.0 + 1e-10) == pytest.approx(1e-10, rel=1e-6)
    assert angular_separation_deg(359.9999, 0.0, 0.0001, 0.0) == pytest.approx(2e-4, rel=1e-9)
    assert angular_separation_deg(0.0, 90.0, 180.0, 89.0) == pytest.approx(1.0, rel=1e-12)


# --- parsing -----------------------------------------------------------------------------------

EXPECTED_RA = (10 + 20 / 60 + 30.5 / 3600) * 15
EXPECTED_DEC = -(12 + 34 / 60 + 56 / 3600)


@pytest.mark.parametrize(
    ("ra", "dec"),
    [
        ("10 20 30.5", "-12 34 56"),
        ("10:20:30.5", "-12:34:56"),
        ("10h20m30.5s", "-12d34m56s"),
        (" 10h 20m 30.5s ", "-12°34′56″"),
        (str(EXPECTED_RA), str(EXPECTED_DEC)),
        (EXPECTED_RA, EXPECTED_DEC),
    ],
)
def test_parse_each_format(ra: str | float, dec: str | float) -> None:
    parsed_ra, parsed_dec = parse_ra_dec(ra, dec)
    assert parsed_ra == pytest.approx(EXPECTED_RA, abs=1e-12)
    assert parsed_dec == pytest.approx(EXPECTED_DEC, abs=1e-12)


@pytest.mark.parametrize("dec", ["-00 30 00", "-00:30:00", "-00d30m00s", "-0d30m0s"])
def test_parse_negative_zero_degree_declination(dec: str) -> None:
    assert parse_ra_dec("0 0 0", dec) == (0.0, -0.5)


def test_parse_positive_sign_and_limits() -> None:
    assert parse_ra_dec("23:59:59.99", "+90:00:00")[1] == 90.0
    assert parse_ra_dec(0, -90) == (0.0, -90.0)


@pytest.mark.parametrize(
    ("ra", "dec", "message"),
    [
        ("abc", "10", "cannot parse ra"),
        ("10", "north", "cannot parse dec"),
        ("10 20", "0", "cannot parse ra"),
        (360.0, 0.0, "0 <= ra < 360"),
        (-0.1, 0.0, "0 <= ra < 360"),
        ("24:00:00", "0", "hours must be below 24"),
        ("-01:00:00", "0", "cannot parse ra"),
        ("10:61:00", "0", "below 60"),
        ("10:00:00", "10:00:60", "below 60"),
        (10.0, 90.5, "-90 <= dec <= 90"),
        (10.0, "-91 00 00", "-90 <= dec <= 90"),
        ("nan", 0.0, "finite"),
        (10.0, math.inf, "finite"),
        (True, 0.0, "number or a string"),
        ("10d20m30s", "0", "other coordinate"),
        ("10", "10h20m30s", "other coordinate"),
    ],
)
def test_parse_rejects_bad_input_clearly(ra: str | float, dec: str | float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_ra_dec(ra, dec)
