"""The search bar's language (finkportal_portal.search): parsing, API requests, completions.

Positions are computed by hand: 18h05m33.9s = 65133.9 s / 240 = 271.39125 degrees and
+45d15m16.2s = 45 + 0.25 + 0.0045 = 45.2545 degrees.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from pydantic import BaseModel

from finkportal_core.sky import parse_ra_dec
from finkportal_portal.search import (
    DEFAULT_LAST,
    DEFAULT_RADIUS_ARCSEC,
    MAX_RADIUS_ARCSEC,
    SearchQuery,
    SearchSyntaxError,
    parse_query,
    suggest,
)
from finkportal_query.dates import parse_date
from finkportal_query.errors import BadParameterError
from finkportal_query.params import (
    ConesearchParams,
    LatestsParams,
    ObjectsParams,
    SsoParams,
    TrackletParams,
)

CLASSES = ["Early SN Ia candidate", "SN candidate", "Kilonova candidate", "(SIMBAD) RRLyr",
           "Solar System MPC", "(SIMBAD) SN"]


def accepts(call: Callable[[], object], error: type[Exception]) -> bool:
    try:
        call()
    except error:
        return False
    return True


def failure(text: str) -> str:
    with pytest.raises(SearchSyntaxError) as caught:
        parse_query(text)
    return str(caught.value)


# -- objects, prefixes, tracklets, Solar System objects ------------------------------------


@pytest.mark.parametrize("text", ["ZTF21abfmbix", "ztf21ABFMBIX", "  ZTF21abfmbix  "])
def test_object_id_is_normalised(text: str) -> None:
    query = parse_query(text)
    assert query == SearchQuery(kind="object", object_id="ZTF21abfmbix")
    assert query.api_request() == ("/api/v1/objects", {"objectId": "ZTF21abfmbix"})
    assert query.canonical() == "ZTF21abfmbix"


@pytest.mark.parametrize(("text", "prefix"), [
    ("ZTF21", "ZTF21"),
    ("ZTF21abf", "ZTF21abf"),
    ("ztf21ABF*", "ZTF21abf"),
    ("ZTF21abfmbi", "ZTF21abfmbi"),
    ("ZTF21abfmbix*", "ZTF21abfmbix"),  # a whole id with '*' stays a prefix search
])
def test_object_id_prefix(text: str, prefix: str) -> None:
    query = parse_query(text)
    assert (query.kind, query.object_id) == ("prefix", prefix)
    assert query.api_request() == ("/api/v1/objects", {"objectId": prefix})
    assert query.canonical() == prefix + "*"


@pytest.mark.parametrize(("text", "got"), [("ZTF2", "ZTF2"), ("ZTF", "ZTF"), ("ztf2*", "ZTF2")])
def test_short_prefix_is_refused(text: str, got: str) -> None:
    assert failure(text) == ("an object id prefix needs at least 5 characters (e.g. ZTF21): "
                             f"got {got!r}")


@pytest.mark.parametrize("text", ["ZTF21abfmbixx", "ZTF2a", "ZTF21ab1", "ZTFab"])
def test_malformed_object_id(text: str) -> None:
    assert failure(text) == (f"{text!r} is not a ZTF object id: expected 'ZTF', two digits "
                             "and seven letters (ZTF21abfmbix), or the beginning of one")


def test_tracklet() -> None:
    query = parse_query("trck_20211022_091949_00")
    assert query == SearchQuery(kind="tracklet", tracklet_id="TRCK_20211022_091949_00")
    assert query.api_request() == ("/api/v1/tracklet", {"id": "TRCK_20211022_091949_00"})
    assert query.canonical() == "TRCK_20211022_091949_00"


@pytest.mark.parametrize("text", ["TRCK_2021", "TRCK_20211022_091949", "trck"])
def test_malformed_tracklet(text: str) -> None:
    assert failure(text) == f"{text!r} is not a tracklet id: expected TRCK_YYYYMMDD_HHMMSS_NN"


@pytest.mark.parametrize(("text", "name", "n_or_d"), [
    ("8467", "8467", "8467"),
    ("8467,", "8467", "8467"),
    ("2010 JO69", "2010 JO69", "2010JO69"),  # ZTF writes designations without the space
    ("2010JO69", "2010JO69", "2010JO69"),
    ("Julienpeloton", "Julienpeloton", "Julienpeloton"),
    ("C/2020 F3", "C/2020 F3", "C/2020F3"),
    ("2004MS", "2004MS", "2004MS"),  # upper-case letters: a designation, not "m"/"s" units
])
def test_solar_system_object(text: str, name: str, n_or_d: str) -> None:
    query = parse_query(text)
    assert query == SearchQuery(kind="sso", sso_name=name)
    assert query.api_request() == ("/api/v1/sso", {"n_or_d": n_or_d})
    assert query.canonical() == name


@pytest.mark.parametrize(("text", "message"), [
    ("ZTF21abfmbix r=5", "r= does not apply to an object id: options go with coordinates "
                         "or class="),
    ("ZTF21abf after=2021-01-01", "after= does not apply to an object id prefix"),
    ("TRCK_20211022_091949_00 last=3", "last= does not apply to a tracklet id"),
    ("8467 window=2", "window= does not apply to a Solar System object"),
    ("ZTF21abfmbix ZTF21abfmbiy", "unexpected 'ZTF21abfmbiy' after 'ZTF21abfmbix': search one "
                                  "object id at a time"),
])
def test_single_targets_take_no_options(text: str, message: str) -> None:
    assert failure(text).startswith(message)


# -- cones ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "271.39125 45.2545",
    "18 05 33.9 +45 15 16.2",
    "18 05 33.9 45 15 16.2",
    "18:05:33.9 +45:15:16.2",
    "18h05m33.9s +45d15m16.2s",
    "18:05:33.9, +45:15:16.2",  # Fink's portal reads commas as spaces
    "271.39125 +45d15m16.2s",
    "18h05m33.9s +45°15'16.2\"",
])
def test_cone_formats(text: str) -> None:
    query = parse_query(text)
    assert query.kind == "cone"
    assert query.ra == pytest.approx(271.39125, abs=1e-12)
    assert query.dec == pytest.approx(45.2545, abs=1e-12)
    assert query.radius_arcsec == DEFAULT_RADIUS_ARCSEC == 10.0
    assert query.api_request() == ("/api/v1/conesearch",
                                   {"ra": "271.39125", "dec": "45.2545", "radius": "10"})
    assert query.canonical() == "271.39125 45.2545 r=10"


def test_negative_declination() -> None:
    query = parse_query("12 00 00 -10 30 00")
    assert (query.ra, query.dec) == (180.0, -10.5)
    assert query.api_request()[1] == {"ra": "180", "dec": "-10.5", "radius": "10"}
    assert query.canonical() == "180 -10.5 r=10"


@pytest.mark.parametrize("text", ["359.9999999999999 10", "23:59:59.99999999999 +10:00:00"])
def test_ra_just_below_360_is_sent_as_0(text: str) -> None:
    # 15 significant digits round it to 360, which the API refuses; 360 degrees is 0.
    query = parse_query(text)
    assert query.api_request()[1] == {"ra": "0", "dec": "10", "radius": "10"}
    assert query.canonical() == "0 10 r=10"


@pytest.mark.parametrize(("text", "arcsec"), [
    ("271.3914 45.2545 15", 15.0),
    ("271.3914 45.2545 5s", 5.0),
    ("271.3914 45.2545 2m", 120.0),
    ("271.3914 45.2545 0.5d", 1800.0),
    ("18 05 33.9 +45 15 16.2 2'", 120.0),
    ("271.3914 45.2545 r=3", 3.0),
    ("271.3914 45.2545 radius=1.5arcmin", 90.0),
    ("271.3914 45.2545 R=2deg", 7200.0),
    ("271.3914 45.2545 5d", 18000.0),  # the limit itself is allowed
])
def test_cone_radius(text: str, arcsec: float) -> None:
    query = parse_query(text)
    assert query.radius_arcsec == pytest.approx(arcsec)
    assert query.api_request()[1]["radius"] == f"{arcsec:g}"


def test_cone_with_dates_window_and_count() -> None:
    query = parse_query("271.3914 45.2545 r=20 after=2021-01-01 12:00:00 window=2.5 last=7")
    assert query == SearchQuery(kind="cone", ra=271.3914, dec=45.2545, radius_arcsec=20.0,
                                after="2021-01-01 12:00:00", window_days=2.5, last=7)
    assert query.api_request() == ("/api/v1/conesearch", {
        "ra": "271.3914", "dec": "45.2545", "radius": "20", "startdate": "2021-01-01 12:00:00",
        "window": "2.5", "n": "7"})
    assert query.canonical() == ("271.3914 45.2545 last=7 r=20 after=2021-01-01 12:00:00 "
                                 "window=2.5")


def test_cone_between_dates() -> None:
    query = parse_query("271.3914 45.2545 after=2459215.5 before=2021-02-01T00:00")
    assert query.api_request()[1] == {"ra": "271.3914", "dec": "45.2545", "radius": "10",
                                      "startdate": "2459215.5",
                                      "stopdate": "2021-02-01T00:00"}


@pytest.mark.parametrize(("text", "message"), [
    ("271.39", "cannot read coordinates '271.39': expected 'ra dec [radius]', e.g. "
               "'271.3914 45.2545 10' or '18 05 33.9 +45 15 16.2'"),
    ("1 2 3 4", "cannot read coordinates '1 2 3 4'"),
    ("18:05:33.9", "cannot read coordinates '18:05:33.9'"),
    ("271.39 95", "dec '95' is outside -90 <= dec <= 90 degrees"),
    ("400 45", "ra 400 is outside 0 <= ra < 360 degrees"),
    ("24 00 00 +45 00 00", "ra '24 00 00': hours must be below 24"),
    ("18 05 33.9 +45 61 00", "dec '+45 61 00': minutes must be below 60"),
    ("271.39 north", "cannot read dec 'north'"),
    ("271.39 45.25 wide", "cannot read radius 'wide'"),
    ("271.39 45.25 20000", "radius 20000 arcsec is above the limit of 18000 arcsec "
                           "(5 degrees)"),
    ("271.39 45.25 r=5.1d", "radius 18360 arcsec is above the limit"),
    ("271.39 45.25 r=0", "radius '0' must be above zero"),
    ("271.39 45.25 10 r=5", "the radius is given twice: as a third value and as r="),
    ("271.39 45.25 r=5 radius=6", "radius= is given twice"),
    ("271.39 45.25 trend=rising", "trend= applies to class= searches, not to cone searches"),
    ("271.39 45.25 window=2", "window= needs after=: the window is counted in days from it"),
    ("271.39 45.25 after=2021-01-01 before=2021-01-05 window=2",
     "give before= or window=, not both"),
    ("271.39 45.25 after=2021-01-01 window=0", "window= takes a number of days above zero: "
                                                "got '0'"),
    ("271.39 45.25 last=many", "last= takes a whole number of results, at least 1: got 'many'"),
    ("271.39 45.25 after=yesterday", "after= 'yesterday' is not a date: use YYYY-MM-DD, "
                                     "'YYYY-MM-DD hh:mm:ss' or a Julian date"),
    ("271.39 45.25 after=3000000", "after= '3000000' is outside the years 1858-2406"),
    ("271.39 45.25 after=2021-01-02 before=2021-01-01",
     "before= (2021-01-01) must be later than after= (2021-01-02)"),
])
def test_cone_errors(text: str, message: str) -> None:
    assert failure(text).startswith(message)


def test_limit_is_the_query_service_limit() -> None:
    assert MAX_RADIUS_ARCSEC == 18000.0  # docs/api.md: "radius ... max 18000"


# -- classes -------------------------------------------------------------------------------


def test_class_with_spaces_and_defaults() -> None:
    query = parse_query("class=Early SN Ia candidate")
    assert query == SearchQuery(kind="class", class_name="Early SN Ia candidate",
                                last=DEFAULT_LAST)
    assert DEFAULT_LAST == 100
    assert query.api_request() == ("/api/v1/latests", {"class": "Early SN Ia candidate",
                                                       "n": "100"})
    assert query.canonical() == "class=Early SN Ia candidate last=100"


def test_class_with_every_option() -> None:
    query = parse_query("CLASS=(SIMBAD) RRLyr  last=5 after=2021-01-01 12:00:00 "
                        "before=2459300.5 trend=Rising")
    assert query.api_request() == ("/api/v1/latests", {
        "class": "(SIMBAD) RRLyr", "n": "5", "startdate": "2021-01-01 12:00:00",
        "stopdate": "2459300.5", "trend": "rising"})
    assert query.canonical() == ("class=(SIMBAD) RRLyr last=5 after=2021-01-01 12:00:00 "
                                 "before=2459300.5 trend=rising")


@pytest.mark.parametrize(("text", "name"), [
    ('class="SN candidate"', "SN candidate"),
    ("class='SN candidate' last=3", "SN candidate"),
    ("class=All classes", "allclasses"),  # Fink's portal name of the older API's value
    ("class=allclasses", "allclasses"),
    ("last=20", "allclasses"),  # as Fink's portal: the latest alerts of every class
])
def test_class_names(text: str, name: str) -> None:
    assert parse_query(text).class_name == name


@pytest.mark.parametrize(("text", "message"), [
    ("class=", "class= needs a value"),
    ("class=SN last=", "last= needs a value"),
    ("class=SN last=0", "last= takes a whole number of results, at least 1: got '0'"),
    ("class=SN trend=flat", "trend= is rising or fading: got 'flat'"),
    ("class=SN r=3", "r= applies to cone searches, not to class= searches"),
    ("class=SN after=2021-01-01 window=3", "window= applies to cone searches, not to class= "
                                           "searches"),
    ("class=SN class=Kilonova", "class= is given twice"),
    ("class=SN foo=3", "unknown option 'foo='; options are class=, last=, r=/radius=, "
                       "after=, before=, window=, trend="),
    ("271.39 45.25 class=SN", "class= searches take no object or coordinates: remove "
                              "'271.39 45.25'"),
    ("class=SN after=2021-01-02 before=2021-01-02", "before= (2021-01-02) must be later than"),
    # 2021-01-01 12:00 UTC is JD 2459216.0 (hand-checked: JD 2440587.5 + 18628.5 days).
    ("class=SN after=2021-01-01 12:00 before=2459216.0", "before= (2459216.0) must be later"),
    ("class=SN before=59215.5 after=2021-01-01 12:00", "before= (59215.5) must be later"),
    ("class=SN after=2021-13-01", "after= '2021-13-01' is not a date"),
])
def test_class_errors(text: str, message: str) -> None:
    assert failure(text).startswith(message)


def test_dates_are_compared_to_the_second() -> None:
    # JD 2459216.0001 is 8.64 s after 2021-01-01 12:00:00: a valid range.
    query = parse_query("class=SN after=2021-01-01 12:00 before=2459216.0001")
    assert (query.after, query.before) == ("2021-01-01 12:00", "2459216.0001")


# -- other errors --------------------------------------------------------------------------


EXPECTED = ("expected a ZTF object id (ZTF21abfmbix) or its first 5+ characters, coordinates "
            "'ra dec [radius]', class=<name>, a tracklet id (TRCK_YYYYMMDD_HHMMSS_NN) or a "
            "Solar System number or name (8467, 2010 JO69)")


@pytest.mark.parametrize(("text", "message"), [
    ("", "the search is empty: " + EXPECTED),
    ("   ", "the search is empty: " + EXPECTED),
    ("r=10", "options alone search nothing: " + EXPECTED),
    ("r=10 271.39 45.25", "options alone search nothing: " + EXPECTED),
    ("#?!", "cannot read '#?!': " + EXPECTED),
    ("8467, 2010 JO69", "cannot read '8467, 2010 JO69': " + EXPECTED),
    ("foo=3", "unknown option 'foo='; options are class=, last=, r=/radius=, after=, "
              "before=, window=, trend="),
])
def test_unreadable_queries(text: str, message: str) -> None:
    assert failure(text) == message
    assert issubclass(SearchSyntaxError, ValueError)


# -- canonical form and the query service's parameters -------------------------------------


QUERIES = [
    "ZTF21abfmbix", "ztf21abf", "ZTF21abfmbix*", "TRCK_20211022_091949_00", "8467",
    "2010 JO69", "18 05 33.9 -10 30 00", "18:05:33.9 +45:15:16.2 2m",
    "0.001 -89.5 radius=0.5d after=2021-01-01 window=1.5 last=3",
    "271.39 45.25 after=59215.5 before=2021-02-01 12:30:00",
    "class=SN candidate", "last=20", "class=Early SN Ia candidate last=5 trend=fading "
    "after=2021-01-01 before=2459300.5",
]
MODELS: dict[str, type[BaseModel]] = {
    "/api/v1/objects": ObjectsParams, "/api/v1/conesearch": ConesearchParams,
    "/api/v1/latests": LatestsParams, "/api/v1/sso": SsoParams, "/api/v1/tracklet": TrackletParams}


@pytest.mark.parametrize("text", QUERIES)
def test_canonical_form_reads_back_to_the_same_query(text: str) -> None:
    query = parse_query(text)
    assert parse_query(query.canonical()) == query
    assert parse_query(query.canonical()).canonical() == query.canonical()


@pytest.mark.parametrize("text", QUERIES)
def test_requests_are_valid_query_service_parameters(text: str) -> None:
    """The query service's own pydantic models accept every request, unknown keys refused."""
    query = parse_query(text)
    path, params = query.api_request()
    validated = MODELS[path].model_validate(params)
    assert validated.model_dump(by_alias=True, exclude_unset=True).keys() == params.keys()
    if isinstance(validated, ConesearchParams):
        assert parse_ra_dec(validated.ra, validated.dec) == pytest.approx((query.ra, query.dec))
        assert validated.radius == query.radius_arcsec
    if isinstance(validated, LatestsParams):
        assert (validated.class_, validated.n) == (query.class_name, query.last)


