"""``POST /v1/predict`` over a predictor of checkpoints in a directory: the answer, its
typed OpenAPI entry, and 422 and 503 as the API's errors."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from driftline.app.serving import create_app
from driftline.read.predictor import CheckpointPredictor
from tests.unit.app.serving.test_app import MemoryReader
from tests.unit.read.predictor_fixtures import CODEC, CONFIG, T0, checkpointed


def client_of(tmp_path: Path, partitions: int = 1) -> tuple[TestClient, object]:
    store, task = checkpointed(tmp_path)
    predictor = CheckpointPredictor(store, CODEC, CONFIG, lambda: partitions)
    reader = MemoryReader()
    app = create_app(reader, None, feed=reader, predictor=predictor)  # type: ignore[arg-type]
    return TestClient(app), task


def test_predict_answers_with_the_model_and_checkpoint(tmp_path: Path):
    client, task = client_of(tmp_path)
    asked = {"key": "k", "features": {"x": 5.0}, "event_time": T0.isoformat()}
    response = client.post("/v1/predict", json=asked)
    assert response.status_code == 200, response.text
    body = response.json()
    expected = task.model.predict_proba_one({"x": 5.0})  # type: ignore[attr-defined]
    assert body["probabilities"] == {"true": expected[True], "false": expected[False]}
    assert body["positive_probability"] == expected[True]
    assert body["model"] == "main" and body["model_version"] == task.model_version  # type: ignore[attr-defined]
    assert body["checkpoint"]["id"] == "0@40" and body["checkpoint"]["next_offset"] == 40
    assert body["partition"] == 0 and body["key"] == "k"


def test_bad_requests_are_422(tmp_path: Path):
    client, _ = client_of(tmp_path)
    for bad in (
        {"key": "k"},
        {"key": "", "features": {}},
        {"key": "k", "features": {"x": [1]}},
        {"key": "k", "features": {}, "other": 1},
        {"key": "k", "features": {"x": 1e300}},  # refused by the worker's rules
    ):
        response = client.post("/v1/predict", json=bad)
        assert response.status_code == 422, (bad, response.text)
    refused = client.post("/v1/predict", json={"key": "k", "features": {"x": 1e300}})
    assert "value-too-large" in refused.json()["detail"]


def test_no_checkpoint_is_503(tmp_path: Path):
    client, _ = client_of(tmp_path, partitions=8)
    answers = {
        client.post("/v1/predict", json={"key": f"k{i}", "features": {}}).status_code
        for i in range(20)
    }
    assert answers == {200, 503}  # partition 0 has a checkpoint, the others none


def test_the_openapi_entry_is_typed(tmp_path: Path):
    client, _ = client_of(tmp_path)
    operation = client.get("/openapi.json").json()["paths"]["/v1/predict"]["post"]
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/PredictResponse"}
    assert {"422", "503"} <= set(operation["responses"])


def test_without_a_predictor_there_is_no_route():
    reader = MemoryReader()
    app = create_app(reader, None, feed=reader)  # type: ignore[arg-type]
    assert TestClient(app).post("/v1/predict", json={}).status_code in (404, 405)
