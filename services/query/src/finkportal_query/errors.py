"""The query service's exception tree; one handler in :mod:`finkportal_query.app` maps it to HTTP.

Domain code raises these and never builds HTTP responses itself.
"""

from __future__ import annotations


class QueryError(Exception):
    """Base of every error a request can end with. ``status`` is its HTTP status code."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadParameterError(QueryError):
    """A parameter is missing, malformed or out of range: the message says what to fix."""

    status = 400


class TooLargeError(QueryError):
    """The result would exceed a documented limit: narrow the request."""

    status = 400


class NotFoundError(QueryError):
    """Nothing is stored under the id asked for (an object, an alert, a cutout)."""

    status = 404
