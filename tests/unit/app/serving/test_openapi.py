"""The OpenAPI document is typed: every answer has a named schema, every error a problem
under ``application/problem+json``, and FastAPI's default 422 (a shape the API never
answers) is gone."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from driftline.app.serving import create_app
from tests.unit.app.serving.test_routes import NoReads

#: The answers that are not problems: the reports that say what is down, with their 503.
REPORTS = {("/health", "503"), ("/readyz", "503")}


def document() -> dict[str, Any]:
    app = create_app(NoReads(), None, feed=NoReads())  # type: ignore[arg-type]
    return TestClient(app).get("/openapi.json").json()


def answers() -> list[tuple[str, str, str, dict[str, Any]]]:
    return [
        (path, method, status, answer)
        for path, operations in document()["paths"].items()
        for method, operation in operations.items()
        for status, answer in operation["responses"].items()
    ]


def test_every_success_has_a_named_or_typed_schema() -> None:
    for path, _method, status, answer in answers():
        if not status.startswith("2"):
            continue
        [(media_type, described)] = answer["content"].items()
        if media_type == "application/json":
            assert described["schema"]["$ref"].startswith("#/components/schemas/"), path
        elif media_type == "text/event-stream":
            assert described["itemSchema"]["properties"]["data"], path
        else:
            assert (media_type, described["schema"]) == ("text/plain", {"type": "string"})


def test_every_error_is_a_problem_and_the_default_422_is_gone() -> None:
    errors = [(p, s, a) for p, _m, s, a in answers() if s[0] in "45"]
    assert {s for _p, s, _a in errors} == {"400", "404", "413", "422", "503"}
    for path, status, answer in errors:
        if (path, status) in REPORTS:
            continue
        [(media_type, described)] = answer["content"].items()
        assert media_type == "application/problem+json", (path, status)
        expected = "ValidationProblem" if status == "422" else "Problem"
        assert described["schema"]["$ref"] == f"#/components/schemas/{expected}"
    schemas = document()["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert schemas["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "code",
    ]
    assert schemas["ValidationProblem"]["properties"]["problems"]["items"] == {
        "$ref": "#/components/schemas/InvalidPart"
    }


def test_each_route_lists_the_errors_it_can_answer() -> None:
    listed = {
        (path, method): sorted(s for s in operation["responses"] if s[0] in "45")
        for path, operations in document()["paths"].items()
        for method, operation in operations.items()
    }
    assert listed == {
        ("/v1/predictions/{key}", "get"): ["404", "422", "503"],
        ("/v1/predictions", "get"): ["413", "422", "503"],
        ("/v1/predictions:batch", "post"): ["400", "413", "422", "503"],
        ("/v1/metrics/model", "get"): ["422", "503"],
        ("/v1/alerts", "get"): ["422", "503"],
        ("/v1/quality", "get"): ["422", "503"],
        ("/v1/stream/predictions", "get"): ["422", "503"],
        ("/livez", "get"): [],
        ("/readyz", "get"): ["503"],
        ("/health", "get"): ["503"],
        ("/metrics", "get"): ["503"],
    }


def test_a_stored_prediction_is_typed_field_by_field() -> None:
    schema = document()["components"]["schemas"]["StoredPrediction"]
    assert schema["properties"]["model_version"] == {"type": "integer", "title": "Model Version"}
    assert schema["properties"]["probabilities"]["anyOf"][0] == {
        "type": "object",
        "additionalProperties": {"type": "number"},
    }
    assert "key" in schema["required"] and "event_time" in schema["required"]


def test_the_old_paths_are_not_in_the_document() -> None:
    paths = document()["paths"]
    assert all(
        p.startswith("/v1/") or p in {"/livez", "/readyz", "/health", "/metrics"} for p in paths
    )


HTTP_MD = Path(__file__).resolve().parents[4] / "docs" / "reference" / "http.md"


def part_of(excerpt: Any, whole: Any) -> bool:
    """Whether every key of ``excerpt`` is in ``whole`` with the same value (lists equal).

    >>> part_of({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}}), part_of({"a": 2}, {"a": 1})
    (True, False)
    """
    if isinstance(excerpt, dict):
        return isinstance(whole, dict) and all(
            k in whole and part_of(v, whole[k]) for k, v in excerpt.items()
        )
    if isinstance(excerpt, list) and isinstance(whole, list) and len(excerpt) == len(whole):
        return all(part_of(a, b) for a, b in zip(excerpt, whole, strict=True))
    return bool(excerpt == whole)


def test_the_documented_excerpt_is_the_generated_document() -> None:
    blocks = re.findall(r"```json\n(.*?)```", HTTP_MD.read_text(), re.DOTALL)
    [excerpt] = [json.loads(b) for b in blocks if '"paths"' in b]
    assert part_of(excerpt, document())
    [problem] = [json.loads(b) for b in blocks if '"urn:driftline:problem:' in b]
    assert set(problem) == set(document()["components"]["schemas"]["Problem"]["properties"])
