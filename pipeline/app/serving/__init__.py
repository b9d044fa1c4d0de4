"""``driftline serve``: the HTTP API, the Prometheus exposition and the dashboard.

:func:`~driftline.app.serving.api.create_app` builds the ASGI app over a read client;
:class:`~driftline.app.serving.server.ApiServer` runs it with uvicorn (in this thread for
``driftline serve``, in a background thread for ``driftline demo --serve`` and tests).
The page and its charting library (uPlot, vendored under ``static/``) are served by the
same app: nothing is fetched from elsewhere at run time.
"""

from driftline.app.serving.api import MAX_KEYS, ApiError, create_app
from driftline.app.serving.server import ApiServer, serving_app

__all__ = ["MAX_KEYS", "ApiError", "ApiServer", "create_app", "serving_app"]
