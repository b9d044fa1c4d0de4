"""``examples/avro-registry``, run as its README says, from a copy outside the repository.

``loans.py`` (the user's own producer: confluent_kafka's ``AvroSerializer`` against a real
schema registry, a second schema version from the middle of the year on) writes a year of
loan applications and their outcomes 30 days later; ``driftline consume --source loans.toml``
reads both topics with no bridge. Every application is predicted once, every outcome
learned once, the two records injected on purpose (not Avro; an unknown schema id) are the
only dead letters and name their topic, partition and offset, the model beats a constant
answer, and every probability equals River's own prequential loop on the same rows
(:mod:`tests.integration.consumers.loan_stream` says why the orders match).
"""

from __future__ import annotations

import doctest
import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from driftline.adapters.settings import Settings
from tests.integration.consumers.loan_stream import (
    EXAMPLE,
    MODEL,
    consume_env,
    features_of,
    loans_module,
    river_reference,
    roc_auc,
    run_command,
    stream_entries,
)
from tests.integration.helpers import dead_letter_headers

pytestmark = pytest.mark.e2e

COUNT = 2000
BIN = Path(sys.executable).parent

#: The README's commands, run as written (the test's own flags after them).
PRODUCE = "python loans.py --count 2000 --v2-from 0.5"
CONSUME = "driftline consume --source loans.toml --until-idle 10 --pending-ttl 3000000"
METRICS = "driftline metrics"
GET = "driftline predictions get c00325"  # the first application's customer (seed 7)


def _example(tmp_path: Path, namespace: str) -> tuple[Path, tuple[str, str]]:
    """A copy of the example, its source file pointed at this test's own topics."""
    folder = tmp_path / "avro-registry"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    topics = (f"{namespace}.loans", f"{namespace}.loan-outcomes")
    source = folder / "loans.toml"
    text = source.read_text().replace('["loans"]', f'["{topics[0]}"]')
    source.write_text(text.replace('["loan-outcomes"]', f'["{topics[1]}"]'))
    return folder, topics


def _run(line: str, folder: Path, env: dict[str, str], *extra: str) -> str:
    """Run a README command line with this venv's programs, in ``folder``; its output."""
    program, *args = shlex.split(line)
    return run_command([str(BIN / program), *args, *extra], env, cwd=folder)


def _inject_bad_records(bootstrap: str, topic: str) -> dict[str, tuple[int, int]]:
    """A record that is not Avro and one naming a schema id no registry holds, written by a
    plain producer after the stream; their partition and offset, by what they are."""
    bad = {
        "not-avro": b'{"loan_id": "L-json"}',
        "unknown-schema": b"\x00" + (987_654).to_bytes(4, "big") + b"\x02x",
    }
    where: dict[str, tuple[int, int]] = {}
    producer = Producer({"bootstrap.servers": bootstrap})
    for name, value in bad.items():

        def delivered(error: Any, message: Any, name: str = name) -> None:
            assert error is None, error
            where[name] = (message.partition(), message.offset())

        producer.produce(topic, key=b"c-bad", value=value, on_delivery=delivered)
    assert producer.flush(30) == 0
    return where


def test_the_loan_stream_is_read_from_the_registry_and_equals_river(
    settings: Settings, schema_registry: str, tmp_path: Path
) -> None:
    folder, topics = _example(tmp_path, settings.namespace)
    env = consume_env(
        settings,
        tmp_path,
        DRIFTLINE_SCHEMA_REGISTRY_URL=schema_registry,
        DRIFTLINE_PARTITIONS="1",  # one events partition: one model learns in one order
    )
    written = _run(PRODUCE, folder, env, "--duration", "3", "--topics", ",".join(topics))
    assert f"{2 * COUNT} records" in written
    injected = _inject_bad_records(settings.kafka.bootstrap or "", topics[0])

    summary = _run(CONSUME, folder, env, "--raw-features", "--model", MODEL, "--json")
    print(summary.strip().splitlines()[-1])
    total = json.loads(_run(METRICS, folder, env, "--json"))["total"]

    loans = loans_module(folder)
    story = loans.story(COUNT, 7, 0.5)  # loans.py's default seed
    labels = {r.value["loan_id"]: r.value["defaulted"] for r in story if r.kind == "outcome"}
    entries = stream_entries(settings)
    ours = {entry.event_id: entry.positive_probability for entry in entries}
    assert len(entries) == len(ours) == COUNT  # every application predicted exactly once
    assert set(ours) == set(labels)
    assert total["counts"]["learned"] == COUNT  # every outcome learned once
    assert total["counts"]["dead_letters"] == 0 and total["counts"]["expired"] == 0

    letters = [h for h in dead_letter_headers(settings) if h.get("driftline.source.topic")]
    found = {
        (int(h["driftline.source.partition"]), int(h["driftline.source.offset"])): (
            h["driftline.reason"],
            h["driftline.source.topic"],
            h["driftline.detail"],
        )
        for h in letters
    }
    assert set(found) == set(injected.values()) and len(letters) == 2, letters
    for why, where in injected.items():  # the decoder's own reason is in the detail
        reason, topic, detail = found[where]
        assert (reason, topic) == ("source-undecodable", topics[0])
        assert ("bad-magic-byte" if why == "not-avro" else "unknown-schema") in detail, detail

    got = json.loads(_run(GET, folder, env, "--json"))
    assert got["key"] == story[0].key and got["event_id"] in ours

    loan_ids = sorted(labels)
    truth = [labels[loan] for loan in loan_ids]
    scores = [ours[loan] or 0.0 for loan in loan_ids]
    auc = roc_auc(truth, scores)
    accuracy = sum((s >= 0.5) == y for s, y in zip(scores, truth, strict=True)) / COUNT
    majority = max(sum(truth), COUNT - sum(truth)) / COUNT
    print(f"ROC AUC {auc:.3f} (constant: 0.5); accuracy {accuracy:.3f} (constant: {majority:.3f})")
    print(
        f"driftline's metrics: ROC AUC {total['roc_auc']}, accuracy {total['accuracy']} "
        f"(constant: {total['baseline_correct'] / total['scored']:.4f})"
    )
    assert auc > 0.7 and accuracy > majority + 0.03
    assert total["roc_auc"] > 0.7
    assert total["accuracy"] > total["baseline_correct"] / total["scored"] + 0.03

    reference = river_reference(story, features_of(folder / "loans.toml"))
    gaps = [abs(ours[loan] - reference[loan]) for loan in loan_ids]  # type: ignore[operator]
    print(f"River's reference: {len(gaps)} compared, max |difference| {max(gaps):.3g}")
    assert max(gaps) == 0.0


def test_loans_py_examples_run_and_it_passes_mypy_strict(tmp_path: Path) -> None:
    """The producer's docstring examples hold, and a user's ``mypy --strict`` accepts it
    (from a copy of its own, with no project configuration)."""
    failed, tried = doctest.testmod(loans_module(), report=True)
    assert tried >= 5 and failed == 0
    shutil.copy(EXAMPLE / "loans.py", tmp_path / "loans.py")
    run_command([str(BIN / "mypy"), "--strict", "--no-incremental", "loans.py"], {}, tmp_path)
