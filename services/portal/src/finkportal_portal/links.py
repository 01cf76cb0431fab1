"""Links from an object's page to other services: catalogues around its position, other
brokers' pages of the same ZTF object and, for a known Solar System body, its pages at
the MPC and at IMCCE (SsODNet). Pure: only URLs are built, nothing is fetched.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import quote, urlencode

CONE_RADIUS_ARCSEC = 5.0
# ZTF writes provisional designations without their space: "2010JO69" is "2010 JO69".
_PROVISIONAL = re.compile(r"^(\d{4})([A-Z]{2}\d*)$")


def _query(base: str, params: dict[str, Any]) -> str:
    """``base?params``, every value percent-encoded (spaces as %20, which all accept)."""
    return f"{base}?{urlencode(params, quote_via=quote)}"


def _path(base: str, segment: str, suffix: str = "") -> str:
    return f"{base}/{quote(segment, safe='')}{suffix}"


def _coordinates(ra: Any, dec: Any) -> tuple[str, str] | None:
    """RA and Dec as decimal-degree texts, or None when either is missing."""
    try:
        ra_value, dec_value = float(ra), float(dec)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(ra_value) and math.isfinite(dec_value)):
        return None
    return f"{ra_value:.6f}", f"{dec_value:+.6f}"


def position_links(ra: Any, dec: Any, radius_arcsec: float = CONE_RADIUS_ARCSEC,
                   ) -> list[tuple[str, str]]:
    """Cone searches in TNS, SIMBAD, NED and VSX (empty without coordinates)."""
    position = _coordinates(ra, dec)
    if position is None:
        return []
    ra_text, dec_text = position
    radius = f"{radius_arcsec:g}"
    return [
        ("TNS", _query("https://www.wis-tns.org/search", {
            "ra": ra_text, "decl": dec_text, "radius": radius, "coords_unit": "arcsec"})),
        ("SIMBAD", _query("https://simbad.cds.unistra.fr/simbad/sim-coo", {
            "Coord": f"{ra_text} {dec_text}", "CooFrame": "ICRS", "Radius": radius,
            "Radius.unit": "arcsec"})),
        ("NED", _query("https://ned.ipac.caltech.edu/conesearch", {
            "search_type": "Near Position Search", "in_csys": "Equatorial",
            "in_equinox": "J2000", "ra": ra_text, "dec": dec_text,
            "radius": f"{radius_arcsec / 60:.4f}"})),  # NED wants arcminutes
        ("VSX", _query("https://www.aavso.org/vsx/index.php", {
            "view": "results.get", "coords": f"{ra_text} {dec_text}", "format": "d",
            "size": radius, "unit": "3"})),  # unit 3: arcseconds
    ]


def broker_links(object_id: str) -> list[tuple[str, str]]:
    """The same ZTF object at ALeRCE, Lasair and ANTARES."""
    antares_query = {
        "currentPage": 1, "perPage": 25, "sortDesc": True,
        "sortBy": "properties.newest_alert_observation_time",
        "filters": [{"type": "query_string", "value": None,
                     "text": f"ID Lookup: {object_id}",
                     "field": {"query": f"*{object_id}*",
                               "fields": ["properties.ztf_object_id", "locus_id"]}}],
    }
    return [
        ("ALeRCE", _path("https://alerce.online/object", object_id)),
        ("Lasair", _path("https://lasair-ztf.lsst.ac.uk/objects", object_id, "/")),
        ("ANTARES", _query("https://antares.noirlab.edu/loci",
                           {"query": json.dumps(antares_query, separators=(",", ":"))})),
    ]


def designation(ssnamenr: str) -> str:
    """A ZTF ``ssnamenr`` as people write it: '2010JO69' -> '2010 JO69', '8467' kept."""
    name = str(ssnamenr).strip()
    match = _PROVISIONAL.match(name)
    return f"{match.group(1)} {match.group(2)}" if match else name


def solar_system_links(ssnamenr: str) -> list[tuple[str, str]]:
    """The body at the Minor Planet Center and at IMCCE's SsODNet (its ssocard)."""
    name = designation(ssnamenr)
    return [
        ("MPC", _query("https://minorplanetcenter.net/db_search/show_object",
                       {"object_id": name})),
        # ssocard names use underscores for spaces ("2010_JO69").
        ("IMCCE", _path("https://ssp.imcce.fr/forms/ssocard", name.replace(" ", "_"))),
    ]


def external_links(object_id: str, ra: Any, dec: Any, ssnamenr: Any = None,
                   ) -> list[tuple[str, str]]:
    """(label, URL) pairs: TNS, SIMBAD, NED, VSX, ALeRCE, Lasair, ANTARES, then MPC and
    IMCCE when ``ssnamenr`` names a Solar System body (ZTF writes 'null' when none)."""
    links = position_links(ra, dec) + broker_links(object_id)
    name = solar_system_name(ssnamenr)
    if name is not None:
        links += solar_system_links(name)
    return links


def solar_system_name(ssnamenr: Any) -> str | None:
    """The body's ZTF name, or None: ZTF writes 'null' when no known body is near."""
    name = "" if ssnamenr is None else str(ssnamenr).strip()
    return name if name and name.lower() not in ("null", "none", "nan") else None
