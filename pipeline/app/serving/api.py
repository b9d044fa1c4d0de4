"""The HTTP API of ``driftline serve``: predictions, metrics, health, a live stream.

An ASGI app (FastAPI) that only translates: every read goes through
:class:`~driftline.read.reader.PredictionsClient` (Redis) or
:class:`~driftline.read.lag.GroupLag` (Kafka), and the app turns answers into
JSON and failures into JSON errors with the right status: an unknown key is 404, a
malformed query 422, too many keys 413, a service that does not answer 503, anything
else 500 (logged here, never sent). Each error has the same shape, ``{"error": <code>,
"detail": <one sentence>}``. The OpenAPI description is at ``/openapi.json`` and ``/docs``.

Routes (``create_app``):

- ``GET /predictions/{key}``: the latest prediction of one entity;
- ``GET /predictions?keys=a,b,c``: many at once, one Redis round trip;
- ``GET /metrics/model``: totals, per model and per task (``history=true``: the time series);
- ``GET /alerts``: drift alarms, promotions and rollbacks, newest first;
- ``GET /health``: Redis and Kafka reachable, the group's lag, the last prediction's age;
- ``GET /stream/predictions``: server-sent events of new predictions, resumed after the
  ``Last-Event-ID`` a client sends back (or ``?after=``); read with ``await`` from
  :class:`~driftline.read.feed.PredictionsFeed`, so an idle stream holds no worker thread, and
  at most ``max_streams`` at once (beyond: 503 ``too_many_streams``);
- ``GET /metrics``: the Prometheus exposition of every task;
- ``GET /``: the dashboard (:mod:`driftline.app.serving.static`).
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations, which
# use names of create_app's scope.
import logging
import re
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import resources
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import CollectorRegistry
from prometheus_client.exposition import generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from driftline.adapters.prediction_record import StreamEntry
from driftline.adapters.prometheus import SnapshotCollector
from driftline.core import jsonsafe
from driftline.core.errors import ServiceUnavailable
from driftline.read.feed import PredictionsFeed
from driftline.read.reader import PredictionsClient

__all__ = ["MAX_KEYS", "MAX_STREAMS", "ApiError", "create_app"]

log = logging.getLogger(__name__)

#: The most keys one ``GET /predictions?keys=`` may ask for (more: 413).
MAX_KEYS = 1000
#: The most event streams open at once (more: 503). Each holds a Redis connection while it
#: waits (no thread): the bound keeps idle clients from filling Redis's connection limit.
MAX_STREAMS = 1000
#: An entity key as a query list carries it: printable, no comma, at most 256 characters.
_KEY = re.compile(r"[^\x00-\x1f\x7f,]{1,256}")
#: A stream entry id, ``<ms>-<seq>``.
_ENTRY_ID = re.compile(r"\d{1,20}-\d{1,20}")


class ApiError(Exception):
    """An error the API answers with ``status`` and ``{"error": code, "detail": ...}``."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


def _error(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail, **extra}, status_code=status)


class _SafeJSON(JSONResponse):
    """JSON without NaN or Infinity (``null`` instead), as every driftline output."""

    def render(self, content: Any) -> bytes:
        return jsonsafe.dumps(content, default=str).encode()


