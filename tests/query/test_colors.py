"""Rate and colour columns: a worked example, and agreement with Fink's pandas code.

The reference below is fink-object-api's ``extract_rate_and_color`` (apps/utils/
decoding.py) written out again with pandas: groupby objectId, per-band ``diff``,
``merge_asof(direction="nearest", tolerance=0.3)`` to pair g with r and again to
spread the colour back to every row. Light curves come from hypothesis, with jds on a
1/64-day grid so that exact ties, equal jds and gaps of exactly the tolerance occur.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from finkportal_query.colors import add_color_columns, nearest_within

TOLERANCE = 0.3
RATE = ["v:rate", "v:sigma(rate)"]
COLOR = ["v:g-r", "v:sigma(g-r)", "v:rate(g-r)", "v:sigma(rate(g-r))"]
COMPUTED = RATE + COLOR
JD0 = 2459000.5
Row = dict[str, Any]


# --- the reference: Fink's code, step by step -------------------------------------------


def fink_rate_and_color(rows: list[Row]) -> dict[int, Row]:
    """fink-object-api's extract_rate_and_color over ``rows``, keyed by the rows' ``n``."""
    # Fink sorts with pandas' default (unstable) sort; a stable one keeps equal jds in
    # input order, which is what a deterministic comparison needs.
    pdfs = pd.DataFrame(rows).sort_values("i:jd", kind="stable")
    groups = [_fink_one_object(sub.copy()) for _, sub in pdfs.groupby("i:objectId")]
    result = pd.concat(groups)
    return {int(record["n"]): record for record in result.to_dict("records")}


def _fink_one_object(sub: pd.DataFrame) -> pd.DataFrame:
    sidx = []
    for fid in (1, 2):
        idx = sub["i:fid"] == fid
        dmag = sub["i:magpsf"][idx].diff()
        dmagerr = np.hypot(sub["i:sigmapsf"][idx], sub["i:sigmapsf"][idx].shift())
        djd = sub["i:jd"][idx].diff()
        sub.loc[idx, "v:rate"] = dmag / djd
        sub.loc[idx, "v:sigma(rate)"] = dmagerr / djd
        sidx.append(idx)
    colnames_gr = ["i:jd", "i:magpsf", "i:sigmapsf"]
    gr = pd.merge_asof(sub[sidx[0]][colnames_gr], sub[sidx[1]][colnames_gr], on="i:jd",
                       suffixes=("_g", "_r"), direction="nearest", tolerance=TOLERANCE)
    gr = gr.loc[~gr.isna()["i:magpsf_r"]].copy()
    gr["v:g-r"] = gr["i:magpsf_g"] - gr["i:magpsf_r"]
    gr["v:sigma(g-r)"] = np.hypot(gr["i:sigmapsf_g"], gr["i:sigmapsf_r"])
    djd = gr["i:jd"].diff()
    gr["v:rate(g-r)"] = gr["v:g-r"].diff() / djd
    gr["v:sigma(rate(g-r))"] = np.hypot(gr["v:sigma(g-r)"], gr["v:sigma(g-r)"].shift()) / djd
    return pd.merge_asof(sub, gr[["i:jd", *COLOR]], direction="nearest", tolerance=TOLERANCE)


def as_row_value(value: float) -> float | None:
    """Our rows hold None where Fink's frame holds NaN."""
    return None if math.isnan(value) else float(value)


def pandas_nearest(times: list[float], candidates: list[float], tolerance: float) -> list[int]:
    left = pd.DataFrame({"t": np.array(times, dtype=float)})
    right = pd.DataFrame({"t": np.array(candidates, dtype=float),
                          "index": np.arange(len(candidates))})
    merged = pd.merge_asof(left, right, on="t", direction="nearest", tolerance=tolerance)
    return [int(i) for i in merged["index"].fillna(-1)]


# --- a worked example -------------------------------------------------------------------


def alert(n: int, object_id: str, jd: float, fid: int, mag: float, sigma: float) -> Row:
    return {"n": n, "i:objectId": object_id, "i:jd": jd, "i:fid": fid, "i:magpsf": mag,
            "i:sigmapsf": sigma}


