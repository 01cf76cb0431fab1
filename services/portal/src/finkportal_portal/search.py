"""The search bar's language, after the Fink science portal's, and its completions.

A query is a head (what to look for) followed by ``key=value`` options::

    ZTF21abfmbix                      an object            -> /api/v1/objects
    ZTF21abf  (or ZTF21abf*)          ids with that start  -> /api/v1/objects
    271.3914 45.2545 5s after=...     a cone               -> /api/v1/conesearch
    class=SN candidate last=20        latest of a class    -> /api/v1/latests
    TRCK_20211022_091949_00           a tracklet           -> /api/v1/tracklet
    8467, 2010 JO69, Julienpeloton    a Solar System body  -> /api/v1/sso

An option's value runs up to the next ``key=`` (class names and dates hold spaces).
Everything is checked here, so a mistake is explained next to the search bar before any
request is made; the requests are those ``finkportal_query.params`` validates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from finkportal_core.dates import DateOutOfRangeError, NotADateError, date_to_jd
from finkportal_portal.coords import CoordinateError, parse_dec, parse_ra, parse_radius

__all__ = ["DEFAULT_LAST", "DEFAULT_RADIUS_ARCSEC", "MAX_RADIUS_ARCSEC", "SearchQuery",
           "SearchSyntaxError", "parse_query", "suggest"]

Kind = Literal["object", "prefix", "cone", "class", "tracklet", "sso"]

DEFAULT_RADIUS_ARCSEC = 10.0
MAX_RADIUS_ARCSEC = 18000.0  # the query API's limit (5 degrees)
DEFAULT_LAST = 100
MIN_PREFIX_LENGTH = 5  # the query API refuses shorter object id prefixes
ALL_CLASSES = "allclasses"
TRENDS = ("rising", "fading")

OPTIONS = ("class", "last", "r", "radius", "after", "before", "window", "trend")
_CONE_OPTIONS = ("last", "r", "radius", "after", "before", "window")
_CLASS_OPTIONS = ("class", "last", "after", "before", "trend")
_WHAT = {"object": "an object id", "prefix": "an object id prefix", "tracklet": "a tracklet id",
         "sso": "a Solar System object"}
_OPTIONS_HINT = "options are class=, last=, r=/radius=, after=, before=, window=, trend="
_EXPECTED = ("expected a ZTF object id (ZTF21abfmbix) or its first 5+ characters, coordinates "
             "'ra dec [radius]', class=<name>, a tracklet id (TRCK_YYYYMMDD_HHMMSS_NN) or a "
             "Solar System number or name (8467, 2010 JO69)")

# Dates as the query API reads them (docs/api.md, "Dates").

_OPTION = re.compile(r"(?:^|(?<=\s))([A-Za-z_]+)=")
_OBJECT_ID = re.compile(r"^ZTF\d{2}[a-z]{7}$", re.IGNORECASE)
_ID_START = re.compile(r"^ZTF(?:\d(?:\d[a-z]{0,7})?)?\*?$", re.IGNORECASE)
_TRACKLET = re.compile(r"^TRCK_\d{8}_\d{6}_\d{2}$", re.IGNORECASE)
_INTEGER = re.compile(r"^\d+$")
# A piece of a coordinate or radius: digits with separators and unit letters.
# Lower-case letters only: designations such as '2004MS' are upper-case.
_COORDINATE_PIECE = re.compile(r"^[+-]?\d[\d.:hdmse°'\"′″+-]*$")
_SSO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 '/().\-_]*$")


class SearchSyntaxError(ValueError):
    """A query the search bar cannot read; the message says what was expected."""


@dataclass(frozen=True)
class SearchQuery:
    """One parsed query. Fields not used by ``kind`` stay None."""

    kind: Kind
    object_id: str | None = None  # object: the id; prefix: its beginning (no '*')
    ra: float | None = None  # degrees
    dec: float | None = None
    radius_arcsec: float | None = None
    class_name: str | None = None
    last: int | None = None  # most results (the API's n)
    after: str | None = None  # a date as the API reads it (startdate)
    before: str | None = None  # stopdate
    window_days: float | None = None
    trend: str | None = None
    tracklet_id: str | None = None
    sso_name: str | None = None

    def api_request(self) -> tuple[str, dict[str, str]]:
        """The query API endpoint path and its parameters."""
        if self.kind in ("object", "prefix"):
            return "/api/v1/objects", {"objectId": str(self.object_id)}
        if self.kind == "tracklet":
            return "/api/v1/tracklet", {"id": str(self.tracklet_id)}
        if self.kind == "sso":
            # ZTF writes designations without spaces (i:ssnamenr '2010JO69').
            return "/api/v1/sso", {"n_or_d": str(self.sso_name).replace(" ", "")}
        if self.kind == "cone":
            return "/api/v1/conesearch", _present({
                "ra": _ra_text(self.ra), "dec": _number(self.dec),
                "radius": _number(self.radius_arcsec), "startdate": self.after,
                "stopdate": self.before, "window": _number(self.window_days),
                "n": _number(self.last)})
        return "/api/v1/latests", _present({
            "class": self.class_name, "n": _number(self.last), "startdate": self.after,
            "stopdate": self.before, "trend": self.trend})

    def canonical(self) -> str:
        """The query written back in one normal form; ``parse_query`` reads it again."""
        # The '*' keeps a 12-character prefix a prefix.
        alone = {"object": self.object_id, "prefix": f"{self.object_id}*",
                 "tracklet": self.tracklet_id, "sso": self.sso_name}
        if self.kind in alone:
            return str(alone[self.kind])
        head = f"{_ra_text(self.ra)} {_number(self.dec)}" if self.kind == "cone" else ""
        options = {"class": self.class_name, "last": _number(self.last),
                   "r": _number(self.radius_arcsec), "after": self.after,
                   "before": self.before, "window": _number(self.window_days),
                   "trend": self.trend}
        written = [f"{key}={value}" for key, value in _present(options).items()]
        return " ".join([head, *written]).strip()


def parse_query(text: str) -> SearchQuery:
    """Read a search bar query; raise SearchSyntaxError saying what was expected."""
    head, options = _split_options(text)
    if not head and not options:
        raise SearchSyntaxError(f"the search is empty: {_EXPECTED}")
    if "class" in options or (not head and "last" in options):
        if head:
            raise SearchSyntaxError(f"class= searches take no object or coordinates: remove "
                                    f"{head!r}")
        return _class_query(options)
    if not head:
        raise SearchSyntaxError(f"options alone search nothing: {_EXPECTED}")
    try:
        return _head_query(head, options)
    except CoordinateError as exc:
        raise SearchSyntaxError(str(exc)) from exc


def suggest(text: str, classes: Sequence[str], limit: int = 10) -> list[str]:
    """Whole queries completing ``text``: class names, option names, trend values."""
    if not text.strip():
        return []
    completions = _value_completions(text, classes) + _option_completions(text)
    return list(dict.fromkeys(completions))[:limit]


# -- options -------------------------------------------------------------------------------


def _split_options(text: str) -> tuple[str, dict[str, str]]:
    """``'1 2 r=5 after=2021-01-01 12:00'`` -> ``('1 2', {'r': '5', 'after': '...'})``."""
    matches = list(_OPTION.finditer(text))
    head = text[:matches[0].start()] if matches else text
    options: dict[str, str] = {}
    ends = [match.start() for match in matches[1:]] + [len(text)]
    for match, end in zip(matches, ends, strict=False):  # no match: no option
        key = match[1].lower()
        if key not in OPTIONS:
            raise SearchSyntaxError(f"unknown option {match[1] + '='!r}; {_OPTIONS_HINT}")
        key = "r" if key == "radius" else key
        if key in options:
            raise SearchSyntaxError(f"{match[1]}= is given twice")
        value = _unquote(" ".join(text[match.end():end].split()))
        if not value:
            raise SearchSyntaxError(f"{match[1]}= needs a value")
        options[key] = value
    return " ".join(head.split()), options


def _unquote(value: str) -> str:
    quoted = len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'"
    return value[1:-1].strip() if quoted else value


def _refuse(options: dict[str, str], allowed: Sequence[str], what: str) -> None:
    for key in options:
        if key not in allowed:
            where = "class= searches" if key == "trend" else "cone searches"
            raise SearchSyntaxError(f"{key}= applies to {where}, not to {what}")


def _last(text: str) -> int:
    if not _INTEGER.match(text) or int(text) < 1:
        raise SearchSyntaxError(f"last= takes a whole number of results, at least 1: got "
                                f"{text!r}")
    return int(text)


def _dates(options: dict[str, str]) -> tuple[str | None, str | None]:
    after, before = options.get("after"), options.get("before")
    after_jd = _date_jd(after, "after") if after else None
    before_jd = _date_jd(before, "before") if before else None
    if after_jd is not None and before_jd is not None and before_jd <= after_jd:
        raise SearchSyntaxError(f"before= ({before}) must be later than after= ({after})")
    return after, before


def _date_jd(text: str, option: str) -> float:
    """The Julian date of an ISO date, a JD (> 2400000) or an MJD, read as the API reads it."""
    try:
        return date_to_jd(text)
    except DateOutOfRangeError:
        raise SearchSyntaxError(f"{option}= {text!r} is outside the years 1858-2406") from None
    except NotADateError:
        raise SearchSyntaxError(f"{option}= {text!r} is not a date: use YYYY-MM-DD, "
                                "'YYYY-MM-DD hh:mm:ss' or a Julian date") from None


def _window(options: dict[str, str]) -> float | None:
    text = options.get("window")
    if text is None:
        return None
    if "after" not in options:
        raise SearchSyntaxError("window= needs after=: the window is counted in days from it")
    if "before" in options:
        raise SearchSyntaxError("give before= or window=, not both")
    days = float(text) if re.match(r"^\d*\.?\d+$|^\d+\.$", text) else 0.0
    if not 0.0 < days < float("inf"):
        raise SearchSyntaxError(f"window= takes a number of days above zero: got {text!r}")
    return days


# -- the kinds of query --------------------------------------------------------------------


def _class_query(options: dict[str, str]) -> SearchQuery:
    _refuse(options, _CLASS_OPTIONS, "class= searches")
    name = options.get("class", ALL_CLASSES)
    if name.replace(" ", "").lower() == ALL_CLASSES:  # Fink's portal says "All classes"
        name = ALL_CLASSES
    trend = options.get("trend", "").lower() or None
    if trend is not None and trend not in TRENDS:
        raise SearchSyntaxError(f"trend= is rising or fading: got {options['trend']!r}")
    after, before = _dates(options)
    last = _last(options["last"]) if "last" in options else DEFAULT_LAST
    return SearchQuery(kind="class", class_name=name, last=last, after=after, before=before,
                       trend=trend)


def _head_query(head: str, options: dict[str, str]) -> SearchQuery:
    tokens = head.replace(",", " ").split()  # Fink's portal also reads '271.39, 45.25'
    if len(tokens) == 1 and not _COORDINATE_PIECE.match(tokens[0]):
        return _alone(_single_query(tokens[0]), options)
    if len(tokens) == 1 and _INTEGER.match(tokens[0]):
        return _alone(SearchQuery(kind="sso", sso_name=tokens[0]), options)
    if all(_COORDINATE_PIECE.match(token) for token in tokens):
        return _cone_query(tokens, options)
    first = tokens[0].upper()
    if first.startswith(("ZTF", "TRCK")):
        raise SearchSyntaxError(f"unexpected {head[len(first):].strip()!r} after "
                                f"{tokens[0]!r}: search one object id at a time")
    if _COORDINATE_PIECE.match(tokens[0]) and not _INTEGER.match(tokens[0]):
        return _cone_query(tokens, options)  # e.g. '271.39 45.25 x': say what is wrong
    if _SSO_NAME.match(head):
        return _alone(SearchQuery(kind="sso", sso_name=head), options)
    raise SearchSyntaxError(f"cannot read {head!r}: {_EXPECTED}")


def _alone(query: SearchQuery, options: dict[str, str]) -> SearchQuery:
    """Object, tracklet and Solar System searches take no options."""
    for key in options:
        raise SearchSyntaxError(f"{key}= does not apply to {_WHAT[query.kind]}: options go "
                                "with coordinates or class=")
    return query


def _single_query(token: str) -> SearchQuery:
    upper = token.upper()
    if _OBJECT_ID.match(token):
        return SearchQuery(kind="object", object_id=_normal_id(token))
    if upper.startswith("ZTF"):
        return _prefix_query(token)
    if upper.startswith("TRCK"):
        if not _TRACKLET.match(token):
            raise SearchSyntaxError(f"{token!r} is not a tracklet id: expected "
                                    "TRCK_YYYYMMDD_HHMMSS_NN")
        return SearchQuery(kind="tracklet", tracklet_id=upper)
    if _SSO_NAME.match(token):
        return SearchQuery(kind="sso", sso_name=token)
    raise SearchSyntaxError(f"cannot read {token!r}: {_EXPECTED}")


def _prefix_query(token: str) -> SearchQuery:
    if not _ID_START.match(token):
        raise SearchSyntaxError(f"{token!r} is not a ZTF object id: expected 'ZTF', two digits "
                                "and seven letters (ZTF21abfmbix), or the beginning of one")
    prefix = _normal_id(token.rstrip("*"))
    if len(prefix) < MIN_PREFIX_LENGTH:
        raise SearchSyntaxError(f"an object id prefix needs at least {MIN_PREFIX_LENGTH} "
                                f"characters (e.g. ZTF21): got {prefix!r}")
    return SearchQuery(kind="prefix", object_id=prefix)


def _normal_id(token: str) -> str:
    """``ztf21ABCdefg`` -> ``ZTF21abcdefg``: ZTF ids are 'ZTF', digits, lower-case letters."""
    return "ZTF" + token[3:].lower()


def _cone_query(tokens: list[str], options: dict[str, str]) -> SearchQuery:
    _refuse(options, _CONE_OPTIONS, "cone searches")
    ra_text, dec_text, radius_text = _cone_parts(tokens)
    after, before = _dates(options)
    return SearchQuery(
        kind="cone", ra=parse_ra(ra_text), dec=parse_dec(dec_text),
        radius_arcsec=_radius(radius_text, options.get("r")),
        last=_last(options["last"]) if "last" in options else None,
        after=after, before=before, window_days=_window(options))


def _cone_parts(tokens: list[str]) -> tuple[str, str, str | None]:
    """ra, dec and radius texts: 2 or 3 tokens, or 6 or 7 when written with spaces."""
    if len(tokens) in (2, 3):
        return tokens[0], tokens[1], tokens[2] if len(tokens) == 3 else None
    if len(tokens) in (6, 7):
        return " ".join(tokens[:3]), " ".join(tokens[3:6]), (
            tokens[6] if len(tokens) == 7 else None)
    raise SearchSyntaxError(f"cannot read coordinates {' '.join(tokens)!r}: expected 'ra dec "
                            "[radius]', e.g. '271.3914 45.2545 10' or '18 05 33.9 +45 15 16.2'")


def _radius(positional: str | None, option: str | None) -> float:
    if positional is not None and option is not None:
        raise SearchSyntaxError("the radius is given twice: as a third value and as r=")
    text = positional if positional is not None else option
    if text is None:
        return DEFAULT_RADIUS_ARCSEC
    if option is not None and " " in option:
        raise SearchSyntaxError(f"r= takes one value, got {option!r}: write the coordinates "
                                "before the options")
    arcsec = parse_radius(text)
    if arcsec > MAX_RADIUS_ARCSEC:
        raise SearchSyntaxError(f"radius {arcsec:g} arcsec is above the limit of "
                                f"{MAX_RADIUS_ARCSEC:g} arcsec (5 degrees)")
    return arcsec


def _number(value: float | None) -> str | None:
    """Short text of a number that reads back to it: 1800.0 -> '1800'."""
    if value is None:
        return None
    return format(value, ".15g")


def _ra_text(ra: float | None) -> str | None:
    """As _number, but an ra just below 360 that rounds to '360' is written '0'."""
    text = _number(ra)
    return "0" if text == "360" else text


def _present(values: dict[str, str | None]) -> dict[str, str]:
    return {key: value for key, value in values.items() if value is not None}


# -- completions ---------------------------------------------------------------------------


def _value_completions(text: str, classes: Sequence[str]) -> list[str]:
    """After ``class=`` the matching class names; after ``trend=`` rising and fading."""
    matches = list(_OPTION.finditer(text))
    if not matches:
        return []
    last = matches[-1]
    start, typed = text[:last.end()], text[last.end():].strip().lower()
    values: dict[str, Callable[[], list[str]]] = {
        "class": lambda: _matching_classes(typed, classes),
        "trend": lambda: [trend for trend in TRENDS if trend.startswith(typed)],
    }
    chosen = values.get(last[1].lower())
    return [start + value for value in chosen()] if chosen else []


def _matching_classes(typed: str, classes: Sequence[str]) -> list[str]:
    """Names containing ``typed`` (any case), those starting with it first."""
    found = [name for name in classes if typed in name.lower()]
    return sorted(found, key=lambda name: not name.lower().startswith(typed))


def _option_completions(text: str) -> list[str]:
    """The options the last word may begin, among those that fit the query so far."""
    word = re.search(r"(?:^|\s)([A-Za-z_]+)$", text)
    if word is None:
        return []
    start, typed = text[:word.start(1)], word[1].lower()
    given = {match[1].lower() for match in _OPTION.finditer(start)}
    if given & {"r", "radius"}:
        given |= {"r", "radius"}
    return [f"{start}{name}=" for name in _options_that_fit(start, given)
            if name.startswith(typed) and name not in given]


def _options_that_fit(start: str, given: set[str]) -> Sequence[str]:
    first_option = _OPTION.search(start)
    head = start[:first_option.start()] if first_option else start
    if head.strip():
        return _CONE_OPTIONS
    if given & {"class", "last"}:
        return _CLASS_OPTIONS
    return OPTIONS
