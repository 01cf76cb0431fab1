"""What the figure builders draw: traces, colours, click data, axes, marks, messages."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pytest

from finkportal_portal.figures.cutouts import cutout_figure, stretch_cutout
from finkportal_portal.figures.lightcurve import (
    NO_REFERENCE_MESSAGE,
    SELECTED_NAME,
    lightcurve_figure,
    sparkline_svg,
    svg_data_uri,
)
from finkportal_portal.figures.science import color_figure, supernova_scores_figure
from finkportal_portal.figures.sky import ra_to_longitude, sky_figure
from finkportal_portal.figures.stats import class_totals, classes_figure, nights_figure
from finkportal_portal.photometry import jd_to_iso
from tests.portal.test_photometry import alert

G, R, I_BAND = "#15284F", "#F5622E", "#9c27b0"
SVG = "{http://www.w3.org/2000/svg}"


def traces_named(figure: go.Figure) -> dict[str, Any]:
    return {trace.name: trace for trace in figure.data}


def message_of(figure: go.Figure) -> str:
    """The message of an empty figure (its shown text is the same, cut into lines)."""
    assert not figure.data
    message = str(figure.layout.meta["message"])
    assert figure.layout.annotations[0].text.replace("<br>", " ") == message
    return message


def lightcurve_rows() -> list[dict[str, Any]]:
    return [alert(jd=2459005.5, fid=2, magpsf=17.5, candid=5, tag="valid"),
            alert(jd=2459004.5, fid=1, magpsf=18.2, candid=4, tag="valid"),
            alert(jd=2459003.5, fid=3, magpsf=18.9, candid=3, tag="valid"),
            alert(jd=2459002.5, fid=1, magpsf=19.0, sigmapsf=0.3, candid=2, tag="badquality"),
            alert(jd=2459001.5, fid=1, magpsf=None, sigmapsf=None, candid=None,
                  tag="upperlim", diffmaglim=20.1)]


# -- light curve ---------------------------------------------------------------------------


def test_lightcurve_traces_colours_and_click_data() -> None:
    figure = lightcurve_figure(lightcurve_rows(), "diffmag")
    traces = traces_named(figure)
    assert set(traces) == {"g", "g bad quality", "g upper limits", "r", "i"}
    assert {name: traces[name].marker.color for name in ("g", "r", "i")} == {
        "g": G, "r": R, "i": I_BAND}
    assert list(traces["g"].customdata) == ["4"]
    assert list(traces["r"].customdata) == ["5"]
    assert list(traces["g bad quality"].customdata) == ["2"]
    assert traces["g bad quality"].marker.symbol == "circle-open"
    assert list(traces["g"].x) == jd_to_iso([2459004.5])
    assert list(traces["g"].error_y.array) == [0.1]
    assert figure.layout.yaxis.autorange == "reversed"


def test_upper_limits_are_down_triangles_in_difference_magnitude_only() -> None:
    limits = traces_named(lightcurve_figure(lightcurve_rows(), "diffmag"))["g upper limits"]
    assert limits.marker.symbol == "triangle-down"
    assert list(limits.y) == [20.1]
    assert limits.error_y.visible is False
    assert list(limits.customdata) == [""]
    for unit in ("dcmag", "diffflux", "dcflux"):
        names = set(traces_named(lightcurve_figure(lightcurve_rows(), unit)))
        assert names == {"g", "r", "i"}, unit


@pytest.mark.parametrize(("unit", "reversed_axis"), [
    ("diffmag", True), ("dcmag", True), ("diffflux", False), ("dcflux", False)])
def test_only_magnitudes_have_a_reversed_axis(unit: str, reversed_axis: bool) -> None:
    figure = lightcurve_figure(lightcurve_rows(), unit)
    assert (figure.layout.yaxis.autorange == "reversed") is reversed_axis
    assert figure.layout.yaxis.title.text in {
        "Difference magnitude", "DC magnitude", "Difference flux (mJy)", "DC flux (mJy)"}


def test_the_selected_alert_is_ringed_where_its_point_is() -> None:
    figure = lightcurve_figure(lightcurve_rows(), "diffmag", selected_candid=5)
    ring = traces_named(figure)[SELECTED_NAME]
    assert list(ring.x) == jd_to_iso([2459005.5])
    assert list(ring.y) == [17.5]
    assert list(ring.customdata) == ["5"]
    assert ring.marker.symbol == "circle-open"
    # An id that is no plotted point (or none) adds no ring.
    for candid in (None, "999", ""):
        names = traces_named(lightcurve_figure(lightcurve_rows(), "diffmag", candid))
        assert SELECTED_NAME not in names


def test_dc_without_a_reference_source_says_why_it_is_empty() -> None:
    rows = [alert(distnr=5.6), alert(jd=2459001.5, distnr=-999.0, magnr=-999.0, candid=2)]
    for unit in ("dcmag", "dcflux"):
        assert message_of(lightcurve_figure(rows, unit)) == NO_REFERENCE_MESSAGE
    assert len(lightcurve_figure(rows, "diffmag").data) == 1
    assert "No usable measurement" in message_of(lightcurve_figure([], "diffmag"))


def test_sparkline_draws_g_and_r_brighter_up() -> None:
    rows = [alert(jd=1, fid=1, magpsf=18.0, candid=1), alert(jd=2, fid=1, magpsf=17.0, candid=2),
            alert(jd=1.5, fid=2, magpsf=19.0, candid=3), alert(jd=3, fid=2, magpsf=18.5, candid=4),
            alert(jd=2.5, fid=3, magpsf=16.0, candid=5)]  # i is left out
    svg = ET.fromstring(sparkline_svg(rows))
    assert (svg.get("width"), svg.get("height")) == ("120", "40")
    assert sorted(line.get("stroke", "") for line in svg.iter(f"{SVG}polyline")) == sorted([G, R])
    circles = list(svg.iter(f"{SVG}circle"))
    assert len(circles) == 4
    brightest = min(circles, key=lambda circle: float(circle.get("cy", "0")))
    assert (brightest.get("fill"), float(brightest.get("cx", "0"))) == (G, pytest.approx(
        3 + (2 - 1) / (3 - 1) * 114))  # g at jd 2, halfway across the 114 px inside the pad
    empty = ET.fromstring(sparkline_svg([]))
    assert empty.get("aria-label") == "no light curve"
    assert not list(empty)
    assert svg_data_uri("<svg/>") == "data:image/svg+xml;charset=utf-8,%3Csvg/%3E"


# -- cutouts -------------------------------------------------------------------------------

STAMP = np.arange(100.0).reshape(10, 10)
# Percentiles 0.5 and 99.5 of 0..99 (linear interpolation): 0.495 and 98.505.
# Pixel 50: (50 - 0.495) / (98.505 - 0.495) = 0.505102 linear;
# asinh: asinh(0.505102 / 0.1) / asinh(1 / 0.1) = 2.32242 / 2.99822 = 0.774590.


def test_difference_is_linear_and_science_template_asinh() -> None:
    difference = stretch_cutout(STAMP, "Difference", "t")
    assert difference[5, 0] == pytest.approx(0.505102, abs=1e-6)
    assert (difference[0, 0], difference[9, 9]) == (0.0, 1.0)
    for kind in ("Science", "Template"):
        stretched = stretch_cutout(STAMP, kind, "f")  # the sign only flips the difference
        assert stretched[5, 0] == pytest.approx(0.774590, abs=1e-6)
        assert (stretched[0, 0], stretched[9, 9]) == (0.0, pytest.approx(1.0))


@pytest.mark.parametrize("flag", ["f", "0", False])
def test_a_negative_difference_is_shown_sign_flipped(flag: Any) -> None:
    flipped = stretch_cutout(STAMP, "Difference", flag)
    assert (flipped[0, 0], flipped[9, 9]) == (1.0, 0.0)
    np.testing.assert_allclose(flipped, 1.0 - stretch_cutout(STAMP, "Difference", "t"))


def test_cutouts_survive_nan_and_flat_stamps() -> None:
    holes = STAMP.copy()
    holes[0, :3] = np.nan
    stretched = stretch_cutout(holes, "Science")
    assert np.isnan(stretched[0, :3]).all()
    assert np.isfinite(stretched[1:]).all()
    assert stretched[1:].min() >= 0
    assert stretched[1:].max() <= 1
    assert np.isnan(stretch_cutout(np.full((63, 63), np.nan), "Template")).all()
    assert (stretch_cutout(np.ones((63, 63)), "Difference") == 0.5).all()
    with pytest.raises(ValueError, match="2-D"):
        stretch_cutout(np.arange(5.0), "Science")


def test_cutout_figure_is_a_square_grey_image_without_axes() -> None:
    figure = cutout_figure(np.ones((63, 63)).tolist(), "difference", "f")
    (heatmap,) = figure.data
    assert heatmap.type == "heatmap"
    assert np.asarray(heatmap.z).shape == (63, 63)
    assert (heatmap.zmin, heatmap.zmax, heatmap.showscale) == (0.0, 1.0, False)
    assert [tuple(stop) for stop in heatmap.colorscale] == [(0.0, "#000000"), (1.0, "#ffffff")]
    assert figure.layout.xaxis.visible is False
    assert figure.layout.yaxis.visible is False
    assert figure.layout.yaxis.scaleanchor == "x"
    assert figure.layout.margin.l <= 5
    assert "No science cutout" in message_of(cutout_figure(None, "Science"))


# -- supernova scores, colours -------------------------------------------------------------


def test_supernova_scores_over_time_with_the_half_line() -> None:
    scored = [{**alert(jd=jd, candid=n), "d:snn_snia_vs_nonia": 0.1 * n,
               "d:snn_sn_vs_all": 0.2 * n, "d:rf_snia_vs_nonia": rf}
              for n, (jd, rf) in enumerate([(3.0, None), (1.0, 0.7), (2.0, 0.9)], start=1)]
    limit = alert(jd=4.0, candid=None, magpsf=None, tag="upperlim")
    figure = supernova_scores_figure([*scored, limit])
    traces = list(figure.data)
    assert len(traces) == 3
    assert list(traces[0].y) == pytest.approx([0.2, 0.3, 0.1])  # sorted by jd: candids 2, 3, 1
    assert list(traces[0].customdata) == ["2", "3", "1"]
    assert list(traces[2].y) == [0.7, 0.9]  # the row without a random-forest score is skipped
    (line,) = figure.layout.shapes
    assert (line.y0, line.y1, line.line.dash) == (0.5, 0.5, "dash")
    assert tuple(figure.layout.yaxis.range) == (0, 1)
    assert "No supernova" in message_of(supernova_scores_figure([alert()]))


def test_color_figure_plots_each_pair_once_and_rates_per_band() -> None:
    rows = [{**alert(jd=1.0, fid=1, candid=1), "v:g-r": 0.4, "v:sigma(g-r)": 0.05,
             "v:rate": None, "v:sigma(rate)": None},
            {**alert(jd=1.1, fid=2, candid=2), "v:g-r": 0.4, "v:sigma(g-r)": 0.05,
             "v:rate": None, "v:sigma(rate)": None},
            {**alert(jd=3.0, fid=1, candid=3), "v:g-r": None, "v:rate": -0.2,
             "v:sigma(rate)": 0.03},
            {**alert(jd=4.0, fid=2, candid=4), "v:g-r": None, "v:rate": 0.1,
             "v:sigma(rate)": 0.02}]
    traces = traces_named(color_figure(rows))
    assert list(traces["g \u2212 r"].y) == [0.4]
    assert list(traces["g \u2212 r"].error_y.array) == [0.05]
    assert (list(traces["rate g"].y), traces["rate g"].marker.color) == ([-0.2], G)
    assert (list(traces["rate r"].y), traces["rate r"].marker.color) == ([0.1], R)
    assert "No colour" in message_of(color_figure([alert()]))


# -- sky, statistics -----------------------------------------------------------------------


def test_ra_grows_to_the_left_of_the_sky_map() -> None:
    assert ra_to_longitude([0.0, 90.0, 270.0, 180.0, 359.0]).tolist() == [
        0.0, -90.0, 90.0, -180.0, 1.0]


def test_sky_figure_one_trace_per_class_with_ids() -> None:
    objects: list[dict[str, Any]] = [
        {"ra": 90.0, "dec": 10.0, "objectId": "ZTF1", "class": "SN candidate"},
        {"ra": 270.0, "dec": -20.0, "objectId": "ZTF2", "class": "SN candidate"},
        {"i:ra": 10.0, "i:dec": 0.0, "i:objectId": "ZTF3", "v:classification": "QSO"},
        {"ra": None, "dec": 5.0, "objectId": "ZTF4", "class": "QSO"}]
    figure = sky_figure(objects)
    traces = traces_named(figure)
    sn, qso = traces["SN candidate (2)"], traces["QSO (1)"]
    assert (list(sn.lon), list(sn.lat), list(sn.customdata)) == (
        [-90.0, 90.0], [10.0, -20.0], ["ZTF1", "ZTF2"])
    assert list(qso.customdata) == ["ZTF3"]
    assert "ZTF1<br>SN candidate" in sn.text[0]
    assert figure.layout.geo.projection.type == "mollweide"
    # The whole sky, 0h in the middle, whatever the data cover.
    assert tuple(figure.layout.geo.lonaxis.range) == (-180, 180)
    assert tuple(figure.layout.geo.lataxis.range) == (-90, 90)
    assert figure.layout.geo.projection.rotation.lon == 0
    assert figure.layout.geo.showland is False
    assert len(sky_figure([]).data) == 1  # the hour labels only


STATS = [{"f:night": "20231019", "basic:raw": 40, "basic:objects": 30, "class:QSO": 5,
          "class:SN candidate": 1, "class:Kilonova candidate": 0},
         {"key:key": "ztf_20231018", "basic:raw": 100, "basic:objects": 80, "class:QSO": 20,
          "class:SN candidate": 2, "class:Kilonova candidate": 0}]


def test_nights_in_order_with_their_counts() -> None:
    alerts, objects = nights_figure(STATS).data
    assert list(alerts.x) == ["2023-10-18", "2023-10-19"]
    assert (list(alerts.y), list(objects.y)) == ([100, 40], [80, 30])
    assert "No night" in message_of(nights_figure([]))


def test_classes_summed_over_nights_largest_first() -> None:
    assert class_totals(STATS) == {"QSO": 25, "SN candidate": 3}
    (bars,) = classes_figure(STATS).data
    assert (list(bars.y), list(bars.x)) == (["QSO", "SN candidate"], [25, 3])
    assert "No classified" in message_of(classes_figure([{"f:night": "20231018"}]))
