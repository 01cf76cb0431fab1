"""The fits cache table and the request normalisation its keys rest on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from finkportal_core.codec import encode_value
from finkportal_core.storage import open_store
from finkportal_core.storage.base import Store
from finkportal_fitter.cache import (
    FITS_TABLE,
    LAST_JD,
    RESULT,
    FitCache,
    ensure_fits_table,
    is_cacheable,
)
from finkportal_fitter.microlensing import METHODS
from finkportal_fitter.options import MicrolensingRequestOptions, RequestError, parse_request

DONE = {"status": "done", "result": {"best_period": 0.5, "curve": [1.0, None]}}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:{tmp_path / 'store'}")
    ensure_fits_table(opened)
    yield opened
    opened.close()


def request(model: str = "period", **options: Any) -> Any:
    return parse_request({"objectId": "ZTF24aperiod", "model": model, "options": options})


def test_a_stored_fit_is_a_hit_only_for_the_same_last_alert(store: Store) -> None:
    cache = FitCache(store)
    cache.store(request(), 2460300.5, DONE, 0.25)
    hit = cache.lookup(request(), 2460300.5)
    assert hit is not None
    assert (hit.last_jd, hit.outcome, hit.fit_seconds) == (2460300.5, DONE, 0.25)
    assert hit.finished > 0
    assert cache.lookup(request(), 2460301.5) is None  # a newer alert: refit
    cache.store(request(), 2460301.5, {"status": "done", "result": {}}, 0.1)
    assert cache.lookup(request(), 2460300.5) is None  # overwritten, not kept beside
    assert len(list(store.table(FITS_TABLE).scan())) == 1


def test_rows_are_keyed_by_object_model_and_normalised_options(store: Store) -> None:
    # Defaults spelled out, in another order or case, name the same fit.
    assert request().cache_key == request(period_max=1.2, fast=False, use_dc="auto").cache_key
    assert (request("microlensing").cache_key
            == request("microlensing", method="trf").cache_key)
    keys = {request().cache_key, request(period_max=2.0).cache_key,
            request(nterms_band=2).cache_key, request("microlensing").cache_key,
            request("microlensing", method="DE").cache_key}
    assert len(keys) == 5
    key = request(period_max=2.0).cache_key.decode()
    assert key.startswith("ZTF24aperiod_period_")
    assert len(key.rsplit("_", 1)[1]) == 16
    FitCache(store).store(request(period_max=2.0), 2460300.5, DONE, 0.2)
    assert FitCache(store).lookup(request(), 2460300.5) is None


def test_an_undecodable_row_is_a_miss_so_the_fit_reruns(store: Store) -> None:
    store.table(FITS_TABLE).put_many([(request().cache_key, {
        LAST_JD: encode_value(2460300.5), RESULT: b"\xc1 not msgpack"})])
    assert FitCache(store).lookup(request(), 2460300.5) is None


@pytest.mark.parametrize(("outcome", "cacheable"), [
    (DONE, True),
    ({"status": "failed", "error": {"kind": "bad_light_curve", "message": ""}}, True),
    ({"status": "failed", "error": {"kind": "no_convergence", "message": ""}}, True),
    ({"status": "failed", "error": {"kind": "invalid_options", "message": ""}}, True),
    ({"status": "failed", "error": {"kind": "timeout", "message": ""}}, False),
    ({"status": "failed", "error": {"kind": "crashed", "message": ""}}, False),
    ({"status": "failed", "error": {"kind": "internal", "message": ""}}, False),
    ({"status": "failed", "error": {"kind": "shutdown", "message": ""}}, False),
])
def test_only_outcomes_a_retry_would_repeat_are_cached(outcome: dict[str, Any],
                                                       cacheable: bool) -> None:
    assert is_cacheable(outcome) is cacheable


def test_the_api_accepts_exactly_the_fitting_layers_methods() -> None:
    # options.py repeats them so the API process never imports pyLIMA.
    field = MicrolensingRequestOptions.model_fields["method"]
    assert tuple(field.annotation.__args__) == METHODS  # type: ignore[union-attr]


@pytest.mark.parametrize(("body", "says"), [
    (None, "body: Input should be a valid dictionary"),
    ({"objectId": "ZTF24aperiod", "model": "period", "extra": 1}, "extra: Extra inputs"),
    ({"objectId": "ZTF24aperiod", "model": "period", "options": {"period_min": "nan"}},
     "options.period_min: Input should be a finite number"),
    ({"objectId": "ZTF24aperiod", "model": "period", "options": {"nterms_base": 0,
                                                                  "nterms_band": 0}},
     "nterms_base + nterms_band must be at least 1"),
])
def test_invalid_requests_say_what_is_wrong(body: Any, says: str) -> None:
    with pytest.raises(RequestError) as raised:
        parse_request(body)
    assert says in raised.value.message
