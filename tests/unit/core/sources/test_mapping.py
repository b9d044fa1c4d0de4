"""The record mapper: each kind from its topic (or a field or header of one topic), ids,
keys, times, features listed or all but some, labels through a value map, and every record
that cannot be mapped refused with its ``source-*`` reason and a detail naming the topic and
the field; never another exception."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftline.core.errors import DecodeError, MappingRefused
from driftline.core.events.model import Observation, Outcome
from driftline.core.quality.reasons import Rule
from driftline.core.sources.mapping import RecordMapper
from driftline.core.sources.spec import SourceSpec

AT = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
AT_MS = 1_709_285_400_000


def spec(**changes: dict[str, Any]) -> SourceSpec:
    """The loan source, each table updated with ``changes`` (a value None deletes a key)."""
    raw: dict[str, dict[str, Any]] = {
        "topics": {"observations": ["loans"], "outcomes": ["loan-outcomes"]},
        "observation": {
            "key": "customer.id",
            "event_id": "loan_id",
            "event_time": "applied_at",
            "features": ["amount", "customer.age"],
        },
        "outcome": {
            "event_id": "loan_id",
            "event_time": "resolved_at",
            "time": "epoch_ms",
            "label": "defaulted",
        },
    }
    for table, update in changes.items():
        merged = {**raw[table], **update}
        raw[table] = {k: v for k, v in merged.items() if v is not None}
    return SourceSpec.model_validate(raw)


def loan(**fields: Any) -> dict[str, Any]:
    record = {
        "loan_id": 17,
        "applied_at": "2024-03-01T09:30:00Z",
        "amount": 1200.5,
        "customer": {"id": "c-9", "age": 41},
    }
    return {k: v for k, v in {**record, **fields}.items() if v is not None}


def repayment(**fields: Any) -> dict[str, Any]:
    record = {"loan_id": 17, "resolved_at": AT_MS, "defaulted": True}
    return {k: v for k, v in {**record, **fields}.items() if v is not None}


def refusal(mapper: RecordMapper, topic: str, value: Any, **kw: Any) -> MappingRefused:
    with pytest.raises(MappingRefused) as caught:
        mapper.map(topic, value, **kw)
    return caught.value


MAPPER = RecordMapper(spec())


def test_an_observation_and_its_outcome() -> None:
    obs = MAPPER.map("loans", loan())
    assert obs == Observation(
        event_id="17",
        key="c-9",
        event_time=AT,
        features={"amount": 1200.5, "customer.age": 41},
    )
    outcome = MAPPER.map("loan-outcomes", repayment())
    assert outcome == Outcome(event_id="17", key="17", event_time=AT, label=True)


def test_without_an_outcome_key_both_kinds_route_by_event_id() -> None:
    assert MAPPER.route_by_event_id
    obs, outcome = MAPPER.map("loans", loan()), MAPPER.map("loan-outcomes", repayment())
    assert MAPPER.route_key(obs) == MAPPER.route_key(outcome) == "17"
    assert obs.key == "c-9" and outcome.key == "17"


def test_with_an_outcome_key_both_kinds_route_by_entity() -> None:
    mapper = RecordMapper(spec(outcome={"key": "customer"}))
    assert not mapper.route_by_event_id
    obs = mapper.map("loans", loan())
    outcome = mapper.map("loan-outcomes", repayment(customer="c-9"))
    assert outcome.key == "c-9"
    assert mapper.route_key(obs) == mapper.route_key(outcome) == "c-9"


def test_ids_may_be_integers_or_uuids_never_floats_or_booleans() -> None:
    the_id = uuid.UUID(int=5)
    assert MAPPER.map("loans", loan(loan_id=the_id)).event_id == str(the_id)
    assert MAPPER.map("loans", loan(customer={"id": 42})).key == "42"
    for bad in (1.5, True, [1], {"a": 1}):
        refused = refusal(MAPPER, "loans", loan(loan_id=bad))
        assert refused.reason == Rule.SOURCE_VALUE_INVALID
        assert "topic 'loans': observation event_id 'loan_id': an id is text" in refused.detail


@pytest.mark.parametrize(
    ("record", "detail"),
    [
        (loan(loan_id=None), "observation event_id 'loan_id': no field 'loan_id'"),
        (loan(customer={"age": 3}), "observation key 'customer.id': no field 'customer.id'"),
        (loan(customer=None), "observation key 'customer.id': no field 'customer'"),
        ({**loan(), "customer": None}, "observation key 'customer.id': 'customer' is null"),
        (
            {**loan(), "customer": "c-9"},
            "observation key 'customer.id': 'customer' is not a record (a str)",
        ),
        ({**loan(), "applied_at": None}, "observation event_time 'applied_at': the field is null"),
    ],
)
def test_a_missing_or_null_field_is_refused(record: dict[str, Any], detail: str) -> None:
    refused = refusal(MAPPER, "loans", record)
    assert refused.reason == Rule.SOURCE_FIELD_MISSING == "source-field-missing"
    assert refused.detail == f"topic 'loans': {detail}"


def test_a_time_that_cannot_be_read_is_refused_with_why() -> None:
    refused = refusal(MAPPER, "loans", loan(applied_at="last tuesday"))
    assert refused.reason == Rule.SOURCE_TIME_INVALID
    assert refused.detail == (
        "topic 'loans': observation event_time 'applied_at': 'last tuesday' is not an ISO-8601 time"
    )
    refused = refusal(MAPPER, "loan-outcomes", repayment(resolved_at=AT_MS // 1000))
    assert refused.reason == Rule.SOURCE_TIME_INVALID and "is outside" in refused.detail


def test_times_in_each_unit_and_zone() -> None:
    mapper = RecordMapper(
        spec(
            observation={"timezone": "Europe/Paris"},
            outcome={"time": "epoch_s"},
        )
    )
    assert mapper.map("loans", loan(applied_at="2024-03-01T10:30:00")).event_time == AT
    assert mapper.map("loan-outcomes", repayment(resolved_at="1709285400")).event_time == AT
    assert mapper.map("loans", loan(applied_at=AT)).event_time == AT  # an Avro timestamp


def test_listed_features() -> None:
    mapper = RecordMapper(spec(observation={"features": ["amount", "customer.age", "note"]}))
    obs = mapper.map("loans", loan(note=None))
    assert obs.features == {"amount": 1200.5, "customer.age": 41, "note": None}
    # an absent field is a missing value, as a null is
    obs = mapper.map("loans", loan(amount=None, customer={"id": "c"}))
    assert obs.features == {"amount": None, "customer.age": None, "note": None}
    values = {"amount": Decimal("12.50"), "note": date(2024, 3, 1)}
    obs = mapper.map("loans", loan(**values))
    assert obs.features == {"amount": 12.5, "customer.age": 41, "note": "2024-03-01"}
    assert type(mapper.map("loans", loan(amount=True)).features["amount"]) is bool


@pytest.mark.parametrize("nested", [{"a": 1}, [1, 2], b"\x00"])
def test_a_listed_feature_that_is_no_single_value_is_refused(nested: Any) -> None:
    refused = refusal(MAPPER, "loans", loan(amount=nested))
    assert refused.reason == Rule.SOURCE_FEATURE_NESTED
    assert refused.detail.startswith("topic 'loans': observation feature 'amount': a feature")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, Decimal("NaN")])
def test_a_non_finite_feature_is_refused(value: Any) -> None:
    refused = refusal(MAPPER, "loans", loan(amount=value))
    assert refused.reason == Rule.SOURCE_VALUE_INVALID
    assert "observation feature 'amount'" in refused.detail and "not finite" in refused.detail
    all_but = RecordMapper(spec(observation={"features": None, "features_except": []}))
    refused = refusal(all_but, "loans", loan(amount=value))
    assert refused.reason == Rule.SOURCE_VALUE_INVALID and "'amount'" in refused.detail


def test_features_except() -> None:
    mapper = RecordMapper(spec(observation={"features": None, "features_except": ["ssn"]}))
    record = {**loan(ssn="123", income=5000, flags=[1]), "note": None}
    obs = mapper.map("loans", record)
    # not the ssn, the key's record, the id, the time or the list
    assert obs.features == {"amount": 1200.5, "income": 5000, "note": None}


def test_features_except_leaves_out_top_level_key_and_kind_fields() -> None:
    mapper = RecordMapper(
        spec(
            topics={
                "observations": None,
                "outcomes": None,
                "events": ["loan-events"],
                "kind": {"field": "type", "observation": "application", "outcome": "repayment"},
            },
            observation={"key": "customer", "features": None, "features_except": []},
        )
    )
    obs = mapper.map("loan-events", loan(customer="c-9", type="application"))
    assert obs.key == "c-9" and obs.features == {"amount": 1200.5}


def test_a_field_driftline_refuses_becomes_a_refusal() -> None:
    refused = refusal(MAPPER, "loans", loan(loan_id="x" * 300))
    assert refused.reason == Rule.SOURCE_VALUE_INVALID
    assert refused.detail.startswith("topic 'loans': the observation's event_id: String should")
    refused = refusal(MAPPER, "loans", loan(amount=2**70))
    assert refused.reason == Rule.SOURCE_VALUE_INVALID and "64-bit" in refused.detail
    refused = refusal(MAPPER, "loans", loan(loan_id=""))
    assert refused.reason == Rule.SOURCE_VALUE_INVALID


@pytest.mark.parametrize("label", [True, 0, 2.5, "churned"])
def test_a_label_as_it_comes(label: Any) -> None:
    outcome = MAPPER.map("loan-outcomes", repayment(defaulted=label))
    assert isinstance(outcome, Outcome) and outcome.label == label
    assert type(outcome.label) is type(label)


@pytest.mark.parametrize(
    ("raw", "reason", "detail"),
    [
        (None, Rule.SOURCE_FIELD_MISSING, "no field 'defaulted'"),
        ([1], Rule.SOURCE_VALUE_INVALID, "a label is a boolean, a number or text, not a list"),
        (math.nan, Rule.SOURCE_VALUE_INVALID, "a label is"),
        ({"a": 1}, Rule.SOURCE_VALUE_INVALID, "not a record"),
    ],
)
def test_labels_that_cannot_be_learned(raw: Any, reason: Rule, detail: str) -> None:
    refused = refusal(MAPPER, "loan-outcomes", repayment(defaulted=raw))
    assert refused.reason == reason
    assert refused.detail.startswith("topic 'loan-outcomes': outcome label 'defaulted': ")
    assert detail in refused.detail


def test_a_value_map() -> None:
    labels = {"Y": True, "N": False, "1": True, "0": False, "true": "yes", "null": "unknown"}
    mapper = RecordMapper(spec(outcome={"labels": labels}))
    for raw, label in [("Y", True), ("N", False), (1, True), ("0", False), (True, "yes")]:
        assert mapper.map("loan-outcomes", repayment(defaulted=raw)).label == label
    assert mapper.map("loan-outcomes", {**repayment(), "defaulted": None}).label == "unknown"
    refused = refusal(mapper, "loan-outcomes", repayment(defaulted="M"))
    assert refused.reason == Rule.SOURCE_LABEL_UNMAPPED == "source-label-unmapped"
    assert refused.detail == (
        "topic 'loan-outcomes': outcome label 'defaulted': 'M' is not in the value map "
        "('Y', 'N', '1', '0', 'true', 'null')"
    )
    missing = refusal(mapper, "loan-outcomes", repayment(defaulted=None))
    assert missing.reason == Rule.SOURCE_FIELD_MISSING


def test_a_null_label_without_a_null_in_the_map_is_missing() -> None:
    mapper = RecordMapper(spec(outcome={"labels": {"Y": True}}))
    refused = refusal(mapper, "loan-outcomes", {**repayment(), "defaulted": None})
    assert refused.reason == Rule.SOURCE_FIELD_MISSING and "the field is null" in refused.detail


def kinds_by(place: dict[str, Any]) -> RecordMapper:
    kind = {"observation": "application", "outcome": "repayment", **place}
    return RecordMapper(
        spec(topics={"observations": None, "outcomes": None, "events": ["e"], "kind": kind})
    )


def test_one_topic_told_apart_by_a_field() -> None:
    mapper = kinds_by({"field": "meta.type"})
    obs = mapper.map("e", loan(meta={"type": "application"}))
    outcome = mapper.map("e", repayment(meta={"type": "repayment"}))
    assert isinstance(obs, Observation) and isinstance(outcome, Outcome)
    refused = refusal(mapper, "e", loan(meta={"type": "refund"}))
    assert refused.reason == Rule.SOURCE_KIND_UNKNOWN == "source-kind-unknown"
    assert refused.detail == (
        "topic 'e': kind field 'meta.type' is 'refund', not 'application' (observation) "
        "or 'repayment' (outcome)"
    )
    refused = refusal(mapper, "e", loan())
    assert refused.detail == "topic 'e': kind field 'meta.type': no field 'meta'"
    refused = refusal(mapper, "e", loan(meta={"type": None}) | {"meta": {"type": None}})
    assert refused.detail == "topic 'e': kind field 'meta.type' is null"


def test_a_kind_value_may_be_a_number() -> None:
    mapper = kinds_by({"field": "t", "observation": 1, "outcome": 2})
    assert isinstance(mapper.map("e", loan(t=1)), Observation)
    assert isinstance(mapper.map("e", repayment(t="2")), Outcome)


def test_one_topic_told_apart_by_a_header() -> None:
    mapper = kinds_by({"header": "x-kind"})
    obs = mapper.map("e", loan(), headers={"x-kind": b"application"})
    outcome = mapper.map("e", repayment(), {"x-kind": b"repayment"})
    assert isinstance(obs, Observation) and isinstance(outcome, Outcome)
    for headers in (None, {}, {"other": b"application"}):
        refused = refusal(mapper, "e", loan(), headers=headers)
        assert refused.reason == Rule.SOURCE_KIND_UNKNOWN
        assert refused.detail == "topic 'e': no header 'x-kind'"
    refused = refusal(mapper, "e", loan(), headers={"x-kind": b"\xffapp"})
    assert refused.reason == Rule.SOURCE_KIND_UNKNOWN and "'\ufffdapp'" in refused.detail


def test_a_topic_not_in_the_file_and_a_value_not_a_record() -> None:
    refused = refusal(MAPPER, "payments", loan())
    assert refused.reason == Rule.SOURCE_KIND_UNKNOWN
    assert refused.detail == "topic 'payments' is not a topic of the source file"
    for value in ([loan()], "text", 3, None):
        refused = refusal(MAPPER, "loans", value)
        assert refused.reason == Rule.SOURCE_NOT_A_RECORD == "source-not-a-record"
        assert refused.detail.startswith("topic 'loans': a record (an object) is expected")


def test_a_refusal_is_a_decode_error_with_a_rule_as_its_reason() -> None:
    refused = refusal(MAPPER, "loans", loan(loan_id=None))
    assert isinstance(refused, DecodeError)
    assert isinstance(refused.reason, Rule) and refused.reason.dimension == "completeness"
    assert str(refused) == f"source-field-missing: {refused.detail}"


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | st.decimals()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)
records = st.dictionaries(st.text(max_size=6), values, max_size=6)
MAPPERS = [
    MAPPER,
    RecordMapper(spec(outcome={"key": "customer.id", "labels": {"Y": True, "N": False}})),
    RecordMapper(spec(observation={"features": None, "features_except": ["ssn"]})),
]
times = st.one_of(
    st.integers(min_value=0, max_value=5_000_000_000_000),
    st.text(max_size=30),
    st.decimals(),
    st.floats(),
    st.datetimes(timezones=st.none() | st.just(UTC)).map(lambda moment: moment.isoformat()),
)


@given(
    records,
    st.integers() | st.text(max_size=300) | values,
    st.text(max_size=8) | st.integers() | values,
    times,
    values,
    st.sampled_from(["loans", "loan-outcomes"]),
    st.sampled_from(MAPPERS),
)
def test_any_record_maps_or_is_refused_never_raises_otherwise(
    extra: dict[str, Any],
    event_id: Any,
    key: Any,
    moment: Any,
    label: Any,
    topic: str,
    mapper: RecordMapper,
) -> None:
    record = {
        **extra,
        "loan_id": event_id,
        "customer": {"id": key, "age": label},
        "applied_at": moment,
        "resolved_at": moment,
        "defaulted": label,
        "amount": label,
    }
    try:
        event = mapper.map(topic, record)
    except MappingRefused as exc:
        assert exc.reason in {rule.value for rule in Rule if rule.startswith("source-")}
        assert exc.detail.startswith(f"topic {topic!r}")
        return
    assert isinstance(event, Observation if topic == "loans" else Outcome)
    assert event.event_id == str(event_id)


@given(
    st.integers(min_value=0, max_value=2**40) | st.text(min_size=1, max_size=20),
    st.text(min_size=1, max_size=20),
    st.dictionaries(
        st.text(min_size=1, max_size=10).filter(
            lambda name: name not in {"loan_id", "customer", "applied_at"}
        ),
        st.none()
        | st.booleans()
        | st.integers(-(2**63), 2**63 - 1)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=10),
        max_size=5,
    ),
)
def test_any_record_with_the_mapped_fields_maps(
    event_id: int | str, key: str, fields: dict[str, Any]
) -> None:
    mapper = MAPPERS[2]
    record = {
        **fields,
        "loan_id": event_id,
        "customer": {"id": key},
        "applied_at": "2024-03-01T09:30:00Z",
    }
    obs = mapper.map("loans", record)
    assert isinstance(obs, Observation)
    assert (obs.event_id, obs.key, obs.event_time) == (str(event_id), key, AT)
    expected = {name: value for name, value in fields.items() if name != "ssn"}
    assert obs.features == expected
