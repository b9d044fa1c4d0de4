"""The paths from before ``/v1`` (``/predictions/{key}``, ``/metrics/model``...), kept
as aliases of their ``/v1`` successors: same answers, outside the OpenAPI document, and
marked as deprecated on every answer (RFC 9745's ``Deprecation``, RFC 8594's ``Link``
with ``rel="successor-version"``), errors included.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DEPRECATED_SINCE", "LEGACY_PATHS", "DeprecatedAliases", "is_alias"]

#: The paths of the aliases: each one exactly, or followed by ``/`` and more.
LEGACY_PATHS = ("/predictions", "/metrics/model", "/alerts", "/quality", "/stream/predictions")

#: When they were deprecated (issue 22), 2026-12-06T00:00:00Z, as RFC 9745 writes it.
DEPRECATED_SINCE = "@1796515200"


def is_alias(path: str) -> bool:
    """Whether ``path`` is one of the aliases from before ``/v1``.

    >>> [is_alias(p) for p in ("/predictions/N1", "/predictions", "/alerts", "/v1/alerts")]
    [True, True, True, False]
    >>> is_alias("/metrics"), is_alias("/predictionsX"), is_alias("/health")
    (False, False, False)
    """
    return any(path == p or path.startswith(p + "/") for p in LEGACY_PATHS)


class DeprecatedAliases:
    """ASGI middleware: the answers of an alias carry ``Deprecation`` and a ``Link`` to
    the same path under ``prefix``."""

    def __init__(self, app: ASGIApp, prefix: str = "/v1") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_alias(scope["path"]):
            await self.app(scope, receive, send)
            return
        raw = scope.get("raw_path") or scope["path"].encode()
        successor = self.prefix.encode() + raw.split(b"?", 1)[0]

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"deprecation", DEPRECATED_SINCE.encode()))
                headers.append((b"link", b"<" + successor + b'>; rel="successor-version"'))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, marked)
