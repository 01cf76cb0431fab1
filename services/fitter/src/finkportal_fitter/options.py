"""Fit requests: the POST /fits body (and Kafka message), validated and normalised.

A request is ``{"objectId": ..., "model": "period" | "microlensing", "options": {...}}``.
Options are checked here, before any job exists, with the fitting layer's own range checks
(``periods.validated_options``; the methods are ``microlensing.METHODS``, repeated here so
the API process never imports pyLIMA), so a bad option is a 422 at once
and never a failed job. Unknown option names are refused (a typo would otherwise silently
fit with the default). Normalised options (every default filled in) give the cache digest:
``{}`` and the explicit defaults are the same fit and share one cache row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from finkportal_fitter.errors import InvalidFitOptionError
from finkportal_fitter.periods import MAX_TERMS, PeriodOptions, validated_options

Model = Literal["period", "microlensing"]
MODELS: tuple[str, ...] = ("period", "microlensing")
# No "_": it separates the parts of row keys, and "ZTF18a_" must not prefix another object.
OBJECT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,63}$"
UseDcOption = Literal["auto", "always", "never"]


class RequestError(ValueError):
    """A request that cannot be fitted as written (answered 422, or dead-lettered)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    objectId: str = Field(pattern=OBJECT_ID_PATTERN, description="ZTF object id")
    model: Model = Field(description="'period' (gatspy) or 'microlensing' (pyLIMA PSPL)")
    options: dict[str, Any] = Field(default_factory=dict, description="see docs/fitter.md")


class PeriodRequestOptions(BaseModel):
    """Options of a gatspy period fit (defaults as Fink: 0.1-1.2 d, one term each)."""

    model_config = ConfigDict(extra="forbid")

    fast: bool = Field(False, description="LombScargleMultibandFast, not LombScargleMultiband")
    nterms_base: int = Field(1, ge=0, le=MAX_TERMS, description="Fourier terms shared by the bands")
    nterms_band: int = Field(1, ge=0, le=MAX_TERMS, description="Fourier terms of each band")
    period_min: float = Field(0.1, gt=0, allow_inf_nan=False, description="days")
    period_max: float = Field(1.2, gt=0, allow_inf_nan=False, description="days")
    use_dc: UseDcOption = Field("auto", description="DC magnitudes: auto, always or never")


class MicrolensingRequestOptions(BaseModel):
    """Options of a pyLIMA PSPL fit."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["TRF", "LM", "DE"] = Field("TRF", description="pyLIMA fit method")
    use_dc: UseDcOption = Field("auto", description="DC magnitudes: auto, always or never")

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


@dataclass(frozen=True)
class FitRequest:
    """A valid request: ``options`` complete (defaults filled in) and JSON-ready."""

    object_id: str
    model: str
    options: dict[str, Any]

    @property
    def digest(self) -> str:
        """16 hex digits naming the normalised options (part of the cache row key)."""
        text = json.dumps(self.options, sort_keys=True, separators=(",", ":"))
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()

    @property
    def cache_key(self) -> bytes:
        """Row key of the fits cache: ``objectId_model_digest``."""
        return f"{self.object_id}_{self.model}_{self.digest}".encode()

    def as_dict(self) -> dict[str, Any]:
        return {"objectId": self.object_id, "model": self.model, "options": self.options}


def parse_request(body: Any) -> FitRequest:
    """The valid request ``body`` describes, else RequestError saying every problem."""
    try:
        base = _Body.model_validate(body)
    except ValidationError as exc:
        raise RequestError(validation_message(exc)) from exc
    option_model = PeriodRequestOptions if base.model == "period" else MicrolensingRequestOptions
    try:
        options = option_model.model_validate(base.options).model_dump()
    except ValidationError as exc:
        raise RequestError(validation_message(exc, "options")) from exc
    if base.model == "period":
        _check_period_options(options)
    return FitRequest(base.objectId, base.model, options)


def _check_period_options(options: dict[str, Any]) -> None:
    """The cross-field checks of the fitting layer (fast-mode terms, period range)."""
    try:
        validated_options(PeriodOptions(
            options["fast"], options["nterms_base"], options["nterms_band"],
            options["period_min"], options["period_max"]))
    except InvalidFitOptionError as exc:
        raise RequestError(f"options: {exc.message}") from exc


def validation_message(exc: ValidationError, prefix: str = "") -> str:
    """One clause per problem: ``options.nterms_base: Input should be ... 6``."""
    parts = []
    for error in exc.errors():
        location = [prefix] if prefix else []
        location += [str(part) for part in error.get("loc", ())]
        parts.append(f"{'.'.join(location) or 'body'}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)
