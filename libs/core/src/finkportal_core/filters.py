"""Live-stream filters: which classified alerts go to which Kafka topic, in Fink's form.

Every filter is declared once, in :data:`STREAM_FILTERS`; adding a stream means adding
one :class:`StreamFilter` there. A predicate receives flat values (Fink's added values
and the candidate fields side by side at top level: the indexer passes the alert's index
record, see :mod:`finkportal_core.indexing.records`) and the Fink class; a whole alert
dict works too for what sits at its top level (``roid``, ``cdsxmatch``...).

A filter's topic is ``fink_<name>_ztf``, as Fink names its ZTF livestream topics, and
its messages are in Fink's wire form (key = the Avro schema JSON, value = one schemaless
Avro record), so that Fink's own ``fink-client`` (``AlertConsumer``) reads them unchanged.

A streamed record is the alert with its Fink added values, plus ``finkclass``: the
column name Fink's ZTF distribution uses for ``extract_fink_classification`` and the
one ``fink-client`` partitions by (``-partitionby finkclass``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from finkportal_core.alerts import Alert, encode_fink_message, validate_alert
from finkportal_core.alerts.infer import Desc, describe_alert, render_alert
from finkportal_core.classification import UNKNOWN

FINK_CLASS_FIELD = "finkclass"
TOPIC_PREFIX = "fink_"
TOPIC_SUFFIX = "_ztf"
_SCHEMA_CACHE_SIZE = 256

Predicate = Callable[[Alert, str], bool]


@dataclass(frozen=True)
class StreamFilter:
    """One named live stream: the alerts (with their Fink class) it keeps."""

    name: str
    description: str
    predicate: Predicate

    @property
    def topic(self) -> str:
        return stream_topic(self.name)

    def matches(self, alert: Alert, fink_class: str) -> bool:
        return self.predicate(alert, fink_class)


def _class_in(*classes: str) -> Predicate:
    """A predicate keeping alerts whose Fink class is one of ``classes``."""
    wanted = frozenset(classes)
    return lambda _alert, fink_class: fink_class in wanted


def _is_solar_system(alert: Alert, _fink_class: str) -> bool:
    # Fink's SSO filters read roid with astype(int): 2 = candidate, 3 = known MPC object.
    return _roid(alert) in (2, 3)


def _is_classified(_alert: Alert, fink_class: str) -> bool:
    return fink_class != UNKNOWN


def _roid(alert: Alert) -> int | None:
    """``roid`` truncated to an int as Fink reads it; None when missing or not a number."""
    raw: Any = alert.get("roid")
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        return None
    return math.trunc(raw)


STREAM_FILTERS: tuple[StreamFilter, ...] = (
    StreamFilter("early_sn_candidates", "Early SN Ia candidates (Fink class).",
                 _class_in("Early SN Ia candidate")),
    StreamFilter("sn_candidates", "SN candidates, early SN Ia candidates included.",
                 _class_in("SN candidate", "Early SN Ia candidate")),
    StreamFilter("kn_candidates", "Kilonova candidates (Fink class).",
                 _class_in("Kilonova candidate")),
    StreamFilter("microlensing_candidates", "Microlensing candidates (Fink class).",
                 _class_in("Microlensing candidate")),
    StreamFilter("sso_candidates",
                 "Solar System objects: new candidates (roid 2) and known MPC objects (roid 3).",
                 _is_solar_system),
    StreamFilter("all_classified", "Every alert whose Fink class is not Unknown.",
                 _is_classified),
)


def stream_topic(name: str) -> str:
    """The Kafka topic of a filter: ``fink_<name>_ztf``."""
    if not name or not name.replace("_", "").isalnum() or not name.isascii():
        raise ValueError(f"filter name {name!r} must be non-empty ASCII letters, digits and _")
    return f"{TOPIC_PREFIX}{name}{TOPIC_SUFFIX}"


def stream_filter(name: str) -> StreamFilter:
    """The registered filter called ``name``."""
    for candidate in STREAM_FILTERS:
        if candidate.name == name:
            return candidate
    known = ", ".join(f.name for f in STREAM_FILTERS)
    raise KeyError(f"no stream filter {name!r} (known: {known})")


def matching_filters(alert: Alert, fink_class: str) -> list[StreamFilter]:
    """The registered filters that keep ``alert`` of Fink class ``fink_class``."""
    return [f for f in STREAM_FILTERS if f.matches(alert, fink_class)]


def stream_record(alert: Alert, fink_class: str) -> Alert:
    """The record a stream carries: the alert, its added values and ``finkclass``."""
    validate_alert(alert)
    if not isinstance(fink_class, str) or not fink_class:
        raise ValueError(f"fink_class {fink_class!r} must be a non-empty string")
    return {**alert, FINK_CLASS_FIELD: fink_class}


def stream_message(alert: Alert, fink_class: str) -> tuple[bytes, bytes]:
    """``(key, value)`` of the alert in Fink's wire form, ready for any filter topic."""
    record = stream_record(alert, fink_class)
    return encode_fink_message(record, stream_schema(record))


def stream_schema(record: Alert) -> dict[str, Any]:
    """The Avro schema for a stream record; one shared object per record shape.

    Sharing the object lets the encoder reuse its parsed schema; treat it as read-only.
    The description walks every value (~1 ms with 25 history items): a cheaper shape
    key was tried and refused, as the type a float takes depends on whether its value
    survives float32 (see docs/streams.md).
    """
    return _schema_for_shape(describe_alert(record))


@lru_cache(maxsize=_SCHEMA_CACHE_SIZE)
def _schema_for_shape(desc: Desc) -> dict[str, Any]:
    return render_alert(desc)
