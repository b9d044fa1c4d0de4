"""``driftline serve``: the HTTP API, the Prometheus exposition and the dashboard.

:func:`~driftline.app.serving.app.create_app` assembles the ASGI app from one router per
resource (:mod:`driftline.app.serving.routes`) over a read client, the API's resources
under :data:`V1` (``/v1``), typed (:mod:`.models`), failing as RFC 9457 problems
(:mod:`.errors`);
:class:`~driftline.app.serving.server.ApiServer` runs it with uvicorn (in this thread for
``driftline serve``, in a background thread for ``driftline demo --serve`` and tests).
The page and its charting library (uPlot, vendored under ``static/``) are served by the
same app: nothing is fetched from elsewhere at run time.
"""

from driftline.app.serving.app import MAX_KEYS, MAX_STREAMS, V1, create_app
from driftline.app.serving.errors import ApiError, ErrorCode, Problem
from driftline.app.serving.server import ApiServer, serving_app

__all__ = [
    "MAX_KEYS",
    "MAX_STREAMS",
    "V1",
    "ApiError",
    "ApiServer",
    "ErrorCode",
    "Problem",
    "create_app",
    "serving_app",
]
