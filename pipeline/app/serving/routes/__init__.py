"""The API's routes, one router per resource (Feast's ``api/registry/rest/`` is the shape):
each module's ``router(...)`` builds an :class:`~fastapi.APIRouter` over what its routes
read, and :func:`~driftline.app.serving.app.create_app` includes them in this order (the
order of the OpenAPI document's paths); the resources under ``/v1``, and again
without it as deprecated aliases (:mod:`driftline.app.serving.deprecation`).

- :mod:`.predictions`: ``GET /v1/predictions/{key}``, ``GET /v1/predictions?keys=``,
  ``POST /v1/predictions:batch``;
- :mod:`.metrics`: ``GET /v1/metrics/model``;
- :mod:`.alerts`: ``GET /v1/alerts``;
- :mod:`.quality`: ``GET /v1/quality``;
- :mod:`.stream`: ``GET /v1/stream/predictions`` (server-sent events);
- :mod:`.probes`: ``GET /livez``, ``GET /readyz``;
- :mod:`.health`: ``GET /health``, the detailed report;
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
    probes,
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
    "probes",
    "prometheus",
    "quality",
    "stream",
]
