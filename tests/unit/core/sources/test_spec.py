"""The source file's model: both topic layouts, the format, the mapping of each kind, and
every cross-field rule refused with a message that says what to write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from driftline.core.sources.spec import SourceSpec


def source(**changes: dict[str, Any]) -> dict[str, Any]:
    """A valid source's raw tables, each table updated with ``changes`` (None deletes)."""
    raw: dict[str, dict[str, Any]] = {
        "topics": {"observations": ["loans"], "outcomes": ["loan-outcomes"]},
        "format": {"type": "json"},
        "observation": {
            "key": "customer.id",
            "event_id": "loan_id",
            "event_time": "applied_at",
            "features": ["amount", "income"],
        },
        "outcome": {"event_id": "loan_id", "event_time": "resolved_at", "label": "defaulted"},
    }
    for table, update in changes.items():
        raw[table] = {**raw[table], **update}
        raw[table] = {k: v for k, v in raw[table].items() if v is not None}
    return raw


def refused(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        SourceSpec.model_validate(raw)


def test_a_valid_source_and_its_defaults() -> None:
    spec = SourceSpec.model_validate(source())
    assert spec.topics() == ("loans", "loan-outcomes")
    assert spec.topic_layout.observations == ("loans",)
    assert spec.route_by_event_id
    assert spec.observation.time == "iso" and spec.observation.timezone == "UTC"
    assert spec.format.registry is None and spec.format.reader_schema is None
    keyed = SourceSpec.model_validate(source(outcome={"key": "customer.id"}))
    assert not keyed.route_by_event_id
    no_format = source()
    del no_format["format"]
    assert SourceSpec.model_validate(no_format).format.type == "json"


def test_the_model_is_frozen_and_refuses_unknown_keys() -> None:
    spec = SourceSpec.model_validate(source())
    with pytest.raises(ValidationError, match="frozen"):
        spec.observation.key = "other"  # type: ignore[misc]
    refused(source(observation={"feature": ["x"]}), "feature\n.*Extra inputs")
    refused({**source(), "sink": {}}, "sink\n.*Extra inputs")


def test_one_topic_holding_both_kinds() -> None:
    kind = {"field": "type", "observation": "application", "outcome": "repayment"}
    spec = SourceSpec.model_validate(
        source(topics={"observations": None, "outcomes": None, "events": ["e"], "kind": kind})
    )
    assert spec.topics() == ("e",)
    assert spec.topic_layout.kind is not None and spec.topic_layout.kind.field == "type"
    header = {"header": "x-kind", "observation": 1, "outcome": 2}  # read as text
    spec = SourceSpec.model_validate(
        source(topics={"observations": None, "outcomes": None, "events": ["e"], "kind": header})
    )
    assert spec.topic_layout.kind is not None
    assert (spec.topic_layout.kind.observation, spec.topic_layout.kind.outcome) == ("1", "2")


@pytest.mark.parametrize(
    ("topics", "match"),
    [
        ({"observations": ["a"], "outcomes": []}, "outcomes: list at least one topic"),
        ({"observations": [], "outcomes": ["b"]}, "observations: list at least one topic"),
        ({"observations": [], "outcomes": []}, "list observations and outcomes, or events"),
        ({"observations": ["a"], "outcomes": ["a"]}, "listed as observations and outcomes"),
        ({"events": ["e"]}, "events holds both kinds: say how"),
        (
            {
                "observations": ["a"],
                "outcomes": ["b"],
                "events": ["e"],
                "kind": {"field": "t", "observation": "o", "outcome": "r"},
            },
            "not both ways",
        ),
        ({"observations": ["a b"], "outcomes": ["c"]}, "'a b' is not a Kafka topic name"),
        ({"observations": ["a", "a"], "outcomes": ["c"]}, "listed twice"),
        ({"observations": ["a"], "outcomes": ["c"], "kind": {}}, "Field required|not both"),
    ],
)
def test_the_topic_layouts_that_cannot_work(topics: dict[str, Any], match: str) -> None:
    raw = source()
    raw["topics"] = topics
    refused(raw, match)


@pytest.mark.parametrize(
    ("kind", "match"),
    [
        ({"observation": "a", "outcome": "b"}, "either field .* or header"),
        ({"field": "t", "header": "h", "observation": "a", "outcome": "b"}, "either field"),
        ({"field": "t", "observation": "a", "outcome": "a"}, "both 'a'"),
        ({"field": "t..u", "observation": "a", "outcome": "b"}, "empty part"),
        ({"header": "", "observation": "a", "outcome": "b"}, "not empty"),
    ],
)
def test_a_kind_is_told_by_one_field_or_header(kind: dict[str, Any], match: str) -> None:
    raw = source()
    raw["topics"] = {"events": ["e"], "kind": kind}
    refused(raw, match)


def test_the_format() -> None:
    avro = {"type": "avro", "registry": "http://localhost:8081", "reader_schema": "loan.avsc"}
    spec = SourceSpec.model_validate(source(format=avro))
    assert spec.format.reader_schema == Path("loan.avsc")
    refused(source(format={"type": "protobuf"}), "'json' or 'avro'")
    refused(source(format={"reader_schema": "loan.avsc"}), "reader_schema applies to .*avro")
    refused(source(format={"registry": "http://r"}), "registry applies to .*avro")
    refused(source(format={"type": "avro", "registry": "localhost:8081"}), "http:// or https://")


@pytest.mark.parametrize(
    ("observation", "match"),
    [
        ({"features": None}, "give features .* or features_except"),
        ({"features_except": ["ssn"]}, "one of the two"),
        ({"features": []}, "list at least one feature"),
        ({"features": ["a", "a"]}, "listed twice"),
        ({"features": ["a."]}, "empty part"),
        ({"features": ["x" * 129]}, "longer than 128"),
        ({"features": None, "features_except": ["a.b"]}, "top-level fields"),
        ({"key": ""}, "cannot be empty"),
        ({"event_id": "a..b"}, "empty part"),
        ({"event_time": " "}, "cannot be empty"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"time": "epoch_ns"}, "'iso', 'epoch_s', 'epoch_ms' or 'epoch_us'"),
        ({"time": "epoch_ms", "timezone": "Europe/Paris"}, "timezone applies to ISO times"),
    ],
)
def test_observation_mappings_that_cannot_work(observation: dict[str, Any], match: str) -> None:
    refused(source(observation=observation), match)