# Object A, in time order (jds are JD0 + multiples of 1/8 day, exact in binary):
#   n  band  jd-JD0   mag   sigma
#   0  g     0.0      18.0  0.1    pairs with r n=1 (0.125 d)        -> pair P1
#   1  r     0.125    17.5  0.2
#   2  i     1.75     17.0  0.05   fid 3: no rate; 0.25 d from g n=3 -> P2's colour
#   3  g     2.0      18.4  0.1    pairs with r n=4 (0.25 d)         -> pair P2
#   4  r     2.25     17.7  0.1
#   5  g     4.0      18.2  0.1    r n=6 is 0.375 d away: unpaired
#   6  r     4.375    17.9  0.1
# Object B has only g: rates, never a colour.
EXAMPLE = [
    alert(5, "A", JD0 + 4.0, 1, 18.2, 0.1),  # input order does not matter
    alert(0, "A", JD0, 1, 18.0, 0.1),
    alert(1, "A", JD0 + 0.125, 2, 17.5, 0.2),
    alert(2, "A", JD0 + 1.75, 3, 17.0, 0.05),
    alert(3, "A", JD0 + 2.0, 1, 18.4, 0.1),
    alert(4, "A", JD0 + 2.25, 2, 17.7, 0.1),
    alert(6, "A", JD0 + 4.375, 2, 17.9, 0.1),
    alert(7, "B", JD0 + 1.0, 1, 19.0, 0.2),
    alert(8, "B", JD0 + 1.5, 1, 19.5, 0.2),
]
# rate = (mag - previous mag of the band) / days;  sigma(rate) = hypot(both sigmas) / days
G_RATE_3 = ((18.4 - 18.0) / 2.0, math.hypot(0.1, 0.1) / 2.0)  # 0.2, 0.0707
G_RATE_5 = ((18.2 - 18.4) / 2.0, math.hypot(0.1, 0.1) / 2.0)  # -0.1, 0.0707
R_RATE_4 = ((17.7 - 17.5) / 2.125, math.hypot(0.1, 0.2) / 2.125)  # 0.0941, 0.1052
R_RATE_6 = ((17.9 - 17.7) / 2.125, math.hypot(0.1, 0.1) / 2.125)  # 0.0941, 0.0666
B_RATE_8 = ((19.5 - 19.0) / 0.5, math.hypot(0.2, 0.2) / 0.5)  # 1.0, 0.5657
# g-r = mag_g - mag_r;  sigma(g-r) = hypot(sigma_g, sigma_r)
P1 = (18.0 - 17.5, math.hypot(0.1, 0.2), None, None)  # 0.5, 0.2236, first pair: no rate
# rate(g-r) = change of g-r / days between the two g alerts; its sigma likewise
P2 = (18.4 - 17.7, math.hypot(0.1, 0.1), ((18.4 - 17.7) - 0.5) / 2.0,
      math.hypot(math.hypot(0.1, 0.1), math.hypot(0.1, 0.2)) / 2.0)  # 0.7, 0.1414, 0.1, 0.1323
NO_COLOR = (None, None, None, None)
EXPECTED: dict[int, tuple[Any, ...]] = {
    0: (None, None, *P1),
    1: (None, None, *P1),
    2: (None, None, *P2),
    3: (*G_RATE_3, *P2),
    4: (*R_RATE_4, *P2),
    5: (*G_RATE_5, *NO_COLOR),
    6: (*R_RATE_6, *NO_COLOR),
    7: (None, None, *NO_COLOR),
    8: (*B_RATE_8, *NO_COLOR),
}


def assert_close(got: tuple[Any, ...], expected: tuple[Any, ...], label: object) -> None:
    """Equal within rounding of the hand-written arithmetic; None only where None."""
    assert [value is None for value in got] == [value is None for value in expected], label
    for value, wanted in zip(got, expected, strict=True):
        assert value is None or value == pytest.approx(wanted, rel=1e-12), label


def test_worked_example() -> None:
    rows = [dict(row) for row in EXAMPLE]
    add_color_columns(rows)
    for row in rows:
        expected = EXPECTED[row["n"]]
        assert_close(tuple(row[name] for name in COMPUTED), expected, row["n"])
    assert [row["n"] for row in rows] == [row["n"] for row in EXAMPLE]  # order kept
    assert rows[1]["i:magpsf"] == 18.0  # input cells untouched


def test_worked_example_matches_fink_reference() -> None:
    reference = fink_rate_and_color(EXAMPLE)
    for n, expected in EXPECTED.items():
        got = tuple(as_row_value(reference[n][name]) for name in COMPUTED)
        assert_close(got, expected, n)


def test_no_rows_and_a_lone_alert() -> None:
    add_color_columns([])
    rows = [alert(0, "A", JD0, 1, 18.0, 0.1)]
    add_color_columns(rows)
    assert all(rows[0][name] is None for name in COMPUTED)


@pytest.mark.parametrize("missing", [None, math.nan, "2459001.5"])
def test_rows_without_a_jd_get_none_and_leave_the_others_alone(missing: object) -> None:
    # Fink's merge_asof raises on a null jd; rows without a usable date get no rate or
    # colour, and the light curve of the others is computed as if they were absent.
    undated = {**alert(99, "A", 0.0, 1, 15.0, 0.1), "i:jd": missing}
    rows = [dict(row) for row in EXAMPLE]
    rows.insert(3, undated)
    add_color_columns(rows)
    assert all(undated[name] is None for name in COMPUTED)
    for row in rows:
        if row is not undated:
            assert_close(tuple(row[name] for name in COMPUTED), EXPECTED[row["n"]], row["n"])


# --- nearest_within against pandas' merge_asof(direction="nearest") ---------------------


