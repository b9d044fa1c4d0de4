"""Every driftline series carries its namespace; each exposition has driftline_build_info."""

from __future__ import annotations

import platform

from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from driftline.adapters.prometheus import SnapshotCollector
from driftline.adapters.prometheus_identity import versions
from driftline.app.version import installed_version
from driftline.consumers.exposition import worker_registry
from tests.unit.consumers.exposition_samples import run_worker


def driftline_samples(text: str) -> list:
    return [
        sample
        for family in text_string_to_metric_families(text)
        if family.name.startswith("driftline_")
        for sample in family.samples
    ]


def test_every_series_of_the_worker_and_of_serve_carries_the_namespace() -> None:
    rig = run_worker()
    worker = driftline_samples(generate_latest(worker_registry(rig.worker)).decode())
    assert len({s.name for s in worker}) > 40
    assert {s.labels.get("namespace") for s in worker} == {"test"}  # the rig's namespace
    snaps = rig.worker.snapshots()
    served = SnapshotCollector(lambda: snaps, namespace="flights")
    redis = driftline_samples(generate_latest(served).decode())  # type: ignore[arg-type]
    assert {s.labels.get("namespace") for s in redis} == {"flights"}


def test_build_info_names_the_versions_running() -> None:
    rig = run_worker()
    text = generate_latest(worker_registry(rig.worker)).decode()
    [info] = [s for s in driftline_samples(text) if s.name == "driftline_build_info"]
    assert info.value == 1.0
    assert info.labels["namespace"] == "test"
    assert info.labels["python"] == platform.python_version()
    assert info.labels["version"] == installed_version() == versions()["version"]
    assert info.labels["river"] != "unknown" and info.labels["kafka_python"] != "unknown"
