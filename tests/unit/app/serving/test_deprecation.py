"""The paths from before ``/v1`` answer as their successors, marked deprecated (errors
and streams too); ``/v1``, the probes, ``/health`` and ``/metrics`` are not marked."""

from __future__ import annotations

import pytest

from driftline.app.serving.deprecation import DEPRECATED_SINCE
from tests.unit.app.serving.test_app import MemoryReader, client_of


@pytest.mark.parametrize(
    ("old", "successor"),
    [
        ("/predictions/N1", "/v1/predictions/N1"),
        ("/predictions/a%2Fb", "/v1/predictions/a%2Fb"),  # as the client encoded it
        ("/predictions?keys=N1,nope", "/v1/predictions"),
        ("/metrics/model?history=true", "/v1/metrics/model"),
        ("/alerts?count=2", "/v1/alerts"),
        ("/quality?log=1", "/v1/quality"),
        ("/predictions/nope", "/v1/predictions/nope"),  # a 404 is marked too
        ("/alerts?count=0", "/v1/alerts"),  # and a 422
    ],
)
def test_an_old_path_answers_as_its_successor_and_says_so(old: str, successor: str) -> None:
    reader = MemoryReader()
    reader.predictions["a/b"] = reader.predictions["N1"]
    http = client_of(reader)
    answer = http.get(old)
    current = http.get("/v1" + old)
    assert (answer.status_code, answer.json()) == (
        current.status_code,
        current.json() | ({"instance": old.split("?")[0]} if "instance" in current.json() else {}),
    )
    assert answer.headers["deprecation"] == DEPRECATED_SINCE
    assert answer.headers["link"] == f'<{successor}>; rel="successor-version"'
    assert "deprecation" not in current.headers


def test_an_old_stream_is_marked_and_the_rest_is_not() -> None:
    http = client_of(MemoryReader())
    stream = http.get("/stream/predictions?after=1003-0")
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.headers["deprecation"] == DEPRECATED_SINCE
    for path in ("/v1/alerts", "/health", "/livez", "/readyz", "/metrics", "/"):
        assert "deprecation" not in http.get(path).headers, path
    assert http.post("/predictions:batch", json={"keys": ["N1"]}).status_code == 404  # new: v1 only
