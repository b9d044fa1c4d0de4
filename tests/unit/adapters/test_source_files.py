"""Source files: TOML and YAML, errors naming the file and the place (pydantic's location,
the syntax error's line), the reader schema found beside the file, and every example of
``docs/sources.md`` loading."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from driftline.adapters.source_files import (
    load_reader_schema,
    load_source,
    parse_source,
    place,
    reader_schemas,
)
from driftline.core.errors import ConfigError, SourceFileError
from driftline.core.sources.mapping import RecordMapper

DOCS = Path(__file__).resolve().parents[3] / "docs" / "sources.md"

TOML = """
[topics]
observations = ["loans"]
outcomes = ["loan-outcomes"]

[observation]
key = "customer.id"
event_id = "loan_id"
event_time = "applied_at"
features = ["amount", "income"]

[outcome]
event_id = "loan_id"
event_time = "resolved_at"
time = "epoch_ms"
label = "defaulted"
labels = { "Y" = true, "N" = false }
"""

YAML = """
topics: {observations: [loans], outcomes: [loan-outcomes]}
observation:
  key: customer.id
  event_id: loan_id
  event_time: applied_at
  features: [amount, income]
outcome:
  event_id: loan_id
  event_time: resolved_at
  time: epoch_ms
  label: defaulted
  labels: {"Y": true, "N": false}
