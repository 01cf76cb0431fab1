"""Property-based tests of the running query service against its own OpenAPI document.

Schemathesis reads ``/openapi.json`` from the live service (the real alerts, stored and
indexed by the real pipeline) and, for every operation (each endpoint's GET query string
and POST JSON body, plus /health and /metrics), sends valid and invalid requests: its
coverage phase (boundary values, missing and wrong-typed parameters, other methods) and
random ones, half of them carrying real ids, positions, dates and names
(:mod:`tests.query.openapi_checks`). Every answer must be no 5xx, with a documented status
code and media type, and a body that matches its schema and parses as its format; a
request the schema allows must not be refused as malformed (422).
"""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.query.conftest import IndexedStore, QueryServer
from tests.query.openapi_checks import RealValues, add_real_values, register_format_readers

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance,
          positive_data_acceptance]
# A request the schema allows may still name nothing stored (404) or be refused for its
# meaning (400: a bad date, a radius above the limit), but never as malformed (422).
VALID_REQUEST_STATUSES = [200, 400, 404]
SEED = 20_240_517  # fixed, so every run (and CI) sends the same requests
EXAMPLES_PER_OPERATION = 30  # random requests per operation, after the coverage phase's


def schemathesis_config() -> schemathesis.Config:
    """Valid and invalid requests, reproducible; no stateful phase (the API has no links)."""
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "generation": {"mode": "all", "max-examples": EXAMPLES_PER_OPERATION,
                       "database": "none"},  # no replay of earlier runs' failures
        "phases": {"stateful": {"enabled": False}},
        "checks": {"positive_data_acceptance": {"expected-statuses": VALID_REQUEST_STATUSES}},
        "request-timeout": 60,
    })


@pytest.fixture(scope="session")
def live_schema(query_server: QueryServer,
                indexed_store: IndexedStore) -> schemathesis.BaseSchema:
    """The OpenAPI document the running service serves, with real values to draw from."""
    schema = schemathesis.openapi.from_url(f"{query_server.base_url}/openapi.json",
                                           config=schemathesis_config())
    add_real_values(schema, RealValues.of(indexed_store.alerts))
    register_format_readers()
    return schema


@pytest.fixture(autouse=True)
def _legacy_node_id(request: pytest.FixtureRequest) -> None:
    """Schemathesis 4's lazy schemas read ``item._nodeid``, which pytest 9.2 nodes lack.

    It only renames the item per operation for reports; give it the real id to read.
    """
    request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("live_schema")


@schema.parametrize()
# deadline: a cone search may take a second; health checks: generation speed is not tested.
@hypothesis.settings(deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_api_conforms_to_its_openapi_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS, timeout=60)
