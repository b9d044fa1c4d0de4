"""``stack.json``: what the local stack runs (pids, ports, bootstrap servers, the Redis URL
without its password, its modes), read and written whole.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as home:
...     path = Path(home) / "stack.json"
...     before = read_state(path)
...     write_state(path, {"secure": False})
...     before, read_state(path)
(None, {'secure': False})
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from driftline.core.errors import StackError

__all__ = ["read_state", "write_state"]


def read_state(path: Path) -> dict[str, Any] | None:
    """The state recorded at ``path``, ``None`` before the first ``up``."""
    try:
        state: dict[str, Any] = json.loads(path.read_text())
        return state
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as exc:
        raise StackError(f"{path} is not valid JSON: {exc}") from exc


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Record ``state`` at ``path`` whole: written beside it, then renamed over it."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(path)