"""

SCHEMA = {
    "type": "record",
    "name": "Loan",
    "fields": [{"name": "loan_id", "type": "long"}, {"name": "amount", "type": "double"}],
}


@pytest.mark.parametrize(("suffix", "text"), [(".toml", TOML), (".yaml", YAML), (".YML", YAML)])
def test_toml_and_yaml_say_the_same(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"loans{suffix}"
    path.write_text(text)
    spec = load_source(path)
    assert spec == parse_source(TOML, "toml")
    assert spec.topics() == ("loans", "loan-outcomes") and spec.route_by_event_id


def place_of(tmp_path: Path, text: str, name: str = "loans.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SourceFileError) as caught:
        load_source(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    return message.removeprefix(f"{path}: ")


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (
            TOML.replace('event_time = "applied_at"\n', ""),
            "[observation].event_time: field required",
        ),
        (
            TOML.replace("[outcome]", "[outcomes]"),
            "[outcome]: field required; [outcomes]: not a key",
        ),
        (
            TOML.replace('label = "defaulted"', 'lable = "defaulted"'),
            "[outcome].label: field required; [outcome].lable: not a key of a source file here "
            "(a typo?)",
        ),
        (
            TOML.replace('"income"]', '"income", 7]'),
            "[observation].features[2]: input should be a valid string (got 7)",
        ),
        (
            TOML.replace('time = "epoch_ms"', 'time = "epoch_ns"'),
            "[outcome].time: input should be 'iso', 'epoch_s', 'epoch_ms' or 'epoch_us' "
            "(got 'epoch_ns')",
        ),
        (
            TOML.replace('time = "epoch_ms"', 'time = "epoch_ms"\ntimezone = "Europe/Paris"'),
            "[outcome]: timezone applies to ISO times only; epoch times (epoch_ms) count from "
            "1970-01-01 UTC",
        ),
        (
            TOML.replace('features = ["amount", "income"]', 'features_except = ["a.b"]'),
            "[observation].features_except: features_except names top-level fields, not 'a.b'",
        ),
        (
            TOML.replace('outcomes = ["loan-outcomes"]', 'outcomes = ["loans"]'),
            "[topics]: ['loans'] listed as observations and outcomes",
        ),
        (
            TOML.replace('"N" = false', '"N" = [false]'),
            "[outcome].labels: 'N' maps to [False]: a label is a boolean, a number or text",
        ),
        (
            TOML + '[format]\nreader_schema = "x.avsc"\n',
            '[format]: reader_schema applies to type = "avro" only',
        ),
        (
            "[topics\nx = 1",
            "not valid TOML: Expected ']' at the end of a table declaration (at line 1, column 8)",
        ),
        ("x = 1\nx = 2\n", "not valid TOML: Cannot overwrite a value (at line 2, column 6)"),
        ("", "[topics]: field required; [observation]: field required; [outcome]: field required"),
    ],
)
def test_a_mistake_names_its_place(tmp_path: Path, broken: str, message: str) -> None:
    found = place_of(tmp_path, broken)
    assert found.startswith(message), found


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ("topics: [loans", "not valid YAML: line 1, column 15: expected ',' or ']'"),
        ("- a\n- b\n", "a source file is a table of keys"),
        ("", "a source file is a table of keys"),
        (
            YAML.replace("time: epoch_ms", "time: 3"),
            "[outcome].time: input should be 'iso', 'epoch_s', 'epoch_ms' or 'epoch_us' (got 3)",
        ),
    ],
)
def test_a_yaml_mistake_names_its_place(tmp_path: Path, broken: str, message: str) -> None:
    assert place_of(tmp_path, broken, "loans.yaml").startswith(message)


def test_only_toml_and_yaml_files_are_read(tmp_path: Path) -> None:
    path = tmp_path / "loans.json"
    path.write_text("{}")
    with pytest.raises(SourceFileError, match="loans.json: a source file is a .toml, .yaml"):
        load_source(path)
    with pytest.raises(SourceFileError, match="nothing.toml: cannot read the source file"):
        load_source(tmp_path / "nothing.toml")
    (tmp_path / "latin.toml").write_bytes(b"# caf\xe9\n")
    with pytest.raises(ConfigError, match="latin.toml: cannot read"):
        load_source(tmp_path / "latin.toml")


def avro_source(schema: str) -> str:
    return TOML + f'[format]\ntype = "avro"\nreader_schema = "{schema}"\n'


def test_the_reader_schema_is_found_beside_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    (folder / "schemas").mkdir(parents=True)
    (folder / "schemas" / "loan.avsc").write_text(json.dumps(SCHEMA))
    (folder / "loans.toml").write_text(avro_source("schemas/loan.avsc"))
    spec = load_source(folder / "loans.toml")
    assert spec.format.reader_schema == folder / "schemas" / "loan.avsc"
    assert load_reader_schema(spec) == SCHEMA
    assert load_reader_schema(parse_source(TOML, "toml")) is None
    elsewhere = tmp_path / "elsewhere.toml"  # an absolute path stays as it is
    elsewhere.write_text(avro_source(str(folder / "schemas" / "loan.avsc")))
    assert load_source(elsewhere).format.reader_schema == folder / "schemas" / "loan.avsc"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read it"),
        ("{", "not JSON \\(line 1"),
        ('"string"', "an Avro record schema is expected"),
        (
            '{"type": "record", "name": "L", "fields": [{"name": "x", "type": "nope"}]}',
            "not a valid Avro schema",
        ),
    ],
)
def test_a_bad_reader_schema_is_refused_before_connecting(
    tmp_path: Path, content: str | None, message: str
) -> None:
    if content is not None:
        (tmp_path / "loan.avsc").write_text(content)
    (tmp_path / "loans.toml").write_text(avro_source("loan.avsc"))
    where = re.escape(
        f"{tmp_path / 'loans.toml'}: [format].reader_schema: {tmp_path / 'loan.avsc'}: "
    )
    with pytest.raises(SourceFileError, match=where + message):
        load_source(tmp_path / "loans.toml")


def test_place_reads_as_the_file_is_written() -> None:
    assert place(("topics", "kind", "field")) == "[topics].kind.field"
    assert place(("outcome", "labels", "Y")) == "[outcome].labels.Y"


def doc_blocks(language: str) -> list[str]:
    text = DOCS.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def test_every_toml_and_yaml_example_of_the_docs_loads(tmp_path: Path) -> None:
    blocks = [(".toml", block) for block in doc_blocks("toml")]
    blocks += [(".yaml", block) for block in doc_blocks("yaml")]
    assert len(blocks) >= 5
    for number, (suffix, block) in enumerate(blocks):
        path = tmp_path / f"example{number}{suffix}"
        path.write_text(block)
        spec = load_source(path)
        RecordMapper(spec)  # and it makes a mapper
    first_toml, first_yaml = doc_blocks("toml")[0], doc_blocks("yaml")[0]
    assert parse_source(first_toml, "toml") == parse_source(first_yaml, "yaml")


def test_the_docs_error_examples_are_what_driftline_says(tmp_path: Path) -> None:
    (plain,) = [block for block in doc_blocks("") if "field required" in block]
    first = doc_blocks("toml")[0]
    shown = {
        "[observation].event_time: field required": first.replace(
            'event_time = "applied_at"\n', ""
        ),
        '[format]: reader_schema applies to type = "avro" only': first.replace(
            'type = "json"', 'type = "json"\nreader_schema = "loan.avsc"'
        ),
        "not valid TOML: Expected '=' after a key in a key/value pair (at line 6, column 6)": (
            first.replace('type = "json"', 'type "json"')
        ),
    }
    for message, broken in shown.items():
        assert f"loans.toml: {message}" in plain
        with pytest.raises(SourceFileError) as caught:
            parse_source(broken, "toml", "loans.toml")
        assert str(caught.value) == f"loans.toml: {message}"


OUTCOME_SCHEMA = {
    "type": "record",
    "name": "LoanOutcome",
    "fields": [{"name": "loan_id", "type": "long"}, {"name": "defaulted", "type": "string"}],
}


def test_a_reader_schema_per_kind_reads_each_topic_with_its_own(tmp_path: Path) -> None:
    (tmp_path / "loan.avsc").write_text(json.dumps(SCHEMA))
    (tmp_path / "outcome.avsc").write_text(json.dumps(OUTCOME_SCHEMA))
    (tmp_path / "loans.toml").write_text(
        TOML + '[format]\ntype = "avro"\n'
        'reader_schemas = { observation = "loan.avsc", outcome = "outcome.avsc" }\n'
    )
    spec = load_source(tmp_path / "loans.toml")
    assert reader_schemas(spec) == {"loans": SCHEMA, "loan-outcomes": OUTCOME_SCHEMA}
    (tmp_path / "outcome.avsc").write_text("{")
    with pytest.raises(SourceFileError, match=re.escape("[format].reader_schemas.outcome: ")):
        load_source(tmp_path / "loans.toml")


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        (
            'type = "avro"\nreader_schema = "a.avsc"\nreader_schemas = { outcome = "b.avsc" }',
            "give reader_schema (every record) or reader_schemas (one per kind), not both",
        ),
        ('type = "json"\nreader_schemas = { outcome = "b.avsc" }', "applies to type"),
    ],
)
def test_reader_schemas_are_refused_where_they_cannot_apply(fmt: str, message: str) -> None:
    with pytest.raises(SourceFileError, match=re.escape(message)):
        parse_source(TOML + f"[format]\n{fmt}\n", "toml")


def test_one_topic_holding_both_kinds_takes_one_reader_schema() -> None:
    one_topic = TOML.replace(
        'observations = ["loans"]\noutcomes = ["loan-outcomes"]',
        'events = ["loan-events"]\nkind = { field = "type", observation = "a", outcome = "o" }',
    )
    with pytest.raises(SourceFileError, match="needs observations and outcomes in topics"):
        parse_source(
            one_topic + '[format]\ntype = "avro"\nreader_schemas = { outcome = "b.avsc" }\n', "toml"
        )
