"""The API's JSON: what every route answers with unless it says otherwise."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from driftline.core import jsonsafe

__all__ = ["SafeJSON"]


class SafeJSON(JSONResponse):
    """JSON without NaN or Infinity (``null`` instead), as every driftline output.

    >>> SafeJSON({"roc_auc": float("nan"), "n": 3}).body
    b'{"roc_auc": null, "n": 3}'
    """

    def render(self, content: Any) -> bytes:
        return jsonsafe.dumps(content, default=str).encode()
