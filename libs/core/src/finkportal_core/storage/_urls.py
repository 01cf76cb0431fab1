"""Parsing of store URLs (``ServiceSettings.store_url``)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

ACCEPTED = (
    "'sqlite:<directory>[?synchronous=normal|full&busy_timeout_ms=<ms>]' or "
    "'hbase://<host>[:<port>][?table_prefix=<p>&pool_size=<n>&transport=buffered|framed"
    "&protocol=binary|compact&timeout_ms=<ms>]'"
)
_SQLITE_PARAMS = {"synchronous", "busy_timeout_ms"}
_HBASE_PARAMS = {"table_prefix", "pool_size", "transport", "protocol", "timeout_ms"}
_CHOICES = {
    "synchronous": ("normal", "full"),
    "transport": ("buffered", "framed"),
    "protocol": ("binary", "compact"),
}
_POSITIVE_INTS = ("pool_size", "timeout_ms", "busy_timeout_ms")


@dataclass(frozen=True)
class SqliteUrl:
    directory: str
    synchronous: str = "normal"
    busy_timeout_ms: int = 30_000  # how long a writer waits for another's lock


@dataclass(frozen=True)
class HBaseUrl:
    host: str
    port: int = 9090
    table_prefix: str | None = None
    pool_size: int = 4
    transport: str = "buffered"
    protocol: str = "binary"
    timeout_ms: int | None = None


def parse_store_url(url: str) -> SqliteUrl | HBaseUrl:
    """Parse a store URL; ``ValueError`` (saying what is accepted) when malformed."""
    if not isinstance(url, str):
        raise _invalid(repr(url), "not a string")
    if url.startswith("sqlite:"):
        return _parse_sqlite(url)
    if url.startswith("hbase://"):
        return _parse_hbase(url)
    raise _invalid(url, "unknown scheme")


def _invalid(url: str, why: str) -> ValueError:
    return ValueError(f"invalid store URL {url!r}: {why}; accepted: {ACCEPTED}")


def _parse_sqlite(url: str) -> SqliteUrl:
    location, _, query = url[len("sqlite:") :].partition("?")
    if location.startswith("///"):
        location = location[2:]  # sqlite:///abs/dir, as SQLAlchemy spells absolute paths
    elif location.startswith("//"):
        raise _invalid(url, "a host part is not supported")
    if not location:
        raise _invalid(url, "no directory")
    params = _params(url, query, _SQLITE_PARAMS)
    timeout = int(params.get("busy_timeout_ms", SqliteUrl.busy_timeout_ms))
    return SqliteUrl(location, params.get("synchronous", "normal"), timeout)


def _parse_hbase(url: str) -> HBaseUrl:
    parts = urlsplit(url)
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise _invalid(url, str(exc)) from None
    if not host or parts.path not in ("", "/") or parts.fragment or parts.username:
        raise _invalid(url, "expected only a host, a port and parameters")
    params = _params(url, parts.query, _HBASE_PARAMS)
    ints = {name: int(params.pop(name)) for name in _POSITIVE_INTS if name in params}
    return HBaseUrl(host, port or 9090, **params, **ints)  # type: ignore[arg-type]


def _params(url: str, query: str, allowed: set[str]) -> dict[str, str]:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise _invalid(url, "malformed parameters") from None
    names = [name for name, _ in pairs]
    unknown = sorted(set(names) - allowed)
    if unknown:
        raise _invalid(url, f"unknown parameter(s) {', '.join(unknown)}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise _invalid(url, f"repeated parameter(s) {', '.join(repeated)}")
    params = dict(pairs)
    for name, value in params.items():
        _check_value(url, name, value)
    return params


def _check_value(url: str, name: str, value: str) -> None:
    choices = _CHOICES.get(name)
    if choices is not None and value not in choices:
        raise _invalid(url, f"{name} must be one of {'|'.join(choices)}, not {value!r}")
    if name in _POSITIVE_INTS and not (value.isdigit() and int(value) > 0):
        raise _invalid(url, f"{name} must be a positive integer, not {value!r}")
    if name == "table_prefix" and not value:
        raise _invalid(url, "table_prefix must not be empty")
