"""What every driftline exposition says of itself: a ``namespace`` label on each series
(the ``DRIFTLINE_NAMESPACE`` the worker or server runs in, so one Prometheus can scrape
several deployments), and ``driftline_build_info``, the conventional gauge of 1 whose
labels name the versions running.

>>> from prometheus_client.core import CounterMetricFamily
>>> family = CounterMetricFamily("driftline_records", "Records.", labels=["partition"])
>>> family.add_metric(["0"], 3)
>>> [s.labels for s in with_namespace([family], "flights")[0].samples]
[{'namespace': 'flights', 'partition': '0'}]
>>> info = build_info("flights")
>>> sorted(info.samples[0].labels)
['kafka_python', 'namespace', 'python', 'river', 'version']
"""

from __future__ import annotations

import platform
from collections.abc import Iterable
from functools import cache
from importlib.metadata import PackageNotFoundError, version

from prometheus_client.core import GaugeMetricFamily, Metric

from driftline.core import __version__

__all__ = ["NAMESPACE_LABEL", "build_info", "versions", "with_namespace"]

#: The label every driftline series carries.
NAMESPACE_LABEL = "namespace"


@cache
def versions() -> dict[str, str]:
    """The versions ``driftline_build_info`` names: driftline (its installed distribution,
    else the checkout's), Python, River and kafka-python (``unknown`` if not installed)."""
    return {
        "version": _distribution("driftline", __version__),
        "python": platform.python_version(),
        "river": _distribution("river", "unknown"),
        "kafka_python": _distribution("kafka-python", "unknown"),
    }


def build_info(namespace: str) -> Metric:
    """``driftline_build_info{namespace, version, python, river, kafka_python} 1``."""
    about = versions()
    family = GaugeMetricFamily(
        "driftline_build_info",
        "1, labelled with the versions of driftline, Python, River and kafka-python running.",
        labels=[NAMESPACE_LABEL, *about],
    )
    family.add_metric([namespace, *about.values()], 1.0)
    return family


def with_namespace(families: Iterable[Metric], namespace: str) -> list[Metric]:
    """The families with ``namespace="..."`` added to the labels of each sample."""
    out = []
    for family in families:
        family.samples = [
            sample._replace(labels={NAMESPACE_LABEL: namespace, **sample.labels})
            for sample in family.samples
        ]
        out.append(family)
    return out


def _distribution(name: str, default: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return default
