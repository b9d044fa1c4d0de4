"""The Avro schemas this version ships, as parsed JSON: ``load("tick")`` reads ``tick.avsc``."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["load"]


@cache
def load(name: str) -> dict[str, Any]:
    """The schema ``<name>.avsc`` of this package, read once."""
    text = resources.files(__name__).joinpath(f"{name}.avsc").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema
