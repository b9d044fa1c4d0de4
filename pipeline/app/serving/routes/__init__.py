"""The API's routes, one router per resource (Feast's ``api/registry/rest/`` is the shape):
each module's ``router(...)`` builds an :class:`~fastapi.APIRouter` over what its routes
read, and :func:`~driftline.app.serving.app.create_app` includes them in this order (the
order of the OpenAPI document's paths).

- :mod:`.predictions`: ``GET /predictions/{key}``, ``GET /predictions?keys=``;
- :mod:`.metrics`: ``GET /metrics/model``;
- :mod:`.alerts`: ``GET /alerts``;
- :mod:`.quality`: ``GET /quality``;
- :mod:`.health`: ``GET /health``;
- :mod:`.stream`: ``GET /stream/predictions`` (server-sent events);
- :mod:`.prometheus`: ``GET /metrics``, the Prometheus exposition;
- :mod:`.dashboard`: ``GET /`` and the vendored files under ``/static``.

The route modules do not import ``annotations`` from ``__future__``: FastAPI reads the
routes' annotations, which use names of their router's scope.
"""

from driftline.app.serving.routes import (
    alerts,
    dashboard,
    health,
    metrics,
    predictions,
    prometheus,
    quality,
    stream,
)

__all__ = [
    "alerts",
    "dashboard",
    "health",
    "metrics",
    "predictions",
    "prometheus",
    "quality",
    "stream",
]