@pytest.mark.parametrize("date", [
    "2021-01-01", "2021-01-01 12:00", "2021-01-01 12:00:00", "2021-01-01T12:00:00",
    "2021-01-01 12:00:00.250", "2459216.0", "59215.5", "2021-1-1", "2021/01/01", "tomorrow",
    "2021-01-01 25:00", "3000000", "-5", "2021-02-30",
])
def test_dates_are_refused_exactly_when_the_query_service_refuses_them(date: str) -> None:
    assert accepts(lambda: parse_query(f"class=SN candidate after={date}"),
                   SearchSyntaxError) == accepts(lambda: parse_date(date, "startdate"),
                                                 BadParameterError)


# -- completions ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("", []),
    ("   ", []),
    ("class=", [f"class={name}" for name in CLASSES]),
    ("class=sn", ["class=SN candidate", "class=Early SN Ia candidate", "class=(SIMBAD) SN"]),
    ("class= (simbad)", ["class=(SIMBAD) RRLyr", "class=(SIMBAD) SN"]),
    ("class=candidate", ["class=Early SN Ia candidate", "class=SN candidate",
                         "class=Kilonova candidate"]),
    ("last=5 class=kilo", ["last=5 class=Kilonova candidate"]),
    ("class=nothing like it", []),
    ("cl", ["class="]),
    ("LA", ["last="]),
    ("r", ["r=", "radius="]),
    ("t", ["trend="]),
    ("class=SN candidate la", ["class=SN candidate last="]),
    ("class=SN candidate tr", ["class=SN candidate trend="]),
    ("class=SN candidate r", []),  # r= is for cones
    ("class=SN candidate c", []),  # class= is given already
    ("271.39 45.25 r", ["271.39 45.25 r=", "271.39 45.25 radius="]),
    ("271.39 45.25 r=5 r", []),
    ("271.39 45.25 w", ["271.39 45.25 window="]),
    ("271.39 45.25 t", []),  # trend= is for classes
    ("class=SN trend=", ["class=SN trend=rising", "class=SN trend=fading"]),
    ("class=SN trend=F", ["class=SN trend=fading"]),
    ("class=SN trend=up", []),
    ("ZTF21abf", []),
    ("271.39 45.25 ", []),
])
def test_suggestions(text: str, expected: list[str]) -> None:
    assert suggest(text, CLASSES) == expected


def test_suggestions_are_limited() -> None:
    many = [f"Class {index}" for index in range(30)]
    assert suggest("class=class", many) == [f"class=Class {index}" for index in range(10)]
    assert suggest("class=class", many, limit=3) == ["class=Class 0", "class=Class 1",
                                                     "class=Class 2"]


def test_suggestions_are_whole_queries_that_parse() -> None:
    for completion in suggest("class=sn", CLASSES):
        assert parse_query(completion).kind == "class"
    assert all(re.fullmatch(r"class=SN trend=\w+", text)
               for text in suggest("class=SN trend=", CLASSES))
