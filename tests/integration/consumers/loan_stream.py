"""The loan stream of ``examples/avro-registry`` and River's own reference on it, for the
tests that publish it with a client that is not driftline's (confluent_kafka's
``AvroSerializer``, Kafka's console producer) and read it with ``consume --source``.

The reference is River's prequential loop on the story's order, which is the order
driftline learns in when the worker reads one events partition: the ingest stage releases
the user's records by Kafka timestamp, and the example's producer stamps each record a
millisecond at least after the one before, in the story's order. Each application is
answered with ``predict_proba_one`` when it comes; its outcome, 30 days later in the story,
``learn_one``s the application's features then (a delay counted in records, as River's
``evaluate.iter_progressive_val_score(delay=...)`` counts it, that varies with the
number of applications in those 30 days).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from river import compose, linear_model, preprocessing

from driftline.adapters.settings import Settings
from driftline.read import PredictionsClient, StreamEntry
from tests.conftest import TEST_CHECKPOINT_KEY

__all__ = [
    "EXAMPLE",
    "MODEL",
    "consume_env",
    "features_of",
    "learned",
    "loans_module",
    "river_reference",
    "roc_auc",
    "run_command",
    "stream_entries",
]

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "avro-registry"

#: The model driftline is given (``--model``); :func:`reference_model` builds the same.
MODEL = (
    "(compose.SelectType(float, int) | preprocessing.StandardScaler())"
    " + (compose.SelectType(str) | preprocessing.OneHotEncoder())"
    " | linear_model.LogisticRegression()"
)


def reference_model() -> Any:
    """:data:`MODEL`, built with River's classes (not with driftline's factory)."""
    numbers = compose.SelectType(float, int) | preprocessing.StandardScaler()
    texts = compose.SelectType(str) | preprocessing.OneHotEncoder()
    return (numbers + texts) | linear_model.LogisticRegression()


def loans_module(folder: Path = EXAMPLE) -> ModuleType:
    """The example's ``loans.py`` (from ``folder``), imported as a module."""
    spec = importlib.util.spec_from_file_location("loans_example", folder / "loans.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def features_of(source: Path) -> list[str]:
    """The features a source file lists."""
    return list(tomllib.loads(source.read_text())["observation"]["features"])


def river_reference(records: Iterable[Any], features: Sequence[str]) -> dict[str, float]:
    """Each application's probability of default, by loan id, as River's prequential loop
    on ``records`` (the story, in order) gives it: predict on an application, learn on
    its outcome with the application's features."""
    model = reference_model()
    pending: dict[str, dict[str, Any]] = {}
    answers: dict[str, float] = {}
    for record in records:
        loan = record.value["loan_id"]
        if record.kind == "application":
            x = {name: record.value[name] for name in features}
            answers[loan] = model.predict_proba_one(x).get(True, 0.0)
            pending[loan] = x
        else:
            model.learn_one(pending.pop(loan), record.value["defaulted"])
    return answers


def roc_auc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """The exact area under the ROC curve (ties count a half).

    >>> roc_auc([False, True, False, True], [0.1, 0.9, 0.4, 0.4])
    0.875
    """
    positives = [s for s, y in zip(scores, labels, strict=True) if y]
    negatives = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def consume_env(settings: Settings, tmp_path: Path, **extra: str) -> dict[str, str]:
    """This process's environment without its DRIFTLINE_* variables, plus the suite's
    Kafka, Redis, the test's namespace, a checkpoint key, no local stack, and ``extra``."""
    values = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    redis_url = settings.redis.url
    assert redis_url is not None and settings.kafka.bootstrap is not None
    return values | {
        "DRIFTLINE_KAFKA_BOOTSTRAP": settings.kafka.bootstrap,
        "DRIFTLINE_REDIS_URL": redis_url.get_secret_value(),
        "DRIFTLINE_CHECKPOINT_KEY": TEST_CHECKPOINT_KEY,
        "DRIFTLINE_NAMESPACE": settings.namespace,
        "DRIFTLINE_STACK_HOME": str(tmp_path / "no-stack"),
        "COLUMNS": "200",
        **extra,
    }


def stream_entries(settings: Settings, quiet_s: float = 2.0) -> list[StreamEntry]:
    """Every entry of the namespace's predictions stream, read with the public client
    until none has come for ``quiet_s`` (the worker has ended before this is asked)."""
    redis_url = settings.redis.url
    assert redis_url is not None
    entries: list[StreamEntry] = []
    last = [time.monotonic()]
    with PredictionsClient.from_url(
        redis_url.get_secret_value(), settings.namespace, timeout_s=10.0
    ) as client:
        stop = lambda: time.monotonic() - last[0] > quiet_s  # noqa: E731
        for entry in client.follow(from_start=True, block_ms=200, stop=stop):
            entries.append(entry)
            last[0] = time.monotonic()
    return entries


def learned(settings: Settings) -> int:
    """Outcomes the worker learned (its metrics' ``learned`` count)."""
    redis_url = settings.redis.url
    assert redis_url is not None
    with PredictionsClient.from_url(redis_url.get_secret_value(), settings.namespace) as client:
        return int(client.metrics()["total"]["counts"]["learned"])


def run_command(command: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    """Run ``command`` to its end (10 minutes at most); its standard output (it must
    succeed)."""
    started = time.monotonic()
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    print(f"{' '.join(command[:4])}...: {time.monotonic() - started:.1f} s")
    assert done.returncode == 0, f"{command}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done.stdout
