"""The ``/api/v1`` routes: each endpoint answers a GET query string and a POST JSON body.

Both forms validate into the same parameter model (:mod:`finkportal_query.params`)
and call the same function, so they cannot answer differently.
"""
# No ``from __future__ import annotations`` here: FastAPI reads the parameter models
# from the annotations of the closures below, which must be real classes.

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from finkportal_query import catalog, latests, objects, searches, stamps
from finkportal_query.formats import MEDIA_TYPES, render_table
from finkportal_query.params import (
    ConesearchParams,
    CutoutsParams,
    ExplorerParams,
    LatestsParams,
    ObjectsParams,
    PlainParams,
    ResolverParams,
    SsoParams,
    StatisticsParams,
    TableParams,
    TrackletParams,
)
from finkportal_query.rows import FinkRow

PREFIX = "/api/v1"
Answer = Callable[[Any, Any], Response]


class ErrorBody(BaseModel):
    """Every error: ``text`` says what went wrong and what to fix."""

    status: str = "error"
    text: str


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Bad parameter, or the answer would be too large"},
    404: {"model": ErrorBody, "description": "Nothing stored under that id"},
    422: {"model": ErrorBody, "description": "A parameter is missing or has the wrong type"},
    503: {"model": ErrorBody, "description": "The store is unreachable: retry later"},
}
_TABLE_CONTENT = {
    media: ({"schema": {"type": "array", "items": {"type": "object"}}}
            if name == "json" else {"schema": {"type": "string"}})
    for name, media in MEDIA_TYPES.items()
}
# /classes and /schema take no parameter but output-format; a body that is not JSON is 400.
JSON_ERRORS: dict[int | str, dict[str, Any]] = {code: _ERRORS[code] for code in (400, 422, 503)}
TABLE_RESPONSES = {200: {"description": "The rows, in the output format asked",
                         "content": _TABLE_CONTENT}, **_ERRORS}


def table_answer(rows_of: Callable[[Any, Any], list[FinkRow]], path: str) -> Answer:
    """An answer that renders the rows ``rows_of(context, params)`` gives."""
    def answer(context: Any, params: TableParams) -> Response:
        rows = rows_of(context, params)
        body, media_type = render_table(rows, params.output_format)
        context.metrics.rows.labels(PREFIX + path).inc(len(rows))
        return Response(body, media_type=media_type)
    return answer


def add_endpoint(router: APIRouter, path: str, model: type[BaseModel], answer: Answer,
                 summary: str, responses: dict[int | str, dict[str, Any]]) -> None:
    """Register ``GET path`` (query string) and ``POST path`` (JSON body) for ``model``."""
    def via_get(request: Request,
                params: Annotated[model, Query()]) -> Response:  # type: ignore[valid-type]
        return answer(request.app.state.context, params)

    def via_post(request: Request, params: model) -> Response:  # type: ignore[valid-type]
        return answer(request.app.state.context, params)

    def via_post_optional(request: Request,
                          params: Annotated[model | None, Body()] = None,  # type: ignore[valid-type]
                          ) -> Response:
        return answer(request.app.state.context, params if params is not None else model())

    if not any(field.is_required() for field in model.model_fields.values()):
        via_post = via_post_optional  # nothing required: an empty POST body is fine

    name = path.strip("/").replace("/", "_")
    for method, endpoint in (("GET", via_get), ("POST", via_post)):
        router.add_api_route(path, endpoint, methods=[method], summary=summary,
                             response_class=Response, responses=responses,
                             operation_id=f"{name}_{method.lower()}", tags=["api"])


def build_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX)
    tables: list[tuple[str, type[BaseModel], Callable[[Any, Any], list[FinkRow]], str]] = [
        ("/objects", ObjectsParams, lambda c, p: objects.object_rows(c.reader, p, c.limits),
         "Alerts of objects by id, id list or id prefix"),
        ("/conesearch", ConesearchParams,
         lambda c, p: searches.cone_rows(c.reader, p, c.limits),
         "Objects within a radius of a position, one row per object"),
        ("/latests", LatestsParams, lambda c, p: latests.latest_rows(c.reader, p, c.limits),
         "Latest alerts of a class"),
        ("/explorer", ExplorerParams, lambda c, p: searches.explorer_rows(c.reader, p, c.limits),
         "Alerts within a date range"),
        ("/sso", SsoParams, lambda c, p: searches.sso_rows(c.reader, p, c.limits),
         "Alerts of Solar System objects"),
        ("/tracklet", TrackletParams, lambda c, p: searches.tracklet_rows(c.reader, p, c.limits),
         "Alerts of a tracklet (fast-moving object trail)"),
        ("/statistics", StatisticsParams, lambda c, p: catalog.statistics_rows(c.reader, p),
         "Alert counts per night"),
        ("/resolver", ResolverParams, lambda c, p: catalog.resolver_rows(c.reader, p),
         "Names held here (object ids, Solar System names) starting with a text"),
    ]
    for path, model, rows_of, summary in tables:
        add_endpoint(router, path, model, table_answer(rows_of, path), summary, TABLE_RESPONSES)
    add_endpoint(router, "/cutouts", CutoutsParams,
                 lambda c, p: stamps.cutout_response(c.reader, p),
                 "Cutout images of an alert (PNG, FITS or array)", stamps.RESPONSES)
    add_endpoint(router, "/classes", PlainParams,
                 lambda c, p: catalog.classes_response(c.reader, p),
                 "Classes latests accepts", {**catalog.JSON_RESPONSES, **JSON_ERRORS})
    add_endpoint(router, "/schema", PlainParams, lambda c, p: catalog.schema_response(p),
                 "Every column with its type and description",
                 {**catalog.JSON_RESPONSES, **JSON_ERRORS})
    return router