def _resume_point(
    after: Annotated[
        str | None, Query(description="resume after this entry id (<ms>-<seq>)")
    ] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> str | None:
    """Where a stream resumes: the ``Last-Event-ID`` a reconnecting client sends, else
    ``after``; checked before the stream starts (a 422 cannot follow a 200)."""
    resume = last_event_id or after
    if resume is not None and not _ENTRY_ID.fullmatch(resume):
        raise ApiError(422, "invalid_request", f"not a stream entry id: {resume[:40]!r}")
    return resume


def create_app(
    reader: PredictionsClient,
    lag: Callable[[], dict[int, int]] | None = None,
    *,
    feed: PredictionsFeed,
    namespace: str = "driftline",
    max_keys: int = MAX_KEYS,
    max_streams: int = MAX_STREAMS,
    stream_block_ms: int = 1000,
    stop: threading.Event | None = None,
) -> FastAPI:
    """The app over ``reader`` (Redis), ``feed`` (the predictions stream, read with
    ``await``; closed when the app shuts down, in its event loop) and ``lag`` (the group's
    lag per partition, from Kafka; ``None``: not reported). ``stop`` ends open event
    streams (server shutdown)."""
    stopping = stop or threading.Event()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await feed.aclose()

    app = FastAPI(
        title="driftline",
        summary="Real-time predictions and the model's metrics, from Redis.",
        version="1",
        default_response_class=_SafeJSON,
        lifespan=lifespan,
    )
    app.state.stop = stopping  # set by the server when it stops: open streams end
    app.state.open_streams = 0

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.detail)

    @app.exception_handler(ServiceUnavailable)
    async def _unavailable(_request: Request, exc: ServiceUnavailable) -> JSONResponse:
        return _error(503, "unavailable", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"where": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()
        ]
        first = problems[0] if problems else {"where": "request", "problem": "invalid"}
        detail = f"{first['where']}: {first['problem']}"
        return _error(422, "invalid_request", detail, problems=problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return _error(500, "internal_error", "the server failed on this request (see its log)")

    # ``{key:path}``: a key may hold ``/`` (sent as ``%2F``, which the server decodes
    # before routing), so the rest of the path is the key.
    @app.get("/predictions/{key:path}", tags=["predictions"])
    def prediction(key: Annotated[str, Path(min_length=1, max_length=256)]) -> dict[str, Any]:
        """The latest prediction for one entity key, which may contain ``/`` (404 when it
        has none)."""
        found = reader.get(key)
        if found is None:
            raise ApiError(404, "not_found", f"no prediction for key {key!r}")
        return found.to_dict()

    @app.get("/predictions", tags=["predictions"])
    def predictions(
        keys: Annotated[
            str,
            Query(
                min_length=1,
                description=f"entity keys separated by commas (at most {max_keys})",
            ),
        ],
    ) -> dict[str, Any]:
        """The latest predictions of several keys, in one Redis round trip: found ones
        under ``predictions``, the others listed in ``missing``."""
        wanted = keys.split(",")
        if len(wanted) > max_keys:
            raise ApiError(
                413, "too_many_keys", f"{len(wanted)} keys asked; at most {max_keys} at once"
            )
        bad = [k for k in wanted if not _KEY.fullmatch(k)]
        if bad:
            raise ApiError(
                422,
                "invalid_request",
                f"keys: {len(bad)} key(s) empty, too long or with control characters "
                f"(first: {bad[0][:40]!r})",
            )
        found = reader.get_many(wanted)
        unique = list(dict.fromkeys(wanted))
        return {
            "predictions": {k: found[k].to_dict() for k in unique if k in found},
            "missing": [k for k in unique if k not in found],
        }

    @app.get("/metrics/model", tags=["metrics"])
    def model_metrics(
        history: Annotated[bool, Query(description="add the event-time time series")] = False,
        window: Annotated[
            float | None, Query(gt=0, description="with history: only windows of this length (s)")
        ] = None,
        model: Annotated[
            str | None, Query(max_length=128, description="with history: only this model")
        ] = None,
    ) -> dict[str, Any]:
        """The models' prequential metrics: ``total``, per model (``models``) and per task
        (``tasks``), as ``driftline metrics --json``; with ``history``, ``series`` as
        ``driftline metrics --history --json``."""
        data = reader.metrics()
        if history:
            data["series"] = reader.series(window, model)
        return data

    @app.get("/alerts", tags=["metrics"])
    def alerts(
        count: Annotated[int, Query(ge=1, le=10_000)] = 50,
        kind: Annotated[str | None, Query(max_length=32)] = None,
    ) -> dict[str, Any]:
        """Drift alarms, promotions and rollbacks with their evidence, newest first."""
        return {"alerts": reader.alerts(count, kind)}

    @app.get("/quality", tags=["metrics"])
    def quality(
        log: Annotated[int, Query(ge=0, le=10_000)] = 50,
        after: Annotated[str | None, Query(pattern=r"^\d+(-\d+)?$")] = None,
    ) -> dict[str, Any]:
        """Data quality in four dimensions (the totals of ``driftline quality``) and the
        quality log: the newest ``log`` findings, or those after the stream id ``after``."""
        total = reader.metrics()["total"]
        return {
            "quality": total.get("quality"),
            "watermark_lag_s": total.get("watermark_lag_s"),
            "log": reader.quality_log(log, after) if log else [],
        }

    @app.get("/health", tags=["service"])
    def health() -> JSONResponse:
        """Redis and Kafka reachable, the consumer group's lag per partition, and the age
        of the newest prediction. 200 when Redis answers (Kafka down is ``degraded``:
        predictions are still served), 503 when Redis does not."""
        body: dict[str, Any] = {"namespace": namespace}
        status = 200
        try:
            body["redis"] = {"reachable": True} | reader.freshness()
        except ServiceUnavailable as exc:
            body["redis"] = {"reachable": False, "error": str(exc)}
            status = 503
        if lag is None:
            body["kafka"] = {"reachable": None}
        else:
            try:
                lags = lag()
                body["kafka"] = {
                    "reachable": True,
                    "lag": {str(p): n for p, n in sorted(lags.items())},
                    "total_lag": sum(lags.values()),
                }
            except ServiceUnavailable as exc:
                body["kafka"] = {"reachable": False, "error": str(exc)}
        kafka_ok = body["kafka"]["reachable"] is not False
        body["status"] = "ok" if status == 200 and kafka_ok else "degraded"
        if status != 200:
            body["status"] = "unavailable"
        return _SafeJSON(body, status_code=status)

    async def stream_slot() -> AsyncIterator[None]:
        """One of the ``max_streams`` open streams, held until the response ends (the
        event loop's one thread counts them: no lock)."""
        if app.state.open_streams >= max_streams:
            raise ApiError(
                503, "too_many_streams", f"{max_streams} event streams are open; retry later"
            )
        app.state.open_streams += 1
        try:
            yield
        finally:
            app.state.open_streams -= 1

    async def stream_start(
        resume: Annotated[str | None, Depends(_resume_point)],
    ) -> AsyncIterator[StreamEntry]:
        """Where the stream starts, fixed before the response begins (a Redis that does
        not answer is a 503, not a stream that breaks off)."""
        if resume:
            return await feed.follow_after(resume, block_ms=stream_block_ms, stop=stopping.is_set)
        return await feed.follow(block_ms=stream_block_ms, stop=stopping.is_set)

    @app.get(
        "/stream/predictions",
        response_class=EventSourceResponse,
        tags=["predictions"],
        dependencies=[Depends(stream_slot, scope="request")],  # first: before Redis is asked
    )
    async def stream(
        entries: Annotated[AsyncIterator[StreamEntry], Depends(stream_start)],
    ) -> AsyncIterator[ServerSentEvent]:
        """New predictions as server-sent events (``event: prediction``, ``id``: the
        stream entry id). A client that reconnects sends ``Last-Event-ID`` and gets every
        entry after it that Redis still keeps; without one, only newer predictions. An
        idle stream waits in the event loop, holding no thread; beyond ``max_streams``
        open ones the answer is 503 ``too_many_streams``."""
        yield ServerSentEvent(comment="driftline predictions")
        try:
            async for entry in entries:
                yield ServerSentEvent(data=entry.to_dict(), event="prediction", id=entry.id)
        except ServiceUnavailable as exc:  # Redis went away: end; the client resumes later
            log.warning("an event stream ended: %s", exc)

    @app.get("/metrics", tags=["metrics"], response_class=Response)
    def prometheus() -> Response:
        """Every task's figures in the Prometheus text format (as each worker's own
        ``--metrics-port`` names them, read from Redis)."""
        snapshots = list(reader.task_metrics().values())  # a Redis outage: 503 above
        registry = CollectorRegistry(auto_describe=False)
        registry.register(SnapshotCollector(lambda: snapshots))
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    static = resources.files("driftline.app.serving") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(str(static / "index.html"), media_type="text/html")

    return app
