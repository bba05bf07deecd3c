"""What every system's FastAPI app shares: problem+json, body limit, auth, health and metrics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from derbridge.config import Settings
from derbridge.web.auth import Authenticator, callers_of, require
from derbridge.web.problems import BodyLimit, RejectionKeeper, install_problem_handlers


def authenticator_for(settings: Settings, system: str) -> Authenticator:
    return Authenticator(callers_of(settings, system))


def new_app(system: str, settings: Settings, lifespan: Any, keep_rejected: RejectionKeeper | None = None,
            description: str = "", file_paths: tuple[str, ...] = ()) -> tuple[FastAPI, Authenticator]:
    """A system's app; endpoints under `file_paths` take uploaded files (web/uploads.py), not JSON."""
    app = FastAPI(title=f"derbridge {system}", version=_version(), lifespan=lifespan, description=description,
                  openapi_url=None, docs_url=None, redoc_url=None)
    authenticator = authenticator_for(settings, system)
    app.include_router(documentation(app, authenticator))
    install_problem_handlers(app, authenticator, keep_rejected)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, streamed_prefixes=file_paths)
    return app, authenticator


def documentation(app: FastAPI, authenticator: Authenticator) -> APIRouter:
    """OpenAPI and its browsable page, behind the same credentials as everything else."""
    router = APIRouter(dependencies=[Depends(require(authenticator))], include_in_schema=False)

    @router.get("/openapi.json")
    def openapi() -> dict[str, Any]:
        return app.openapi()

    @router.get("/docs")
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} API")

    return router


def health_and_metrics(authenticator: Authenticator, system: str, registry: CollectorRegistry | None,
                       checks: Callable[[], dict[str, Any]] | None = None) -> APIRouter:
    router = APIRouter(dependencies=[Depends(require(authenticator))], tags=["operations"])

    @router.get("/health", summary="Liveness and readiness")
    def health() -> dict[str, Any]:
        return {"status": "ok", "system": system, **(checks() if checks else {})}

    @router.get("/metrics", summary="Prometheus metrics")
    def metrics() -> Response:
        payload = generate_latest(registry) if registry is not None else b""
        return Response(payload, media_type=CONTENT_TYPE_LATEST)

    return router


def _version() -> str:
    import derbridge

    return derbridge.__version__
