"""Sections of the object page built from its rows: cutouts, information, links, downloads."""

from __future__ import annotations

import math
import urllib.parse
from collections import Counter
from typing import Any

from dash import dcc, html

from finkportal_portal.coords import format_sexagesimal, galactic
from finkportal_portal.data import Row, is_alert, tag_counts
from finkportal_portal.figures.stamps import cutout_src
from finkportal_portal.links import external_links, solar_system_name
from finkportal_portal.photometry import BAND_NAMES, as_float

CUTOUT_KINDS = ("Science", "Template", "Difference")
DOWNLOAD_FORMATS = ("json", "csv", "votable", "parquet")


def cutout_sources(arrays: dict[str, Any], isdiffpos: Any) -> list[str]:
    """The three stamps as image sources, in CUTOUT_KINDS order (a drawn "no cutout"
    square when a stamp is missing)."""
    return [cutout_src(arrays.get(f"b:cutout{kind}_stampData"), kind, isdiffpos)
            for kind in CUTOUT_KINDS]


def cutouts_row(sources: list[str], candid: Any) -> html.Div:
    graphs = [html.Div([html.Div(kind, className="cutout-label"),
                        html.Img(id=f"cutout-{kind.lower()}", src=src, className="cutout",
                                 alt=f"{kind} cutout")])
              for kind, src in zip(CUTOUT_KINDS, sources, strict=True)]
    return html.Div([html.Div(graphs, className="cutouts"),
                     html.Div(["Alert ", html.Span(str(candid), id="cutout-candid"),
                               " (click a point of the light curve for another alert)"],
                              className="cutout-caption")])


def info_panel(rows: list[Row]) -> html.Div:
    """Dates, position, variability, point counts, nearest catalogue sources, class history."""
    alerts = [row for row in rows if is_alert(row)]
    last = alerts[0]
    ra, dec = as_float(last.get("i:ra")), as_float(last.get("i:dec"))
    ra_text, dec_text = format_sexagesimal(ra, dec)
    l_deg, b_deg = galactic(ra, dec)
    counts = tag_counts(rows)
    return html.Div(id="object-info", className="info", children=[
        _fields("Dates", [("First alert", last.get("v:firstdate")),
                          ("Last alert", last.get("v:lastdate")),
                          ("Time span", _days(last.get("v:lapse"))),
                          ("Constellation", last.get("v:constellation"))]),
        _fields("Position", [("RA, Dec (deg)", f"{ra:.6f}, {dec:+.6f}"),
                             ("RA, Dec", f"{ra_text} {dec_text}"),
                             ("Galactic l, b (deg)", f"{l_deg:.5f}, {b_deg:+.5f}")]),
        _fields("Photometry", [("Valid / bad quality / upper limits",
                                f"{counts['valid']} / {counts['badquality']} / "
                                f"{counts['upperlim']}"), *_variability(alerts)]),
        _fields("Nearest sources", _neighbours(last)),
        _fields("Classification", _class_history(alerts)),
    ])


def _fields(title: str, pairs: list[tuple[str, Any]]) -> html.Div:
    return html.Div([html.H4(title), html.Dl([
        item for label, value in pairs
        for item in (html.Dt(label), html.Dd(_text(value)))])], className="info-block")


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return str(value)


def _days(value: Any) -> str:
    days = as_float(value)
    return "-" if math.isnan(days) else f"{days:.2f} days"


def _variability(alerts: list[Row]) -> list[tuple[str, Any]]:
    """Per band: the magnitude range and its amplitude (difference magnitudes)."""
    pairs = []
    for fid, band in BAND_NAMES.items():
        mags = [as_float(r.get("i:magpsf")) for r in alerts if as_float(r.get("i:fid")) == fid]
        mags = [m for m in mags if not math.isnan(m)]
        if mags:
            pairs.append((f"{band} band ({len(mags)})",
                          f"{min(mags):.2f} to {max(mags):.2f} mag "
                          f"(amplitude {max(mags) - min(mags):.2f})"))
    return pairs


def _neighbours(row: Row) -> list[tuple[str, Any]]:
    def near(dist_key: str, mag_key: str, what: str) -> str:
        dist, mag = as_float(row.get(dist_key)), as_float(row.get(mag_key))
        if math.isnan(dist) or dist < 0:
            return "none"
        return f"{dist:.2f}\" ({what} {mag:.2f})" if not math.isnan(mag) else f"{dist:.2f}\""
    return [("ZTF reference source", near("i:distnr", "i:magnr", "mag")),
            ("Pan-STARRS1", near("i:distpsnr1", "i:srmag1", "r")
             + f", star/galaxy score {as_float(row.get('i:sgscore1')):.2f}"),
            ("Gaia", near("i:neargaia", "i:maggaia", "G")),
            ("SIMBAD", row.get("d:cdsxmatch") or "-"),
            ("Solar System object", solar_system_name(row.get("i:ssnamenr")) or "none")]


def _class_history(alerts: list[Row]) -> list[tuple[str, Any]]:
    """Each class the object received, with its alert count and first/last date."""
    counts = Counter(str(row.get("v:classification") or "Unknown") for row in alerts)
    history = []
    for name, count in counts.most_common():
        dates = [str(row.get("v:lastdate", ""))[:10] for row in alerts
                 if str(row.get("v:classification") or "Unknown") == name]
        history.append((name, f"{count} alert(s), {min(dates)} to {max(dates)}"))
    history.insert(0, ("Last", alerts[0].get("v:classification") or "Unknown"))
    return history


def links_panel(row: Row) -> html.Div:
    links = external_links(str(row.get("i:objectId")), as_float(row.get("i:ra")),
                           as_float(row.get("i:dec")), row.get("i:ssnamenr"))
    return html.Div(id="external-links", className="links", children=[
        html.A(label, href=url, target="_blank", rel="noopener", className="link-chip")
        for label, url in links])


def downloads_panel(object_id: str, api_url: str) -> html.Div:
    query = urllib.parse.urlencode({"objectId": object_id, "output-format": "json"})
    call = f"curl '{api_url}/api/v1/objects?{query}'"
    return html.Div(className="downloads", children=[
        html.Div([html.Button(fmt.upper() if fmt != "votable" else "VOTable",
                              id=f"download-{fmt}", className="button small")
                  for fmt in DOWNLOAD_FORMATS] + [dcc.Download(id="download")]),
        html.Div([html.Code(call, id="api-call"),
                  dcc.Clipboard(target_id="api-call", title="copy", className="copy")],
                 className="api-call"),
    ])
