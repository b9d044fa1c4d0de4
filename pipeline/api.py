"""Run a worker from Python: your River model (an estimator or a factory) and your feature
function, on the namespace's stream, as ``driftline consume`` does.

A feature function is a module-level function (a checkpoint names it)::

    # feats.py
    from driftline import FeatureValue, Observation

    def features(obs: Observation) -> dict[str, FeatureValue]:
        income = obs.features["income"]
        return {"debt_ratio": obs.features["debt"] / income if income else 0.0}

and ``driftline.run_worker(model, feats.features)`` runs with it. :func:`task_config`
is what the worker runs with; what cannot be run is refused there, before anything
connects:

>>> from river import linear_model, preprocessing
>>> from driftline import DriftlineError
>>> settings = Settings(_env_file=None, namespace="loans")
>>> config = task_config(preprocessing.StandardScaler() | linear_model.LogisticRegression(),
...                      settings=settings)
>>> config.model.startswith("Pipeline"), config.feature_function is None
(True, True)
>>> try:
...     task_config(features=lambda obs: {}, settings=settings)
... except DriftlineError as exc:
...     print(exc)  # doctest: +ELLIPSIS
--features <lambda>: a lambda or a local function cannot be named in a checkpoint ...
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any, TypeAlias

from river import base

from driftline.adapters.endpoints import Endpoints, resolve_endpoints
from driftline.adapters.kafka_clients import make_producer
from driftline.adapters.registry import event_codec
from driftline.adapters.settings import Settings
from driftline.adapters.source_files import load_source
from driftline.adapters.topics import prepare_topics
from driftline.app.signals import stop_on_signals
from driftline.consumers.runner import checked_task_config, worker_config
from driftline.consumers.runner import run_worker as _run_worker
from driftline.consumers.sourced import IngestAwareSource, start_ingest
from driftline.core.events.model import Observation, Outcome
from driftline.core.learning.models import ModelSource
from driftline.core.learning.user_features import FeatureFunction
from driftline.core.task.config import TaskConfig
from driftline.producers.publisher import EventPublisher
from driftline.stack import LocalStack

__all__ = ["FeatureFunction", "Model", "publish", "run_worker", "task_config"]

#: A model: a River estimator (each partition and challenger learns its own clone), a
#: module-level factory returning one (called with ``seed=`` when it takes it), or a spec
#: as ``--model`` takes it (a River expression, or ``module:attr``).
Model: TypeAlias = base.Estimator | Callable[..., base.Estimator] | str


def task_config(
    model: Model | None = None,
    features: FeatureFunction | None = None,
    settings: Settings | None = None,
) -> TaskConfig:
    """What each task of a worker computes: the settings' configuration with ``model``
    and ``features`` in place of theirs (``None``: the settings' own). The model is built
    once here, so one that cannot be made is refused now."""
    settings = Settings() if settings is None else settings
    config = settings.task_config()
    changes: dict[str, Any] = {}
    if model is not None:
        changes["model"] = model if isinstance(model, str) else ModelSource(model)
    if features is not None:
        changes["feature_function"] = features
    return checked_task_config(settings, dataclasses.replace(config, **changes))


def run_worker(
    model: Model | None = None,
    features: FeatureFunction | None = None,
    *,
    settings: Settings | None = None,
    max_events: int | None = None,
    until_idle_s: float | None = None,
    stop: threading.Event | None = None,
    source: str | Path | None = None,
) -> dict[str, Any]:
    """Join the namespace's consumer group and predict on every observation, learn on every
    outcome, until ``stop`` is set or a bound is reached; return the run's figures.

    ``model``: a River estimator, a factory or a spec (``None``: ``DRIFTLINE_MODEL``);
    ``features``: ``f(observation) -> dict`` whose output is what is predicted on, kept
    pending and learned (``None``: ``DRIFTLINE_FEATURES``, else the built-in feature
    steps); both must be defined at the top level of a module (checkpoints name them).
    ``settings``: ``Settings()`` (the ``DRIFTLINE_*`` variables and ``.env``) when not
    given; Kafka and Redis are theirs, else the running local stack's. ``max_events`` and
    ``until_idle_s`` bound the run as ``driftline consume``'s ``--max-events`` and
    ``--until-idle`` do. Without ``stop``, the run ends at a bound, or at SIGINT/SIGTERM
    when called from the main thread.

    ``source``: a source file (``consume --source``: your own topics, format and
    mapping, docs/sources.md); ``None``: the namespace's events topic.

    The figures are those ``driftline consume --json`` prints: ``records``,
    ``predictions``, ``dead_letters``, ``checkpoints``, ... and ``partitions``.
    """
    settings = Settings() if settings is None else settings
    config = task_config(model, features, settings)
    spec = None if source is None else load_source(Path(source))  # refused before connecting
    endpoints, local_key = _services(settings)
    loop = worker_config(settings, max_events=max_events, until_idle_s=until_idle_s)
    with ExitStack() as stages:
        if stop is None:
            main = threading.current_thread() is threading.main_thread()
            stop = stages.enter_context(stop_on_signals()) if main else threading.Event()
        wrap = None
        if spec is not None:
            ingest = stages.enter_context(start_ingest(settings, endpoints, spec, stop))
            wrap = partial(IngestAwareSource, ingest=ingest)
        worker = _run_worker(
            settings,
            endpoints,
            loop,
            stop,
            local_key=local_key,
            task_config=config,
            wrap_source=wrap,
        )
    return worker.stats.to_dict() | {"partitions": sorted(worker.partitions_seen)}


def publish(events: Iterable[Observation | Outcome], *, settings: Settings | None = None) -> int:
    """Publish ``events`` to the namespace's events topic (its topics are made if missing);
    the number Kafka acknowledged. Kafka is the settings', else the running local stack's;
    with a schema registry configured, the registry's ids go on the wire."""
    settings = Settings() if settings is None else settings
    endpoints, _ = _services(settings)
    kafka = settings.kafka.at(endpoints.bootstrap)
    prepare_topics(kafka, settings.namespace)
    codec = event_codec(settings.schema_registry, endpoints.schema_registry_url)
    with EventPublisher(make_producer(kafka), settings.topics.events, codec) as publisher:
        for event in events:
            publisher.publish(event)
        return publisher.flush().total


def _services(settings: Settings) -> tuple[Endpoints, Callable[[], bytes | None] | None]:
    """Kafka and Redis as the settings name them, else the local stack's (with its
    checkpoint key)."""
    stack = LocalStack(settings.stack)
    endpoints = resolve_endpoints(settings.kafka, settings.redis, stack.endpoints)
    return endpoints, stack.checkpoint_key if endpoints.source == "local-stack" else None
