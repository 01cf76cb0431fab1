"""External links: the right services, the position or id in each, properly encoded."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from finkportal_portal.links import designation, external_links

OBJECT = "ZTF21abfmbix"
RA, DEC = 193.822, -2.897


def links_by_label(object_id: str, ra: Any, dec: Any, ssnamenr: Any = None) -> dict[str, str]:
    return dict(external_links(object_id, ra, dec, ssnamenr))


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def test_every_service_in_order_without_a_solar_system_body() -> None:
    labels = [label for label, _ in external_links(OBJECT, RA, DEC)]
    assert labels == ["TNS", "SIMBAD", "NED", "VSX", "ALeRCE", "Lasair", "ANTARES"]
    for _, url in external_links(OBJECT, RA, DEC):
        assert url.startswith("https://")
        assert " " not in url
        assert '"' not in url


def test_cone_searches_carry_the_position() -> None:
    links = links_by_label(OBJECT, RA, DEC)
    tns = urlsplit(links["TNS"])
    assert (tns.netloc, tns.path) == ("www.wis-tns.org", "/search")
    assert query_of(links["TNS"]) == {"ra": "193.822000", "decl": "-2.897000", "radius": "5",
                                      "coords_unit": "arcsec"}
    simbad = query_of(links["SIMBAD"])
    assert urlsplit(links["SIMBAD"]).path == "/simbad/sim-coo"
    assert (simbad["Coord"], simbad["Radius"], simbad["Radius.unit"]) == (
        "193.822000 -2.897000", "5", "arcsec")
    ned = query_of(links["NED"])
    assert (ned["search_type"], ned["ra"], ned["dec"]) == (
        "Near Position Search", "193.822000", "-2.897000")
    assert float(ned["radius"]) == pytest.approx(5 / 60, abs=1e-4)  # arcminutes
    vsx = query_of(links["VSX"])
    assert (vsx["view"], vsx["coords"], vsx["format"], vsx["unit"]) == (
        "results.get", "193.822000 -2.897000", "d", "3")


def test_a_positive_declination_keeps_its_plus_sign_encoded() -> None:
    url = links_by_label(OBJECT, 10.5, 41.25)["SIMBAD"]
    assert "%2B41.250000" in url  # a bare '+' would read as a space
    assert query_of(url)["Coord"] == "10.500000 +41.250000"


def test_broker_pages_of_the_ztf_object() -> None:
    links = links_by_label(OBJECT, RA, DEC)
    assert links["ALeRCE"] == f"https://alerce.online/object/{OBJECT}"
    assert links["Lasair"] == f"https://lasair-ztf.lsst.ac.uk/objects/{OBJECT}/"
    antares = urlsplit(links["ANTARES"])
    assert (antares.netloc, antares.path) == ("antares.noirlab.edu", "/loci")
    (search,) = json.loads(query_of(links["ANTARES"])["query"])["filters"]
    assert search["field"]["query"] == f"*{OBJECT}*"
    assert "properties.ztf_object_id" in search["field"]["fields"]


def test_ids_are_encoded_in_paths() -> None:
    links = links_by_label("ZTF a/b?c", RA, DEC)
    assert links["ALeRCE"] == "https://alerce.online/object/ZTF%20a%2Fb%3Fc"
    assert unquote(urlsplit(links["ALeRCE"]).path) == "/object/ZTF a/b?c"


def test_no_position_no_cone_search() -> None:
    for ra, dec in ((None, None), (float("nan"), 1.0), ("x", 2.0)):
        assert [label for label, _ in external_links(OBJECT, ra, dec)] == [
            "ALeRCE", "Lasair", "ANTARES"]


@pytest.mark.parametrize("ssnamenr", [None, "", "null", " "])
def test_no_solar_system_links_without_a_body(ssnamenr: object) -> None:
    labels = [label for label, _ in external_links(OBJECT, RA, DEC, ssnamenr)]
    assert "MPC" not in labels
    assert "IMCCE" not in labels


def test_solar_system_body_pages() -> None:
    numbered = links_by_label(OBJECT, RA, DEC, "8467")
    assert query_of(numbered["MPC"]) == {"object_id": "8467"}
    assert urlsplit(numbered["MPC"]).netloc == "minorplanetcenter.net"
    assert numbered["IMCCE"] == "https://ssp.imcce.fr/forms/ssocard/8467"
    provisional = links_by_label(OBJECT, RA, DEC, "2010JO69")
    assert query_of(provisional["MPC"]) == {"object_id": "2010 JO69"}
    assert "object_id=2010%20JO69" in provisional["MPC"]
    assert provisional["IMCCE"] == "https://ssp.imcce.fr/forms/ssocard/2010_JO69"
    assert list(provisional)[-2:] == ["MPC", "IMCCE"]


def test_designations_as_people_write_them() -> None:
    assert designation("2010JO69") == "2010 JO69"
    assert designation("2017AD19") == "2017 AD19"
    assert designation("2001XA") == "2001 XA"
    assert designation("8467") == "8467"
    assert designation("Lucretia") == "Lucretia"
