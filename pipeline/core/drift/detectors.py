"""River's drift detectors by name, with the parameters driftline uses, and their evidence.

:func:`make_detector` builds one; ``warning=True`` builds its more sensitive twin, the
warning signal of a detector without one of its own (River's adaptive random forest does
this with ADWIN, delta 0.01 for the warning against 0.001 for the drift). ADWIN's twin
also looks every 4 values instead of every 32: looking when the detector looks, it
could only see a rise before the detector did by a whole 32 values, so an abrupt drift
would come with no warning. DDM and EDDM have their own warning
(``warning_detected``) and watch 0/1 values only.
:func:`evidence` reads what a detector honestly exposes about its decision.

>>> make_detector("ADWIN").delta, make_detector("ADWIN", warning=True).delta
(0.002, 0.01)
>>> make_detector("CUSUM")
Traceback (most recent call last):
...
driftline.core.errors.ConfigError: unknown drift detector 'CUSUM': known are ADWIN, DDM, \
EDDM, PageHinkley, KSWIN
>>> d = make_detector("PageHinkley")
>>> for x in [0.0] * 100 + [1.0] * 100:
...     d.update(x)
...     if d.drift_detected:
...         break
>>> statistic, window = evidence(d)
>>> {k: round(v, 2) for k, v in statistic.items()}, window
({'mean': 0.22, 'increase': 25.17, 'decrease': 0.0, 'threshold': 25.0}, 129)
"""

from __future__ import annotations

import itertools
import math
from types import ModuleType
from typing import Any, Final, Literal, get_args

from driftline.core.errors import ConfigError

__all__ = [
    "DETECTORS",
    "OWN_WARNING",
    "DetectorName",
    "evidence",
    "kswin_warning",
    "level",
    "make_detector",
    "rising",
]

DetectorName = Literal["ADWIN", "DDM", "EDDM", "PageHinkley", "KSWIN"]
DETECTORS: Final[tuple[DetectorName, ...]] = get_args(DetectorName)
#: The detectors with a warning of their own; they watch 0/1 values only.
OWN_WARNING: Final = frozenset({"DDM", "EDDM"})

#: Per detector: the parameters of the drift detector and of its warning twin.
PARAMETERS: Final[dict[str, tuple[dict[str, Any], dict[str, Any] | None]]] = {
    # the twin looks every 4 values (River's clock is 32), so it can warn first
    "ADWIN": ({"delta": 0.002}, {"delta": 0.01, "clock": 4}),
    "DDM": ({"warm_start": 30, "warning_threshold": 2.0, "drift_threshold": 3.0}, None),
    # 100 errors before EDDM judges (River's default is 30): with a good model's few errors
    # the spread of the distances between them is too noisy at 30 (an alarm every ~500
    # values of a stationary stream, tests/unit/core/drift/test_monitors.py)
    "EDDM": ({"warm_start": 100, "alpha": 0.95, "beta": 0.9}, None),
    "PageHinkley": (
        {"min_instances": 30, "delta": 0.005, "threshold": 25.0},
        {"min_instances": 30, "delta": 0.005, "threshold": 12.5},
    ),
    # 1,000 values, the last 300 tested (River's default is 100 and 30: too few to see an
    # error rate move from 2% to 18%, a KS test on 0/1 values being a test of proportions)
    "KSWIN": (
        {"alpha": 0.005, "window_size": 1000, "stat_size": 300},
        {"alpha": 0.02, "window_size": 1000, "stat_size": 300},
    ),
}


_RIVER: list[tuple[ModuleType, ModuleType]] = []


def _river() -> tuple[ModuleType, ModuleType]:
    """River's ``drift`` and ``drift.binary``, imported on first use (with SciPy: about a
    second), so that importing the core, and the settings with it, stays quick; kept from
    then on (:func:`level` runs for every error of every model: an import statement per
    call cost more than the detector's own update)."""
    if not _RIVER:
        from river import drift
        from river.drift import binary

        _RIVER.append((drift, binary))
    return _RIVER[0]


def level(detector: Any) -> float:
    """The level a two-sided detector sees now (0.0 for the others): see :func:`rising`."""
    drift = _river()[0]
    if isinstance(detector, drift.ADWIN):
        return detector.estimation  # type: ignore[no-any-return]
    if isinstance(detector, drift.KSWIN):
        window = detector.window
        return sum(window) / len(window) if window else 0.0
    return 0.0


