"""``/api/v1/cutouts``: one alert's cutouts as PNG, FITS or a 2-D array."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from fastapi.responses import Response

from finkportal_core.codec import decode_value
from finkportal_core.tables import MAIN_TABLE, object_prefix
from finkportal_query.cutouts import (
    CUTOUT_KINDS,
    CutoutDecodeError,
    check_render_options,
    fits_bytes,
    render_png,
    stamp_to_array,
)
from finkportal_query.errors import BadParameterError, NotFoundError
from finkportal_query.params import CutoutsParams
from finkportal_query.reader import AlertReader

T = TypeVar("T")
_ERROR = {"content": {"application/json": {"schema": {"type": "object"}}}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The cutout(s)", "content": {
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "application/fits": {"schema": {"type": "string", "format": "binary"}},
        "application/json": {"schema": {"type": "object"}}}},
    400: {"description": "Bad parameter", **_ERROR},
    404: {"description": "No such object, alert or cutout", **_ERROR},
    422: {"description": "A parameter is missing or has the wrong type", **_ERROR},
    503: {"description": "The store is unreachable: retry later", **_ERROR},
}


def cutout_response(reader: AlertReader, params: CutoutsParams) -> Response:
    """The asked cutout(s) of the alert ``candid`` (default: the latest) of ``objectId``."""
    if params.kind == "All" and params.output_format != "array":
        raise BadParameterError("kind=All is only possible with output-format=array")
    if params.output_format == "PNG":  # refuse bad options before reading the store
        check_render_options(stretch=params.stretch, colormap=params.colormap,
                             pmin=params.pmin, pmax=params.pmax)
    kinds = CUTOUT_KINDS if params.kind == "All" else (params.kind,)
    cells = _alert_cutout_cells(reader, params.objectId.strip(), params.candid)
    stamps = {kind: _stamp(cells, kind) for kind in kinds}
    if params.output_format == "array":
        document = {f"b:cutout{kind}_stampData": _readable(kind, stamp_to_array, stamp).tolist()
                    for kind, stamp in stamps.items()}
        return Response(orjson.dumps(document), media_type="application/json")
    (kind, stamp), = stamps.items()
    filename = f"{params.objectId}_{kind}"
    if params.output_format == "FITS":
        return _attachment(_readable(kind, fits_bytes, stamp), "application/fits",
                           f"{filename}.fits")
    image = render_png(_readable(kind, stamp_to_array, stamp), stretch=params.stretch,
                       colormap=params.colormap, pmin=params.pmin, pmax=params.pmax)
    return _attachment(image, "image/png", f"{filename}.png")


def _attachment(body: bytes, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})


def _stamp(cells: dict[bytes, bytes], kind: str) -> bytes:
    raw = cells.get(f"b:cutout{kind}_stampData".encode())
    stamp = decode_value(raw) if raw is not None else None
    if not isinstance(stamp, bytes) or not stamp:
        raise NotFoundError(f"the alert has no {kind} cutout")
    return stamp


def _readable(kind: str, convert: Callable[[bytes], T], stamp: bytes) -> T:
    """``convert(stamp)``; a stamp stored but unreadable is a 404 saying so, never a 500."""
    try:
        return convert(stamp)
    except CutoutDecodeError as exc:
        raise NotFoundError(f"the alert's {kind} cutout cannot be read: {exc}") from None


def _alert_cutout_cells(reader: AlertReader, object_id: str,
                        candid: int | None) -> dict[bytes, bytes]:
    table = reader.table(MAIN_TABLE)
    prefix = object_prefix(object_id)
    if candid is None:
        latest = next(iter(table.scan(row_prefix=prefix, columns=[b"b"], reverse=True,
                                      limit=1)), None)
        if latest is None:
            raise NotFoundError(f"no alert of object {object_id!r} is stored")
        return latest[1]
    for key, _cells in table.scan(row_prefix=prefix, columns=[b"i:candid"]):
        if key.endswith(f"_{candid}".encode()):
            return table.get(key, columns=[b"b"])
    raise NotFoundError(f"object {object_id!r} has no stored alert with candid {candid}")
