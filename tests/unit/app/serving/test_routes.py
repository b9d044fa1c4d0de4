"""The API as routers, one per resource: the document they add up to, a router on its
own, and the stream slots they share (``test_app.py`` beside it tests the whole app's
answers)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from driftline.app.serving import ApiError, create_app
from driftline.app.serving.dependencies import stream_slots
from driftline.app.serving.errors import add_error_handlers
from driftline.app.serving.routes import health, predictions

#: Every documented route, in the document's order: path, method, parameters, tag.
DOCUMENT = [
    ("/v1/predictions/{key}", "get", [("path", "key")], "predictions"),
    ("/v1/predictions", "get", [("query", "keys")], "predictions"),
    (
        "/v1/metrics/model",
        "get",
        [("query", "history"), ("query", "window"), ("query", "model")],
        "metrics",
    ),
    ("/v1/alerts", "get", [("query", "count"), ("query", "kind")], "metrics"),
    ("/v1/quality", "get", [("query", "log"), ("query", "after")], "metrics"),
    (
        "/v1/stream/predictions",
        "get",
        [("query", "after"), ("header", "last-event-id")],
        "predictions",
    ),
    ("/v1/predictions:batch", "post", [], "predictions"),
    ("/livez", "get", [], "service"),
    ("/readyz", "get", [], "service"),
    ("/health", "get", [], "service"),
    ("/metrics", "get", [], "metrics"),
]


class NoReads:
    """A reader and a feed that nothing may ask (the document reads none)."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"{name} was read")


def test_the_routers_add_up_to_the_documented_api() -> None:
    app = create_app(NoReads(), None, feed=NoReads(), max_keys=7)  # type: ignore[arg-type]
    paths = app.openapi()["paths"]
    found = [
        (path, method, [(p["in"], p["name"]) for p in op.get("parameters", [])], op["tags"][0])
        for path, operations in paths.items()
        for method, op in operations.items()
    ]
    assert found == DOCUMENT
    keys = paths["/v1/predictions"]["get"]["parameters"][0]
    assert keys["description"] == "entity keys separated by commas (at most 7)"
    one = paths["/v1/predictions/{key}"]["get"]
    assert one["operationId"] == "prediction_v1_predictions__key__get"


class Freshness:
    def freshness(self) -> dict[str, Any]:
        return {"ping_s": 0.001, "last_prediction_id": None, "last_prediction_age_s": None}


def test_a_router_serves_on_its_own() -> None:
    app = FastAPI()
    add_error_handlers(app)
    app.include_router(health.router(Freshness(), lambda: {0: 2}, "alone"))  # type: ignore[arg-type]
    app.include_router(predictions.router(NoReads(), max_keys=2))  # type: ignore[arg-type]
    http = TestClient(app)
    body = http.get("/health").json()
    assert body["namespace"] == "alone" and body["kafka"]["total_lag"] == 2
    too_many = http.get("/predictions?keys=a,b,c")
    assert too_many.status_code == 413  # refused before the reader is asked
    assert too_many.json()["code"] == "too_many_keys"
    assert http.get("/metrics").json()["code"] == "not_found"


class Request:
    """What a stream slot reads of the request: its app's state."""

    def __init__(self, state: Any) -> None:
        self.app = type("App", (), {"state": state})()


def test_a_stream_slot_is_held_until_its_response_ends() -> None:
    asyncio.run(_hold_and_free_slots())


async def _hold_and_free_slots() -> None:
    state = type("State", (), {"open_streams": 0})()
    slot = stream_slots(2)
    first, second, third = (slot(Request(state)) for _ in range(3))  # type: ignore[arg-type]
    await anext(first)
    await anext(second)
    assert state.open_streams == 2
    with pytest.raises(ApiError) as refused:
        await anext(third)
    assert (refused.value.status, refused.value.code) == (503, "too_many_streams")
    assert state.open_streams == 2
    await first.aclose()  # the first response ended: its slot is free
    assert state.open_streams == 1
    third = slot(Request(state))  # type: ignore[arg-type]
    await anext(third)
    assert state.open_streams == 2
