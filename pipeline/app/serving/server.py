"""Run the API with uvicorn, in this thread or in a background one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI

from driftline.adapters.redis_clients import is_cluster, make_async_redis, make_redis
from driftline.adapters.settings import Settings
from driftline.app.serving.app import create_app
from driftline.app.serving.predicting import predictor_of
from driftline.core.errors import ServiceUnavailable
from driftline.read.feed import PredictionsFeed
from driftline.read.lag import GroupLag
from driftline.read.reader import PredictionsClient

__all__ = ["ApiServer", "serving_app"]


def serving_app(
    settings: Settings,
    redis_url: str,
    bootstrap: str,
    *,
    stop: threading.Event | None = None,
    local_key: Callable[[], bytes | None] | None = None,
) -> tuple[FastAPI, GroupLag]:
    """The app for a namespace: Redis at ``redis_url`` (a short timeout, so that an outage
    is a quick 503), the group's lag from Kafka at ``bootstrap``. Redis may be down when
    this is called: the app answers 503 until it is back. ``local_key``: the local stack's
    checkpoint key, for ``POST /v1/predict`` when the settings name none."""
    client = make_redis(redis_url, check=False, timeout_s=3.0)
    # the event streams' own client: it connects in the server's event loop, on first use
    waiting = make_async_redis(redis_url, cluster=is_cluster(client), timeout_s=3.0)
    kafka = settings.kafka.at(bootstrap)
    lag = GroupLag(kafka, settings.topics.events, settings.topics.consumer_group)
    reader = PredictionsClient(client, settings.namespace)
    feed = PredictionsFeed(waiting, settings.namespace)
    predictor = predictor_of(settings, client, lambda: len(lag.read()), local_key)
    app = create_app(
        reader, lag.read, feed=feed, namespace=settings.namespace, stop=stop, predictor=predictor
    )
    return app, lag


class _Server(uvicorn.Server):
    """uvicorn's server, which also ends the app's open event streams as soon as it is
    asked to stop: they end within a second (their ``XREAD`` wait), before the graceful
    shutdown's timeout would cancel them mid-response."""

    def __init__(self, config: uvicorn.Config, streams: threading.Event) -> None:
        super().__init__(config)
        self.streams = streams

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.streams.set()
        super().handle_exit(sig, frame)


class ApiServer:
    """uvicorn serving ``app`` on ``host:port`` (port 0: any free one, see :attr:`url`).

    ``app.state.stop`` (set by :func:`~driftline.app.serving.app.create_app`) is set when
    the server stops, which ends the open event streams."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 8000) -> None:
        self.host = host
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,  # open event streams end after this
            server_header=False,
        )
        streams = getattr(app.state, "stop", None) or threading.Event()
        self.server = _Server(config, streams)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        sockets = [s for server in self.server.servers for s in server.sockets]
        return int(sockets[0].getsockname()[1]) if sockets else self.server.config.port

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}/"

    def run(self) -> None:
        """Serve in this thread until SIGINT or SIGTERM."""
        self.server.run()

    def start(self, timeout_s: float = 15.0) -> str:
        """Serve in a daemon thread; return the URL once it listens."""
        self._thread = threading.Thread(target=self.server.run, name="driftline-serve", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self._thread.is_alive():
                raise ServiceUnavailable(
                    f"the HTTP server did not start on {self.host}:{self.server.config.port} "
                    "(is the port taken?)"
                )
            if time.monotonic() > deadline:
                raise ServiceUnavailable(f"the HTTP server did not start within {timeout_s:g} s")
            time.sleep(0.02)  # polling a flag uvicorn sets; it offers no event to wait on
        return self.url

    def stop(self) -> None:
        self.server.streams.set()
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> ApiServer:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
