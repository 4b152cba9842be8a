"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from quantdesk import __version__
from quantdesk.api.errors import install_error_handlers
from quantdesk.api.middleware import RequestIdMiddleware
from quantdesk.api.routes import analysis, health, market
from quantdesk.config import Settings
from quantdesk.runtime import Runtime, build_runtime

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """Return the quantdesk API.

    Give ``runtime`` to serve an already wired object graph (tests, embedding); otherwise the
    runtime is built from ``settings`` at start-up and closed at shutdown.
    """
    settings = runtime.settings if runtime is not None else (settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        app.state.runtime = runtime if runtime is not None else build_runtime(settings)
        try:
            yield
        finally:
            if owned:
                app.state.runtime.close()

    app = FastAPI(
        title="quantdesk",
        version=__version__,
        summary="Investment decision support: market data, analytics, portfolio and risk.",
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/docs",
        redoc_url="/redoc",
    )
    if runtime is not None:
        app.state.runtime = runtime
    install_error_handlers(app)
    if settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["x-request-id"],
        )
    app.add_middleware(RequestIdMiddleware)
    api = APIRouter(prefix=API_PREFIX)
    api.include_router(health.router)
    api.include_router(market.router)
    api.include_router(analysis.router)
    app.include_router(api)
    return app
