"""The parameters of every endpoint, with Fink's names.

One pydantic model per endpoint serves both forms of a request: FastAPI reads it
from the query string of a GET (``Annotated[Model, Query()]``) and from the JSON
body of a POST, so the two answer alike and the OpenAPI schema documents both.
Unknown parameters are refused (422) rather than silently ignored: a misspelt
``withcutout`` would otherwise look like a request that worked.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

OutputFormat = Literal["json", "csv", "parquet", "votable"]
CutoutKind = Literal["Science", "Template", "Difference"]
BoolText = bool  # pydantic reads true/false/True/False/1/0/yes/no from a query string

_COLUMNS_DOC = (
    "Comma-separated columns to return, e.g. 'i:objectId,i:jd,i:magpsf,v:classification' "
    "(i: ZTF fields, d: added values, b: cutouts, v: computed). Default: all."
)
_FORMAT_DOC = "json (records), csv, parquet or votable."
_DATE_DOC = ("UTC date: 'YYYY-MM-DD', 'YYYY-MM-DD hh:mm:ss' (ISO, a 'T' also accepted), "
             "or a Julian date (> 2400000) or a modified Julian date.")


class Params(BaseModel):
    """Base of every endpoint's parameters."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class TableParams(Params):
    """Parameters of every endpoint that answers with a table."""

    columns: str | None = Field(None, description=_COLUMNS_DOC, max_length=4_000)
    output_format: OutputFormat = Field("json", alias="output-format", description=_FORMAT_DOC)


class ObjectsParams(TableParams):
    objectId: str = Field(
        description="A ZTF object id ('ZTF21abfmbix'), a comma-separated list of them, or "
        "a prefix of ids ('ZTF21abf', at least 5 characters; a trailing '*' is allowed).",
        min_length=1, max_length=16_000,  # 1000 ids; a GET line must stay under 1 MB
    )
    withupperlim: BoolText = Field(
        False, description="Add the history rows: upper limits and bad-quality detections, "
        "tagged in d:tag as upperlim / badquality (alerts are tagged valid).")
    withcutouts: BoolText = Field(
        False, description="Add the cutout of each alert as a 2-D array in "
        "b:cutout<Kind>_stampData (json and parquet; csv/votable as JSON text).")
    cutout_kind: CutoutKind | Literal["All"] = Field(
        "All", alias="cutout-kind", description="Which cutouts withcutouts adds (All: the "
        "three, as Fink).")


class CutoutsParams(Params):
    objectId: str = Field(description="A ZTF object id.", min_length=1, max_length=64)
    kind: CutoutKind | Literal["All"] = Field(
        "Science", description="Science, Template, Difference, or All (array and FITS only).")
    candid: int | None = Field(None, description="The alert; default: the object's latest.")
    output_format: Literal["PNG", "FITS", "array"] = Field(
        "PNG", alias="output-format", description="PNG image, FITS file, or 2-D JSON array.")
    stretch: str = Field("sigmoid", description="PNG stretch: sigmoid, linear, sqrt, power, "
                         "log or asinh.", max_length=20)
    colormap: str = Field("Greys", description="PNG colormap: a matplotlib colormap name.",
                          max_length=40)
    pmin: float = Field(0.5, ge=0, le=100, description="PNG low clip, percentile.")
    pmax: float = Field(99.5, ge=0, le=100, description="PNG high clip, percentile.")


class DateRangeParams(TableParams):
    startdate: str | None = Field(None, description="Start. " + _DATE_DOC, max_length=64)
    stopdate: str | None = Field(None, description="End (exclusive). " + _DATE_DOC,
                                 max_length=64)


