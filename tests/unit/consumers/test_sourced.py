"""consume --source's decoder: each topic read with its kind's reader schema, the rest with
their writer's; a registry named by the file, the settings or the local stack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driftline.adapters.settings import Settings
from driftline.adapters.source_files import load_source
from driftline.consumers.sourced import _decoder
from driftline.core.errors import ConfigError
from tests.unit.adapters.registry.fake_registry import FakeRegistry, serving
from tests.unit.adapters.registry.test_avro_decoder import V1, V2, framed

OUTCOME: dict[str, Any] = {
    "type": "record",
    "name": "Repaid",
    "namespace": "com.example",
    "fields": [{"name": "loan", "type": "string"}, {"name": "bad", "type": "boolean"}],
}
SOURCE = """
[topics]
observations = ["loans"]
outcomes = ["repaid"]
[format]
type = "avro"
{schemas}
[observation]
key = "customer"
event_id = "customer"
event_time = "at"
features = ["amount"]
[outcome]
event_id = "loan"
event_time = "at"
label = "bad"
"""


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    with serving(FakeRegistry(first_id=7)) as fake:
        yield fake


def _source(tmp_path: Path, schemas: str) -> Any:
    (tmp_path / "loan.avsc").write_text(json.dumps(V2))
    (tmp_path / "loans.toml").write_text(SOURCE.format(schemas=schemas))
    return load_source(tmp_path / "loans.toml")


def test_each_kind_is_read_with_its_own_reader_schema(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    spec = _source(tmp_path, 'reader_schemas = { observation = "loan.avsc" }')
    decode = _decoder(spec, Settings(_env_file=None), registry.url)
    v1, repaid = registry.add("loans-value", V1), registry.add("repaid-value", OUTCOME)
    # a v1 application read as v2: the default filled in; the outcome as its writer wrote it
    assert decode("loans", framed(v1, V1, {"customer": "c", "amount": 1.0})) == {
        "customer": "c",
        "amount": 1.0,
        "term": 36,
    }
    assert decode("repaid", framed(repaid, OUTCOME, {"loan": "l", "bad": True})) == {
        "loan": "l",
        "bad": True,
    }


def test_the_file_names_the_registry_first(registry: FakeRegistry, tmp_path: Path) -> None:
    spec = _source(tmp_path, f'registry = "{registry.url}"')
    decode = _decoder(spec, Settings(_env_file=None), None)
    v1 = registry.add("loans-value", V1)
    assert decode("loans", framed(v1, V1, {"customer": "c", "amount": 2.0}))["amount"] == 2.0


def test_an_avro_source_without_a_registry_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="an avro source needs a schema registry"):
        _decoder(_source(tmp_path, ""), Settings(_env_file=None), None)