def test_features_except_may_be_empty_and_epoch_times_may_say_utc() -> None:
    spec = SourceSpec.model_validate(source(observation={"features": None, "features_except": []}))
    assert spec.observation.features_except == () and spec.observation.features is None
    utc = SourceSpec.model_validate(source(outcome={"time": "epoch_ms", "timezone": "UTC"}))
    assert utc.outcome.time == "epoch_ms"


def test_a_value_map_is_keyed_by_text() -> None:
    labels = {"Y": True, "N": False, 1: "one", 2.5: 2.5, None: 0}
    spec = SourceSpec.model_validate(source(outcome={"labels": labels}))
    assert spec.outcome.labels == {"Y": True, "N": False, "1": "one", "2.5": 2.5, "null": 0}
    yaml_booleans = {True: 1, False: 0}  # YAML reads yes/no as booleans
    spec = SourceSpec.model_validate(source(outcome={"labels": yaml_booleans}))
    assert spec.outcome.labels == {"true": 1, "false": 0}


@pytest.mark.parametrize(
    ("outcome", "match"),
    [
        ({"labels": {}}, "at least one raw value"),
        ({"labels": {"Y": [1]}}, "'Y' maps to \\[1\\]: a label is"),
        ({"labels": {"Y": float("inf")}}, "not a finite number"),
        ({"labels": {"Y": None}}, "a label is a boolean"),
        ({"label": None}, "Field required"),
        ({"key": "a..b"}, "empty part"),
        ({"timezone": "Nowhere"}, "unknown time zone"),
    ],
)
def test_outcome_mappings_that_cannot_work(outcome: dict[str, Any], match: str) -> None:
    refused(source(outcome=outcome), match)
