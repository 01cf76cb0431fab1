"""What the archive holds: night statistics, class names, column schema, name resolver."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

from finkportal_core.classification import FINK_CLASSES, UNKNOWN
from finkportal_core.indexing.layout import CLASS_TABLE, OBJECTS_TABLE, SSO_TABLE
from finkportal_query.errors import BadParameterError
from finkportal_query.params import (
    PlainParams,
    ResolverParams,
    StatisticsParams,
    column_list,
)
from finkportal_query.reader import AlertReader
from finkportal_query.rows import FinkRow, select_columns
from finkportal_query.schema_doc import schema_document

FINK_GROUP = "Fink classifiers"
SIMBAD_GROUP = ("Cross-match with SIMBAD (see "
                "http://simbad.u-strasbg.fr/simbad/sim-display?data=otypes)")
_MOST_CLASS_NAMES = 10_000
JSON_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "A JSON document",
          "content": {"application/json": {"schema": {"type": "object"}}}},
}
# Our statistics counters -> Fink's column names (basic:raw = alerts received...).
_STATISTICS_NAMES = {"alerts": "basic:raw", "objects": "basic:objects", "fid_1": "basic:n_g",
                     "fid_2": "basic:n_r", "fid_3": "basic:n_i"}


# -- statistics ---------------------------------------------------------------------------


def statistics_rows(reader: AlertReader, params: StatisticsParams) -> list[FinkRow]:
    """One row per night whose date starts with ``date``, oldest first."""
    date = params.date.strip()
    if date and (not date.isdigit() or len(date) not in (4, 6, 8)):
        raise BadParameterError(f"date {params.date!r}: use YYYYMMDD, YYYYMM, YYYY or nothing")
    rows = [_statistics_row(night, counts) for night, counts in reader.statistics(date)]
    class_columns = sorted({name for row in rows for name in row if name.startswith("class:")})
    for row in rows:
        for name in class_columns:
            row.setdefault(name, 0)
    return select_columns(rows, column_list(params.columns))


def _statistics_row(night: str, counts: dict[str, Any]) -> FinkRow:
    row: FinkRow = {"key:key": f"ztf_{night}", "f:night": night}
    for name, count in sorted(counts.items()):
        row[_STATISTICS_NAMES.get(name, name)] = count
    row.setdefault("basic:raw", 0)
    row["basic:sci"] = row["basic:raw"]  # every stored alert passed ZTF's own cuts
    return row


# -- classes and schema -------------------------------------------------------------------


def classes_response(reader: AlertReader, _params: PlainParams) -> Response:
    """Fink's classes, and the SIMBAD labels the class index holds, as Fink groups them."""
    stored = reader.distinct_prefixes(CLASS_TABLE, "", _MOST_CLASS_NAMES)
    simbad = sorted({name for name in stored if name not in FINK_CLASSES}, key=str.lower)
    document = {
        FINK_GROUP: sorted((name for name in FINK_CLASSES if name != UNKNOWN), key=str.lower),
        SIMBAD_GROUP: [name if name.startswith("(") else f"(SIMBAD) {name}" for name in simbad],
    }
    return _json(document)


def schema_response(_params: PlainParams) -> Response:
    return _json(schema_document())


def _json(document: object) -> Response:
    return Response(orjson.dumps(document), media_type="application/json")


# -- resolver -----------------------------------------------------------------------------


def resolver_rows(reader: AlertReader, params: ResolverParams) -> list[FinkRow]:
    """Names held here that start with ``name`` (or, reversed, an object's SSO names)."""
    name = params.name.strip()
    if params.resolver in ("simbad", "tns"):
        raise BadParameterError(
            f"resolver={params.resolver} needs the {params.resolver.upper()} online service, "
            "which this portal does not call; use resolver=ztf (object ids) or ssodnet "
            "(Solar System names held here)")
    if params.resolver == "ztf":
        rows: list[FinkRow] = [{"i:objectId": object_id}
                               for object_id in reader.objects_with_prefix(name, params.nmax)]
    elif params.reverse:
        rows = [{"i:objectId": name, "i:ssnamenr": sso} for sso in _sso_names_of(reader, name)]
    else:
        rows = [{"i:ssnamenr": sso} for sso in
                reader.distinct_prefixes(SSO_TABLE, name.replace(" ", ""), params.nmax)]
    return select_columns(rows[: params.nmax], column_list(params.columns))


def _sso_names_of(reader: AlertReader, object_id: str) -> list[str]:
    if not reader.table(OBJECTS_TABLE).get(object_id.encode(), columns=[b"s:last_jd"]):
        return []
    names = (row.get("i:ssnamenr") for row in reader.object_alerts(object_id))
    return sorted({name for name in names if isinstance(name, str) and name not in
                   ("", "null", "None")})
