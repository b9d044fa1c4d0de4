"""``DRIFTLINE_*`` variables that name no setting: a typo (``DRIFTLINE_CHECKPOINT_EVRY``)
would otherwise leave the default in force without a word.

They are warned about, with the closest known name, and never refused: a deployment's
environment may carry a variable a newer driftline reads (set for the next version, or
shared by workers of two versions during a rolling upgrade), and refusing it would stop
the older workers for no fault of theirs.

>>> unknown_variables(["DRIFTLINE_CHECKPOINT_EVRY", "DRIFTLINE_SEED", "HOME"])
['DRIFTLINE_CHECKPOINT_EVRY is not a driftline setting; did you mean DRIFTLINE_CHECKPOINT_EVERY?']
>>> unknown_variables(["driftline_partitions", "DRIFTLINE_LOG_FORMAT"])
[]
>>> for warning in unknown_variables(["DRIFTLINE_KAFKA__BOOTSTRAP", "DRIFTLINE_WHATEVER"]):
...     print(warning)
DRIFTLINE_KAFKA__BOOTSTRAP is not a driftline setting; did you mean DRIFTLINE_KAFKA_BOOTSTRAP?
DRIFTLINE_WHATEVER is not a driftline setting (ignored)
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable

from driftline.adapters.settings.flat import FLAT
from driftline.adapters.settings.group import PREFIX

__all__ = ["READ_ELSEWHERE", "known_variables", "unknown_variables", "warn_unknown_variables"]

log = logging.getLogger(__name__)

#: Variables driftline reads outside the settings object: the command's own (the config
#: file, the log format, the options that take a variable) and the test suite's.
READ_ELSEWHERE = frozenset(
    {
        f"{PREFIX}CONFIG",
        f"{PREFIX}LOG_FORMAT",
        f"{PREFIX}SERVE_HOST",
        f"{PREFIX}SERVE_PORT",
        f"{PREFIX}METRICS_HOST",
        f"{PREFIX}METRICS_PORT",
        f"{PREFIX}PURE_CORE",  # driftline.core.compiled: the compiled modules as source
        f"{PREFIX}TEST_ALERTS",
        f"{PREFIX}TESTS_NO_DOCKER",
    }
)
#: The settings outside every group.
_ROOT = (f"{PREFIX}NAMESPACE", f"{PREFIX}SEED")


def known_variables() -> frozenset[str]:
    """Every ``DRIFTLINE_*`` variable driftline reads."""
    grouped = {f"{PREFIX}{flat.upper()}" for flat in FLAT}
    return frozenset(grouped | set(_ROOT) | READ_ELSEWHERE)


def unknown_variables(names: Iterable[str]) -> list[str]:
    """One warning for each ``DRIFTLINE_*`` name of ``names`` that driftline does not read
    (names compare in upper case, as the settings read them), with the closest known one."""
    known = known_variables()
    # compared without the prefix they all share, which would make any two look close
    stems = sorted(name.removeprefix(PREFIX) for name in known)
    warnings = []
    for name in sorted({n.upper() for n in names if n.upper().startswith(PREFIX)}):
        if name in known:
            continue
        close = difflib.get_close_matches(name.removeprefix(PREFIX), stems, n=1)
        hint = f"; did you mean {PREFIX}{close[0]}?" if close else " (ignored)"
        warnings.append(f"{name} is not a driftline setting{hint}")
    return warnings


def warn_unknown_variables(names: Iterable[str]) -> None:
    """Log :func:`unknown_variables` of ``names`` as warnings (standard error, by default)."""
    for warning in unknown_variables(names):
        log.warning(warning)
