"""What the schemathesis test adds to schemathesis: real values to ask for, and format readers.

Random text almost never names a stored object, so on its own schemathesis would only see
404s and empty tables. :class:`RealValues` holds ids, positions, dates, classes and Solar
System names of the stored alerts; :func:`add_real_values` makes every generated request
take them half of the time (the other parameters still random) and adds one explicit
request per output format, so PNG, FITS, CSV, Parquet and VOTable answers are all checked.

Schemathesis only parses JSON bodies; :func:`register_format_readers` gives it a reader per
other media type the API answers with, so a body that does not parse as what its
Content-Type says fails ``response_schema_conformance``.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow.parquet as pq
import schemathesis
from astropy.io import fits, votable
from astropy.time import Time
from hypothesis import strategies as st
from PIL import Image

from finkportal_core.classification import alert_class

PREFIX = "/api/v1"
TABLE_FORMATS = ("json", "csv", "parquet", "votable")
CUTOUT_FORMATS = ("PNG", "FITS", "array")
Params = dict[str, Any]


@dataclass(frozen=True)
class RealValues:
    """A sample of what the store holds, as the API's parameters spell it."""

    cutouts: tuple[tuple[str, int], ...]  # (objectId, candid) of stored alerts
    positions: tuple[tuple[str, str], ...]  # (ra, dec) of stored alerts, decimal degrees
    dates: tuple[str, ...]  # 'YYYY-MM-DD hh:mm:ss' of stored alerts
    classes: tuple[str, ...]
    sso_names: tuple[str, ...]

    @classmethod
    def of(cls, alerts: Sequence[dict[str, Any]], size: int = 20) -> RealValues:
        step = max(1, len(alerts) // size)
        sample = [alerts[index] for index in range(0, len(alerts), step)][:size]
        jds = [alert["candidate"]["jd"] for alert in sample]
        names = {str(alert["candidate"].get("ssnamenr")) for alert in alerts}
        return cls(
            cutouts=tuple((a["objectId"], int(a["candid"])) for a in sample),
            positions=tuple((repr(a["candidate"]["ra"]), repr(a["candidate"]["dec"]))
                            for a in sample),
            dates=tuple(Time(jds, format="jd", scale="utc").to_value("iso", subfmt="date_hms")),
            classes=(*sorted({alert_class(a) for a in alerts}), "allclasses"),
            sso_names=tuple(sorted(names - {"None", "null", ""}))[:size],
        )

    def object_ids(self) -> tuple[str, ...]:
        return tuple(object_id for object_id, _candid in self.cutouts)

    def nights(self) -> tuple[str, ...]:
        return tuple(date[:10] for date in self.dates)


def real_params(values: RealValues, path: str) -> st.SearchStrategy[Params]:
    """Real values for the parameters of the endpoint at ``path`` (empty: none apply)."""
    pick = st.sampled_from
    choices: dict[str, st.SearchStrategy[Params]] = {
        "/objects": st.builds(lambda i: {"objectId": i}, pick(values.object_ids())),
        "/cutouts": pick(values.cutouts).map(lambda c: {"objectId": c[0], "candid": c[1]}),
        "/conesearch": st.builds(lambda p, r, d: {"ra": p[0], "dec": p[1], "radius": r,
                                                  "startdate": d},
                                 pick(values.positions), pick((1.0, 30.0, 3600.0)),
                                 pick(values.dates)),
        "/explorer": st.builds(lambda d: {"startdate": d}, pick(values.dates)),
        "/latests": st.builds(lambda c, d: {"class": c, "startdate": d},
                              pick(values.classes), pick(values.dates)),
        "/sso": st.builds(lambda n: {"n_or_d": n}, pick(values.sso_names)),
        "/tracklet": st.builds(lambda n: {"date": n}, pick(values.nights())),
        "/statistics": st.builds(lambda n: {"date": n.replace("-", "")}, pick(values.nights())),
        "/resolver": st.builds(lambda i: {"name": i[:8]}, pick(values.object_ids())),
    }
    return choices.get(path.removeprefix(PREFIX), st.just({}))


def with_real_values(values: RealValues) -> Callable[[Any, Any], st.SearchStrategy[Any]]:
    """A ``flatmap`` hook: the generated parameters, or them with real values swapped in.

    Only parameters the request already has are replaced, so a request missing a required
    one (negative testing) stays invalid.
    """
    def flatmap(context: schemathesis.HookContext, params: Any) -> st.SearchStrategy[Any]:
        if not isinstance(params, dict) or context.operation is None:
            return st.just(params)
        real = real_params(values, context.operation.path).map(
            lambda chosen: {**params, **{k: v for k, v in chosen.items() if k in params}})
        return st.one_of(st.just(params), real)
    return flatmap


def explicit_requests(values: RealValues, path: str) -> list[Params]:
    """One request per output format with real values, for the endpoints that have them."""
    object_id, candid = values.cutouts[0]
    endpoint = path.removeprefix(PREFIX)
    if endpoint == "/cutouts":
        return [{"objectId": object_id, "candid": candid, "output-format": name,
                 **({"kind": "All"} if name == "array" else {})} for name in CUTOUT_FORMATS]
    if endpoint == "/objects":
        return [{"objectId": object_id, "withupperlim": True, "withcutouts": True,
                 "output-format": name} for name in TABLE_FORMATS]
    return []


def add_real_values(schema: schemathesis.BaseSchema, values: RealValues) -> None:
    """Make ``schema``'s generated requests use ``values`` (see the module's docstring)."""
    schema.hook("flatmap_query")(with_real_values(values))
    schema.hook("flatmap_body")(with_real_values(values))

    def before_add_examples(context: schemathesis.HookContext, examples: list[Any]) -> None:
        operation = context.operation
        if operation is None:
            return
        for params in explicit_requests(values, operation.path):
            examples.append(operation.Case(query=params) if operation.method == "get" else
                            operation.Case(body=params, media_type="application/json"))

    schema.hook("before_add_examples")(before_add_examples)


# -- format readers ------------------------------------------------------------------------
# Each parses the body with an independent reader and raises if it is not a document of
# its media type; the schema then sees the body as the string the OpenAPI document declares.


def _csv_text(content: bytes) -> str:
    text = content.decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    widths = {len(row) for row in rows}
    if len(widths) > 1:
        raise ValueError(f"CSV rows of different widths: {sorted(widths)}")
    return text


def _parquet_text(content: bytes) -> str:
    pq.read_table(io.BytesIO(content))
    return content.decode("latin-1")


def _votable_text(content: bytes) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # verify="exception" turns spec violations into errors
        votable.parse(io.BytesIO(content), verify="exception")
    return content.decode("utf-8")


def _png_text(content: bytes) -> str:
    with Image.open(io.BytesIO(content)) as image:
        if image.format != "PNG":
            raise ValueError(f"not a PNG image but {image.format}")
        image.load()
    return content.decode("latin-1")


def _fits_text(content: bytes) -> str:
    with fits.open(io.BytesIO(content)) as hdus:
        hdus.verify("exception")
        if not any(hdu.data is not None for hdu in hdus):
            raise ValueError("FITS file without data")
    return content.decode("latin-1")


FORMAT_READERS: dict[str, Callable[[bytes], str]] = {
    "text/csv": _csv_text,
    "application/vnd.apache.parquet": _parquet_text,
    "application/x-votable+xml": _votable_text,
    "image/png": _png_text,
    "application/fits": _fits_text,
}


def register_format_readers() -> None:
    """Give schemathesis a deserializer per non-JSON media type (process-wide)."""
    for media_type, read in FORMAT_READERS.items():
        def deserialize(_context: Any, response: schemathesis.Response,
                        read: Callable[[bytes], str] = read) -> str:
            return read(response.content)
        schemathesis.deserializer(media_type)(deserialize)
