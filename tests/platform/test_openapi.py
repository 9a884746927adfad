"""Property-based: the API against its own OpenAPI document (schemathesis), over real HTTP.

Every operation gets generated requests, in-schema and out of it; every answer must be a
documented status with a body that fits the documented schema, and never a server error.
(Driven through schemathesis' Python API: its pytest loader does not support this pytest.)
"""

from __future__ import annotations

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_the_api_keeps_its_own_contract(api, api_auth):
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    calls = 0
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def check(case):
                nonlocal calls
                case.call_and_validate(headers=api_auth, checks=CHECKS)
                calls += 1

            try:
                check()
            except Unsatisfiable:
                # An operation with no parameters has nothing to get wrong on purpose.
                assert (
                    mode is GenerationMode.NEGATIVE
                    and not any(len(p) for p in (operation.query, operation.path_parameters))
                    and not operation.body
                )
    assert calls > 100
    assert httpx.get(f"{api.url}/healthz").status_code == 200  # still serving after all that