def make_detector(name: DetectorName, *, seed: int = 42, warning: bool = False) -> Any:
    """A fresh River detector ``name`` (``seed`` for KSWIN's sampling), or its warning twin."""
    if name not in PARAMETERS:
        known = ", ".join(DETECTORS)
        raise ConfigError(f"unknown drift detector {name!r}: known are {known}")
    params, twin = PARAMETERS[name]
    if warning:
        if twin is None:
            raise ConfigError(f"{name} has a warning of its own (warning_detected)")
        params = twin
    if name == "KSWIN":
        params = params | {"seed": seed}
    drift, binary = _river()
    module = binary if name in OWN_WARNING else drift
    return getattr(module, name)(**params)


def evidence(detector: Any) -> tuple[dict[str, float], int]:
    """What ``detector`` holds about its last decision, and how many values that covers.

    Read right after the update that detected (River resets a detector at its next one).
    Some of it is River's private state (DDM, EDDM, PageHinkley expose nothing else);
    ``tests/unit/core/drift/test_detectors.py`` pins it for the River version in use.
    """
    drift, binary = _river()
    if isinstance(detector, drift.ADWIN):
        width = detector.width
        # River's ``variance`` is the sum of squared deviations: per value here
        variance = detector.variance / width if width else 0.0
        stats = {"estimation": detector.estimation, "variance": variance, "width": width}
        return _finite(stats), int(width)
    if isinstance(detector, binary.DDM):
        p, n = detector._p.get(), detector._p.n
        stats = {
            "error_rate": p,
            "std": math.sqrt(p * (1 - p) / n) if n else 0.0,
            "min_error_rate": detector._p_min or 0.0,
            "min_std": detector._s_min or 0.0,
        }
        return _finite(stats), int(n)
    if isinstance(detector, binary.EDDM):
        distances = detector._error_distances
        stats = {
            "mean_distance": distances.mean.get(),
            "std_distance": math.sqrt(max(distances.get(), 0.0)),
            "max_mean_plus_2std": float(detector._p2s_prime_max),
            "errors": float(detector._n_errors),
        }
        return _finite(stats), int(detector._n)
    if isinstance(detector, drift.PageHinkley):
        stats = {
            "mean": detector._x_mean.get(),
            "increase": detector._sum_increase - detector._min_increase,
            "decrease": max(detector._max_decrease - detector._sum_decrease, 0.0),
            "threshold": detector.threshold,
        }
        return _finite(stats), int(detector._x_mean.n)
    if isinstance(detector, drift.KSWIN):
        stats = {"p_value": float(detector.p_value), "alpha": detector.alpha}
        return _finite(stats), int(detector.window_size)
    return {}, 0


def kswin_warning(detector: Any) -> bool:
    """KSWIN's own warning: its last test's p-value under its twin's alpha, the recent
    values above the window's mean (one KS test per value instead of two: each is costly)."""
    alpha = PARAMETERS["KSWIN"][1]["alpha"]  # type: ignore[index]
    window = detector.window
    if len(window) < detector.window_size or detector.p_value > alpha:
        return False
    recent = list(itertools.islice(window, len(window) - detector.stat_size, len(window)))
    return sum(recent) / len(recent) > sum(window) / len(window)


def rising(detector: Any, before: float) -> bool:
    """Whether the change ``detector`` just detected is a rise: its level is above
    ``before`` (ADWIN keeps the recent part of its window, KSWIN its recent values), or
    its upward sum crossed the threshold (PageHinkley). DDM and EDDM see rises only."""
    drift = _river()[0]
    if isinstance(detector, drift.PageHinkley):
        return detector._sum_increase - detector._min_increase > detector.threshold  # type: ignore[no-any-return]
    if isinstance(detector, drift.ADWIN | drift.KSWIN):
        return level(detector) > before
    return True


def _finite(stats: dict[str, float]) -> dict[str, float]:
    """Plain floats; an infinity or NaN (a statistic not defined yet) is left out: JSON."""
    return {k: float(v) for k, v in stats.items() if math.isfinite(v)}