class ConesearchParams(DateRangeParams):
    ra: str = Field(description="Right ascension: decimal degrees, 'HH MM SS.S', 'HH:MM:SS' "
                    "or 'HHhMMmSSs'.", min_length=1, max_length=64)
    dec: str = Field(description="Declination: decimal degrees, '±DD MM SS.S', '±DD:MM:SS' or "
                     "'±DDdMMmSSs'.", min_length=1, max_length=64)
    radius: float = Field(description="Radius in arcseconds (at most 18000, i.e. 5 degrees).",
                          gt=0)
    n: int = Field(1000, ge=1, description="Most objects returned, the nearest first.")
    window: float | None = Field(
        None, gt=0, description="Days after startdate (instead of stopdate).")


class LatestsParams(DateRangeParams):
    class_: str = Field(
        alias="class", min_length=1, max_length=100,
        description="A Fink class ('SN candidate', see /api/v1/classes), '(SIMBAD) <label>' "
        "(e.g. '(SIMBAD) RRLyr'), or 'allclasses'.")
    n: int = Field(10, ge=1, description="Most alerts returned, the newest first.")
    trend: Literal["rising", "fading"] | None = Field(
        None, description="Keep alerts getting brighter (rising: magnitude rate < 0) or "
        "fainter (fading: rate > 0): Fink's d:mag_rate when the alert has it, else the rate "
        "since the object's previous alert in the same band.")
    color: BoolText = Field(
        False, description="Add the colour and rate columns v:rate, v:sigma(rate), v:g-r, "
        "v:sigma(g-r), v:rate(g-r), v:sigma(rate(g-r)), computed as fink-object-api does "
        "over the alerts returned.")


class ExplorerParams(TableParams):
    startdate: str = Field(description="Start. " + _DATE_DOC, max_length=64)
    stopdate: str | None = Field(None, description="End (exclusive). " + _DATE_DOC,
                                 max_length=64)
    window: float | None = Field(
        None, gt=0, description="Minutes after startdate (instead of stopdate; default 1).")
    n: int = Field(1000, ge=1, description="Most alerts returned, the oldest first.")


class SsoParams(TableParams):
    n_or_d: str = Field(
        description="Solar System object numbers or designations as ZTF writes them "
        "(ssnamenr: '8467', '2010JO69'; spaces are removed), comma-separated.",
        min_length=1, max_length=16_000)


class TrackletParams(TableParams):
    id: str | None = Field(None, description="A tracklet id ('TRCK_20211022_091949_00').",
                           max_length=100)
    date: str | None = Field(
        None, description="Tracklets of a night or a moment: 'YYYY-MM-DD' or "
        "'YYYY-MM-DD hh:mm:ss' (a prefix of the tracklet ids' date).", max_length=40)


class StatisticsParams(TableParams):
    date: str = Field("", description="'YYYYMMDD' (a night), 'YYYYMM' (a month), 'YYYY' "
                      "(a year) or empty (every night).", max_length=8)


class ResolverParams(TableParams):
    resolver: Literal["ztf", "ssodnet", "simbad", "tns"] = Field(
        description="ztf: object ids starting with name; ssodnet: Solar System names (as ZTF "
        "writes them, i:ssnamenr) starting with name. simbad and tns need those services "
        "online and are refused with a message.")
    name: str = Field(description="The name or its beginning.", min_length=1, max_length=100)
    reverse: BoolText = Field(
        False, description="ssodnet only: name is a ZTF object id; return the Solar System "
        "names its alerts are associated with.")
    nmax: int = Field(10, ge=1, le=1000, description="Most names returned.")


class PlainParams(Params):
    output_format: OutputFormat = Field("json", alias="output-format", description=_FORMAT_DOC)


def wants_heavy(columns: str | None) -> bool:
    """Whether ``columns`` names ``i:fp_hists``, returned only when asked for by name."""
    return "i:fp_hists" in (column_list(columns) or ())


def column_list(columns: str | None) -> list[str] | None:
    """``"i:jd, i:fid"`` -> ``["i:jd", "i:fid"]``; empty -> None (every column)."""
    if columns is None:
        return None
    names = [name.strip() for name in columns.split(",") if name.strip()]
    return names or None
