"""Fink's alert classification, alert by alert.

This follows fink-filters' ``extract_fink_classification`` (fink_filters 7.45,
``fink_filters/ztf/classification.py`` and the livestream filters it calls), which
works on pandas Series. Its semantics are kept exactly, including their quirks:

- Numbers are read like ``Series.astype(float)``; a missing value (absent key,
  ``None``, NaN) is NaN, and every comparison with NaN is False except ``!=``.
- ``ndethist`` and ``roid`` are cast with ``astype(int)`` in some rules (truncation
  towards zero) and with ``astype(float)`` or not at all in others; each rule below
  reads them the way its Fink filter does. Where Fink's int cast would crash on a
  missing value we keep NaN instead, so ``roid != 3`` holds and ``ndethist > 1`` fails.
- ``mulens`` is a float in Fink >= 2.0 (``mulens > 0``); Fink 1.x data hold a struct
  with ``class_1``/``class_2`` and then both must be ``"ML"`` with ``ndethist < 100``.
  Both shapes are accepted, so old and new alerts classify as Fink did at the time.
- The SIMBAD label replaces the class unless it is missing, ``Unknown``,
  ``Transient``, or starts with ``Fail`` or ``Galaxy`` (so ``galaxy``, ``SN`` or
  ``Candidate_SN*`` do replace it, as in Fink).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from finkportal_core.alerts.model import Alert

UNKNOWN = "Unknown"
AMBIGUOUS = "Ambiguous"

# Fink's own labels, in the order they are applied (a later one wins), then Ambiguous.
FINK_CLASSES: tuple[str, ...] = (
    UNKNOWN,
    "Microlensing candidate",
    "SN candidate",
    "Early SN Ia candidate",
    "Kilonova candidate",
    "Solar System candidate",
    "Tracklet",
    "Solar System MPC",
    AMBIGUOUS,
)

# fink_utils' return_list_of_eg_host(): SIMBAD labels that may host an extragalactic
# transient, plus "no match" and failed cross-matches.
KEEP_CDS: frozenset[str] = frozenset(
    (
        *("Unknown", "Candidate_SN*", "SN", "Transient", "Fail", "Fail 504"),
        *("galaxy", "Galaxy", "EmG", "Seyfert", "Seyfert_1", "Seyfert_2", "BlueCompG"),
        *("StarburstG", "LSB_G", "HII_G", "High_z_G", "GinPair", "GinGroup", "BClG"),
        *("GinCl", "PartofG", "Compact_Gr_G", "IG", "PairG", "GroupG", "ClG", "SuperClG"),
        *("Void", "LINER", "Possible_ClG", "Possible_SClG", "GravLens_Candidate"),
        "SN*_Candidate",
    )
)

CANDIDATE_FIELDS = ("ndethist", "drb", "classtar", "jd", "jdstarthist")
ADDED_VALUE_FIELDS = (
    "cdsxmatch",
    "roid",
    "mulens",
    "snn_snia_vs_nonia",
    "snn_sn_vs_all",
    "rf_snia_vs_nonia",
    "rf_kn_vs_nonkn",
    "tracklet",
)
_SIMBAD_NON_LABELS = frozenset(("Unknown", "Transient"))
_SIMBAD_NON_LABEL_PREFIXES = ("Fail", "Galaxy")
_MULENS_STRUCT_MAX_NDETHIST = 100


class ClassificationInputError(ValueError):
    """A value that Fink's classification cannot read (e.g. a non-numeric score)."""


@dataclass(frozen=True)
class RuleFlags:
    """Which of Fink's filters an alert passes."""

    microlensing: bool
    sn: bool
    early_sn_ia: bool
    kilonova: bool
    sso_candidate: bool
    tracklet: bool
    sso_mpc: bool

    def fink_label(self) -> str:
        """Fink's label before the SIMBAD override: the last rule that holds, or Ambiguous."""
        if self._ambiguous():
            return AMBIGUOUS
        ordered = (
            self.microlensing,
            self.sn,
            self.early_sn_ia,
            self.kilonova,
            self.sso_candidate,
            self.tracklet,
            self.sso_mpc,
        )
        label = UNKNOWN
        for holds, name in zip(ordered, FINK_CLASSES[1:-1], strict=True):
            if holds:
                label = name
        return label

    def _ambiguous(self) -> bool:
        # Fink counts only these four filters towards ambiguity.
        counted = (self.microlensing, self.sn, self.sso_candidate, self.sso_mpc)
        return sum(counted) > 1


def fink_class(values: Mapping[str, Any]) -> str:
    """Fink's class of one alert from its flat values (added values and candidate fields)."""
    label = rule_flags(values).fink_label()
    cdsxmatch = _cdsxmatch(values)
    return cdsxmatch if cdsxmatch is not None and simbad_overrides(cdsxmatch) else label


