"""``/``: the dashboard, and its files (uPlot vendored) under ``/static``: nothing is
fetched from elsewhere at run time."""

# No ``from __future__ import annotations``: see driftline.app.serving.routes.
from importlib import resources

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["add_dashboard"]

#: The page, its script and styles, and the charting library.
STATIC = resources.files("driftline.app.serving") / "static"


def add_dashboard(app: FastAPI) -> None:
    """Serve the dashboard at ``/`` and its files at ``/static`` (outside the OpenAPI
    document)."""
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.include_router(router())


def router() -> APIRouter:
    """The dashboard's page."""
    routes = APIRouter()

    @routes.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"), media_type="text/html")

    return routes
