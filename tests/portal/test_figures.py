"""What the figure builders draw: traces, colours, click data, axes, marks, messages."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pytest

from finkportal_portal.figures.cutouts import stretch_cutout
from finkportal_portal.figures.lightcurve import (
    NO_REFERENCE_MESSAGE,
    SELECTED_NAME,
    lightcurve_figure,
    sparkline_svg,
    svg_data_uri,
)
from finkportal_portal.figures.science import color_figure, supernova_scores_figure
from finkportal_portal.figures.sky import (
    X_EDGE,
    Y_EDGE,
    mollweide,
    ra_to_longitude,
    sky_figure,
    sky_xy,
)
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


def test_mollweide_by_hand() -> None:
    root2 = np.sqrt(2.0)
    x, y = mollweide([0.0, 180.0, -180.0, 0.0, 0.0, 90.0], [0.0, 0.0, 0.0, 90.0, -90.0, 0.0])
    np.testing.assert_allclose(x, [0.0, 2 * root2, -2 * root2, 0.0, 0.0, root2], atol=1e-12)
    np.testing.assert_allclose(y, [0.0, 0.0, 0.0, root2, -root2, 0.0], atol=1e-12)
    # At 45 degrees the auxiliary angle t solves 2t + sin 2t = pi sin 45 (t = 0.6362...).
    (x45,), (y45,) = mollweide([90.0], [45.0])
    t = np.arcsin(y45 / root2)
    assert 2 * t + np.sin(2 * t) == pytest.approx(np.pi * np.sin(np.radians(45.0)), abs=1e-12)
    assert x45 == pytest.approx(root2 * np.cos(t), abs=1e-12)


def test_mollweide_matches_astropy_wcs_mol() -> None:
    """The same projection as WCSLIB's MOL (FITS paper II), in its degrees, to 1e-4."""
    from astropy.wcs import WCS

    wcs = WCS(naxis=2)
    wcs.wcs.ctype, wcs.wcs.crval = ["RA---MOL", "DEC--MOL"], [0.0, 0.0]
    wcs.wcs.cdelt, wcs.wcs.crpix = [1.0, 1.0], [1.0, 1.0]
    rng = np.random.default_rng(3)
    lon = np.r_[rng.uniform(-180, 180, 5000), 0.0, 120.0, -179.9]
    lat = np.r_[rng.uniform(-90, 90, 5000), 90.0, -89.9999, 89.99]
    ref_x, ref_y = wcs.wcs_world2pix(np.mod(lon, 360.0), lat, 0)
    x, y = mollweide(lon, lat)
    np.testing.assert_allclose(np.degrees(x), ref_x, atol=1e-4)
    np.testing.assert_allclose(np.degrees(y), ref_y, atol=1e-4)


def test_sky_figure_one_trace_per_class_with_ids() -> None:
    objects: list[dict[str, Any]] = [
        {"ra": 90.0, "dec": 10.0, "objectId": "ZTF1", "class": "SN candidate"},
        {"ra": 270.0, "dec": -20.0, "objectId": "ZTF2", "class": "SN candidate"},
        {"i:ra": 10.0, "i:dec": 0.0, "i:objectId": "ZTF3", "v:classification": "QSO"},
        {"ra": None, "dec": 5.0, "objectId": "ZTF4", "class": "QSO"}]
    figure = sky_figure(objects)
    traces = traces_named(figure)
    sn, qso = traces["SN candidate (2)"], traces["QSO (1)"]
    x, y = mollweide([-90.0, 90.0], [10.0, -20.0])
    np.testing.assert_allclose(list(sn.x), x)
    np.testing.assert_allclose(list(sn.y), y)
    assert list(sn.customdata) == ["ZTF1", "ZTF2"]
    assert sn.x[0] < 0 < sn.x[1]  # RA 6h left of the centre, 18h right: seen from inside
    assert list(qso.customdata) == ["ZTF3"]
    assert "ZTF1<br>SN candidate" in sn.text[0]
    assert {trace.type for trace in figure.data} == {"scatter"}  # no geo: the basic bundle
    assert figure.layout.meta["projection"] == "mollweide"
    # The whole sky, 0h in the middle, whatever the data cover, not zoomable away.
    x_range, y_range = figure.layout.xaxis.range, figure.layout.yaxis.range
    assert x_range[0] < -X_EDGE < X_EDGE < x_range[1]
    assert y_range[0] < -Y_EDGE < Y_EDGE < y_range[1]
    assert figure.layout.yaxis.scaleanchor == "x"
    assert figure.layout.xaxis.fixedrange is True
    map_traces = [trace.name for trace in figure.data if trace.showlegend is False]
    assert map_traces == ["frame", "grid", "RA hours"]
    assert len(sky_figure([]).data) == 3  # the map alone


def test_sky_hour_labels_sit_on_the_equator_in_ra_order() -> None:
    labels = traces_named(sky_figure([]))["RA hours"]
    assert list(labels.text) == ["0h", "4h", "8h", "12h", "16h", "20h"]
    np.testing.assert_allclose(list(labels.y), 0.0, atol=1e-12)
    x, _ = sky_xy([0.0, 60.0, 120.0, 180.0, 240.0, 300.0], [0.0] * 6)
    np.testing.assert_allclose(list(labels.x), x)
    assert labels.x[2] < labels.x[1] < 0 < labels.x[5] < labels.x[4]  # RA grows leftwards


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