def alert_class(alert: Alert) -> str:
    """Fink's class of an alert dict: candidate fields from ``alert["candidate"]``."""
    return fink_class(classification_values(alert))


def classification_values(alert: Alert) -> dict[str, Any]:
    """The flat values :func:`fink_class` reads, picked from an alert dict."""
    candidate = alert.get("candidate") or {}
    if not isinstance(candidate, Mapping):
        raise ClassificationInputError(f"candidate is a {type(candidate).__name__}, not a dict")
    picked = {name: candidate.get(name) for name in CANDIDATE_FIELDS}
    picked.update({name: alert.get(name) for name in ADDED_VALUE_FIELDS})
    return picked


def simbad_overrides(cdsxmatch: str) -> bool:
    """Whether this SIMBAD label replaces Fink's class (it is a real, non-galaxy match)."""
    if cdsxmatch in _SIMBAD_NON_LABELS:
        return False
    return not cdsxmatch.startswith(_SIMBAD_NON_LABEL_PREFIXES)


def rule_flags(values: Mapping[str, Any]) -> RuleFlags:
    """Evaluate every Fink filter on one alert's flat values."""
    return RuleFlags(
        microlensing=_microlensing(values),
        sn=_sn(values),
        early_sn_ia=_early_sn_ia(values),
        kilonova=_kilonova(values),
        sso_candidate=_as_int(values, "roid") == 2,
        tracklet=str(values.get("tracklet")).startswith("TRCK_"),
        sso_mpc=_as_int(values, "roid") == 3,
    )


def _supernova_like(values: Mapping[str, Any]) -> bool:
    """The part shared by the SN and early SN Ia filters."""
    snn = _number(values, "snn_snia_vs_nonia") > 0.5 or _number(values, "snn_sn_vs_all") > 0.5
    return snn and _in_keep_cds(values) and _real_and_extended(values)


def _real_and_extended(values: Mapping[str, Any]) -> bool:
    """High deep real/bogus score and not star-like."""
    return _number(values, "drb") > 0.5 and _number(values, "classtar") > 0.4


def _sn(values: Mapping[str, Any]) -> bool:
    return (
        _supernova_like(values)
        and _age(values) <= 90
        and _as_int(values, "ndethist") > 1
        and _as_int(values, "roid") != 3
    )


def _early_sn_ia(values: Mapping[str, Any]) -> bool:
    return (
        _supernova_like(values)
        and _as_int(values, "ndethist") <= 20
        and _number(values, "rf_snia_vs_nonia") > 0.5
    )


def _kilonova(values: Mapping[str, Any]) -> bool:
    # Fink's kilonova filter compares roid and ndethist without the int cast.
    return (
        _number(values, "rf_kn_vs_nonkn") > 0.5
        and _real_and_extended(values)
        and _age(values) < 5
        and _number(values, "roid") != 3
        and _number(values, "ndethist") < 20
        and _in_keep_cds(values)
    )


def _microlensing(values: Mapping[str, Any]) -> bool:
    mulens = values.get("mulens")
    if isinstance(mulens, Mapping):
        both_ml = mulens.get("class_1") == "ML" and mulens.get("class_2") == "ML"
        return both_ml and _as_int(values, "ndethist") < _MULENS_STRUCT_MAX_NDETHIST
    return _number(values, "mulens") > 0.0


def _age(values: Mapping[str, Any]) -> float:
    """Days since the first detection (NaN when either date is missing)."""
    return _number(values, "jd") - _number(values, "jdstarthist")


def _in_keep_cds(values: Mapping[str, Any]) -> bool:
    return _cdsxmatch(values) in KEEP_CDS


def _cdsxmatch(values: Mapping[str, Any]) -> str | None:
    raw = values.get("cdsxmatch")
    if raw is None or isinstance(raw, str):
        return raw
    if isinstance(raw, float) and math.isnan(raw):
        return None
    raise ClassificationInputError(f"cdsxmatch={raw!r} is not a string")


def _number(values: Mapping[str, Any], name: str) -> float:
    """The value as ``Series.astype(float)`` reads it; missing gives NaN."""
    raw = values.get(name)
    if raw is None:
        return math.nan
    if isinstance(raw, Mapping | list | tuple | bytes):
        raise ClassificationInputError(f"{name}={raw!r} is not a number")
    try:
        return float(raw)
    except (TypeError, ValueError) as exc:
        raise ClassificationInputError(f"{name}={raw!r} is not a number") from exc


def _as_int(values: Mapping[str, Any], name: str) -> float:
    """The value as ``Series.astype(int)`` reads it (truncated); missing stays NaN."""
    number = _number(values, name)
    return float(math.trunc(number)) if math.isfinite(number) else number
