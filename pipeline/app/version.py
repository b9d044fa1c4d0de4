"""``driftline --version``: the installed distribution's version, read without loading the
command (no River, pydantic or Kafka client: the answer comes at once).

>>> version_line().startswith("driftline ")
True
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from driftline.core import __version__

__all__ = ["installed_version", "version_line"]


def installed_version() -> str:
    """The version of the installed ``driftline`` distribution (its metadata); a checkout
    that was never installed (only on ``PYTHONPATH``) reports the package's own
    ``driftline.core.__version__``.

    >>> installed_version() == __version__
    True
    """
    try:
        return version("driftline")
    except PackageNotFoundError:
        return __version__


def version_line() -> str:
    """What ``driftline --version`` prints: ``driftline <version>``."""
    return f"driftline {installed_version()}"
