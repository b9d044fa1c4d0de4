"""The user's own code: an attribute named by ``module:attr``, imported from the working
directory, and the ``module:attr`` name of a function given in Python.

``driftline`` is a console script, so the working directory is not on ``sys.path`` (as
it is for ``python -m``); uvicorn and celery put it there for their ``module:attr``
options, and so does :func:`import_attr`: ``--model mymodel:make`` finds ``mymodel.py``
in the folder the command runs from.

>>> import_attr("math:pi", "--model")
3.141592653589793
>>> qualified_name(import_attr("os.path:join", "--features"), "--features")
'posixpath:join'
>>> try:
...     qualified_name(lambda obs: {}, "--features")
... except ConfigError as exc:
...     print(exc)  # doctest: +ELLIPSIS
--features <lambda>: a lambda or a local function cannot be named ... define it with def ...
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from driftline.core.errors import ConfigError

__all__ = ["import_attr", "qualified_name"]


def import_attr(spec: str, option: str) -> Any:
    """The attribute ``attr`` of module ``module`` (``spec`` is ``module:attr``; ``attr`` may
    be dotted), the working directory first on ``sys.path`` when it is not there yet.

    ``option`` (``"--model"``) names the setting in the error raised when ``spec`` cannot be
    imported, with the import's own error and where it looked.
    """
    module_name, colon, attr = spec.partition(":")
    if not colon or not module_name or not attr:
        raise ConfigError(f"{option} {spec}: expected module:attr (e.g. mymodule:make)")
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{option} {spec}: {exc} (looked in {cwd} and sys.path)") from exc
    except Exception as exc:  # the user's module raised while it was imported
        raise ConfigError(f"{option} {spec}: importing {module_name} raised {exc!r}") from exc
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError as exc:
            raise ConfigError(f"{option} {spec}: module {module_name!r} has no {attr!r}") from exc
    return target


def qualified_name(function: Any, option: str) -> str:
    """``module:qualname`` of a module-level function or class: the name a checkpoint
    pickles it by, and the configuration's fingerprint records.

    A lambda or a local function has no such name (a checkpoint could not hold it, and
    two of them could not be told apart): it is refused with a :class:`ConfigError`.
    """
    if not callable(function):
        raise ConfigError(f"{option}: {function!r} is not callable")
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        raise ConfigError(f"{option}: {function!r} has no module-level name; define it with def")
    if "<lambda>" in qualname or "<locals>" in qualname:
        raise ConfigError(
            f"{option} {qualname}: a lambda or a local function cannot be named in a "
            "checkpoint or a configuration's fingerprint; define it with def at the top "
            "level of a module"
        )
    found: Any = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if found is not function:
        raise ConfigError(
            f"{option} {module}:{qualname}: that name does not lead back to it; define it "
            "with def at the top level of a module"
        )
    return f"{module}:{qualname}"