@pytest.mark.parametrize(
    ("times", "candidates", "expected"),
    [
        pytest.param([1.25], [1.0, 1.5], [0], id="equidistant: the earlier one"),
        pytest.param([1.0, 1.5], [1.25], [0, 0], id="a candidate serves several times"),
        pytest.param([1.0], [0.75], [0], id="gap equal to the tolerance is kept"),
        pytest.param([1.0], [1.265625], [-1], id="gap over the tolerance"),
        pytest.param([0.0, 9.0], [1.0, 2.0], [-1, -1], id="outside on both sides"),
        # pandas' backward search stops at the LAST candidate <= time, and an exact
        # match ties (0 <= 0) in favour of that backward one.
        pytest.param([1.0], [1.0, 1.0], [1], id="exact match among equal candidates"),
        pytest.param([1.0], [0.5, 1.0, 1.0, 1.0, 1.5], [3], id="last of the equal ones"),
        pytest.param([1.1], [1.0, 1.0, 1.5], [1], id="last of equal earlier ones"),
        pytest.param([0.9], [1.0, 1.0], [0], id="first of equal later ones"),
    ],
)
def test_nearest_within_cases(times: list[float], candidates: list[float],
                              expected: list[int]) -> None:
    assert pandas_nearest(times, candidates, 0.25) == expected  # the rule is pandas'
    got = nearest_within(np.array(times), np.array(candidates), 0.25)
    assert got.tolist() == expected


def test_nearest_within_no_candidates() -> None:
    got = nearest_within(np.array([1.0, 2.0]), np.array([], dtype=float), 0.3)
    assert got.tolist() == [-1, -1]


grid_times = st.lists(st.integers(0, 40).map(lambda k: JD0 + k / 64), max_size=12)
any_times = st.lists(st.floats(JD0, JD0 + 1.0), max_size=12)


@settings(max_examples=100, deadline=None)
@given(st.one_of(grid_times, any_times), st.one_of(grid_times, any_times),
       st.sampled_from([0.3, 0.125]))
def test_nearest_within_matches_pandas(times: list[float], candidates: list[float],
                                       tolerance: float) -> None:
    candidates = sorted(candidates)
    expected = pandas_nearest(sorted(times), candidates, tolerance)
    got = nearest_within(np.array(sorted(times)), np.array(candidates), tolerance)
    assert got.tolist() == expected


# --- add_color_columns against the reference ---------------------------------------------

# Offsets on a 1/64-day grid make exact equidistance, equal jds (within and across bands)
# and gaps of exactly 0.296875 / 0.3125 d common; free floats and tenths add near-ties.
offsets = st.one_of(
    st.integers(0, 320).map(lambda k: k / 64),
    st.integers(0, 50).map(lambda k: k / 10),
    st.floats(0, 5, allow_nan=False),
)
measurement = st.tuples(
    offsets,
    st.sampled_from([1, 1, 1, 2, 2, 2, 3]),
    st.floats(12, 22, allow_nan=False),
    st.floats(0.01, 0.5, allow_nan=False),
)


@st.composite
def light_curves(draw: st.DrawFn) -> list[Row]:
    """Alerts of 1 to 3 objects; an object may have only g, only r, or fid 3 alerts."""
    rows: list[Row] = []
    for object_id in ("ZTF21a", "ZTF21b", "ZTF21c")[: draw(st.integers(1, 3))]:
        bands = draw(st.sampled_from([(1, 2, 3), (1, 2, 3), (1, 2, 3), (1,), (2,), (2, 3)]))
        for offset, fid, mag, sigma in draw(st.lists(measurement, min_size=1, max_size=14)):
            band = fid if fid in bands else bands[0]
            rows.append(alert(len(rows), object_id, JD0 + offset, band, mag, sigma))
    return draw(st.permutations(rows))


def assert_matches_reference(rows: list[Row]) -> None:
    ours = [dict(row) for row in rows]
    add_color_columns(ours)
    reference = fink_rate_and_color(rows)
    for row in ours:
        expected = {name: as_row_value(reference[row["n"]][name]) for name in COMPUTED}
        assert {name: row[name] for name in COMPUTED} == expected, row


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(light_curves())
# Two r alerts at the very jd of a g alert: Fink pairs the g alert with the LAST of them
# (pandas' backward search), so g-r is 18.0 - 17.5.
@example([alert(0, "A", JD0, 1, 18.0, 0.1), alert(1, "A", JD0, 2, 17.0, 0.1),
          alert(2, "A", JD0, 2, 17.5, 0.1)])
def test_matches_fink_reference(rows: list[Row]) -> None:
    assert_matches_reference(rows)


def test_matches_fink_reference_on_a_long_light_curve() -> None:
    # One object over ~3 months with ZTF's cadence: g and r minutes apart, some nights
    # in one band only, i-band alerts now and then.
    rng = np.random.default_rng(7)
    rows: list[Row] = []
    for night in range(0, 90, 2):
        start = JD0 + night + rng.uniform(0.1, 0.4)
        for fid, delay in ((1, 0.0), (2, rng.uniform(0.01, 0.35)), (3, rng.uniform(-0.5, 0.5))):
            if rng.uniform() < 0.7:
                rows.append(alert(len(rows), "ZTF21long", start + delay, fid,
                                  rng.uniform(16, 20), rng.uniform(0.02, 0.2)))
    assert_matches_reference(rows)
    add_color_columns(rows)
    assert sum(row["v:g-r"] is not None for row in rows) > 20  # the colour really shows up
