"""A schemathesis run against ``driftline serve``'s OpenAPI document, in process (ASGI),
over the real Redis and Kafka holding real predictions: no answer is a server error, and
every status, media type and body is one the document lists.

The event stream (``/v1/stream/predictions``) is left out: its 200 never ends (server-sent
events until the client goes), which a generated request cannot read to its end;
tests/integration/app/serving/test_serve.py tests it, its 422 and its 503 included.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from driftline.adapters.settings import Settings
from driftline.app.serving import serving_app
from tests.integration.app.serving.test_serve import flights
from tests.integration.helpers import create_topics, drain, publish

pytestmark = pytest.mark.integration

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

#: Left out of the generated run (see the module's docstring).
STREAM = "/v1/stream/predictions"

#: Generated requests per operation and generation mode: enough to reach each documented
#: answer, few enough to keep the run within seconds.
EXAMPLES = 25


@pytest.fixture
def app_with_predictions(settings: Settings) -> Iterator[tuple[FastAPI, list[str]]]:
    create_topics(settings, partitions=2)
    events = flights(60)
    drain(settings, publish(settings, events))
    redis_url = settings.redis.url.get_secret_value()  # type: ignore[union-attr]
    app, lag = serving_app(settings, redis_url, settings.kafka.bootstrap or "")
    keys = sorted({e.key for e in events if e.kind == "observation"})
    yield app, keys
    lag.close()


def test_generated_requests_get_only_documented_answers(
    app_with_predictions: tuple[FastAPI, list[str]],
) -> None:
    app, keys = app_with_predictions
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    tested = [op for op in operations if op.path != STREAM]
    assert {op.path for op in operations} - {op.path for op in tested} == {STREAM}
    statuses: dict[str, set[int]] = {}
    for operation in tested:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if mode is GenerationMode.NEGATIVE and not _has_inputs(operation.definition.raw):
                continue  # nothing to make malformed
            _run(operation, mode, statuses)
    answered = {code for codes in statuses.values() for code in codes}
    assert {200, 404, 422} <= answered, statuses  # the run reached successes and refusals

    # known keys, which generated ones never are: a 200 of each reading route conforms
    one = schema["/v1/predictions/{key}"]["GET"].Case(path_parameters={"key": keys[0]})
    assert one.call_and_validate(checks=CHECKS).status_code == 200
    batch = schema["/v1/predictions:batch"]["POST"].Case(body={"keys": [*keys[:5], "nobody"]})
    found = batch.call_and_validate(checks=CHECKS).json()
    assert sorted(found["predictions"]) == keys[:5] and found["missing"] == ["nobody"]
    many = schema["/v1/predictions"]["GET"].Case(query={"keys": ",".join(keys)})
    assert len(many.call_and_validate(checks=CHECKS).json()["predictions"]) == len(keys)
    history = schema["/v1/metrics/model"]["GET"].Case(query={"history": True})
    assert history.call_and_validate(checks=CHECKS).json()["series"]
    # the live champion, from the workers' checkpoints, on a known key's own features
    observed = next(e for e in flights(60) if e.kind == "observation" and e.key == keys[0])
    body = {"key": keys[0], "features": observed.features}
    asked = schema["/v1/predict"]["POST"].Case(body=body)
    assert asked.call_and_validate(checks=CHECKS).json()["checkpoint"]


def _has_inputs(definition: dict[str, Any]) -> bool:
    return bool(definition.get("parameters") or definition.get("requestBody"))


def _run(operation: Any, mode: GenerationMode, statuses: dict[str, set[int]]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,  # nothing left in the work tree
        derandomize=True,  # the same requests on every run
        suppress_health_check=list(HealthCheck),
    )
    def generated(case: Any) -> None:
        answer = case.call_and_validate(checks=CHECKS)
        statuses.setdefault(operation.label, set()).add(answer.status_code)

    generated()
