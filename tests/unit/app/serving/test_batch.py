"""``POST /v1/predictions:batch``: many keys in a JSON body (a URL of 1,000 keys of 256
characters exceeds the usual 8 KB limit), refused before Redis is asked when too many or
malformed."""

from __future__ import annotations

import pytest

from tests.unit.app.serving.test_app import MemoryReader, client_of, stored

BATCH = "/v1/predictions:batch"


def test_many_keys_in_one_read_as_the_query_answers_them() -> None:
    reader = MemoryReader()
    http = client_of(reader)
    answer = http.post(BATCH, json={"keys": ["N1", "nope", "N2", "N1"]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "predictions": {"N1": stored("N1").to_dict(), "N2": stored("N2").to_dict()},
        "missing": ["nope"],
    }
    assert answer.json() == http.get("/v1/predictions?keys=N1,nope,N2,N1").json()
    assert reader.calls == ["get_many", "get_many"]  # one read each


def test_the_colon_routes_encoded_or_not() -> None:
    http = client_of(MemoryReader())
    assert http.post("/v1/predictions%3Abatch", json={"keys": ["N1"]}).status_code == 200
    assert http.get(BATCH).status_code == 405  # a POST route, not a key named ":batch"


def test_a_thousand_long_keys_fit_and_one_more_is_413() -> None:
    reader = MemoryReader()
    keys = [f"{n:04d}" + "k" * 252 for n in range(1000)]
    http = client_of(reader)
    answer = http.post(BATCH, json={"keys": keys})
    assert answer.status_code == 200
    assert len(answer.json()["missing"]) == 1000
    too_many = http.post(BATCH, json={"keys": [*keys, "N1"]})
    assert too_many.status_code == 413
    assert too_many.headers["content-type"] == "application/problem+json"
    assert too_many.json()["code"] == "too_many_keys"
    assert reader.calls == ["get_many"]  # the 413 asked nothing


@pytest.mark.parametrize(
    "body",
    [
        {"keys": []},
        {"keys": ["a", ""]},
        {"keys": ["a\x00b"]},
        {"keys": ["x" * 257]},
        {"keys": "N1"},
        {"keys": ["N1"], "other": 1},
        {},
        ["N1"],
    ],
)
def test_malformed_bodies_are_validation_problems(body: object) -> None:
    reader = MemoryReader()
    answer = client_of(reader).post(BATCH, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == "invalid_request" and problem["problems"]
    assert problem["detail"].startswith(problem["problems"][0]["where"])
    assert reader.calls == []


def test_a_body_that_is_not_json_is_a_validation_problem() -> None:
    answer = client_of(MemoryReader()).post(
        BATCH, content=b"{keys", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 422
    assert answer.json()["problems"][0]["where"].startswith("body")


def test_a_body_that_is_not_text_is_a_400_problem() -> None:
    answer = client_of(MemoryReader()).post(
        BATCH, content=b"\xff\xfe\n", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "invalid_request"
