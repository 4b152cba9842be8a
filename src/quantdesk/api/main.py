"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute, iter_route_contexts

from quantdesk import __version__
from quantdesk.api.deps import API_PREFIX, current_principal
from quantdesk.api.errors import install_error_handlers, problem_responses
from quantdesk.api.middleware import RequestIdMiddleware
from quantdesk.api.routes import (
    analysis,
    audit,
    auth,
    backtest,
    fx,
    health,
    keys,
    market,
    ml,
    portfolio,
    risk,
    sentiment,
    users,
)
from quantdesk.api.security import BodySizeLimitMiddleware, SecurityHeadersMiddleware
from quantdesk.auth.rbac import Permission
from quantdesk.config import Settings
from quantdesk.runtime import Runtime, build_runtime

PUBLIC_ROUTERS: tuple[APIRouter, ...] = (health.router, auth.public_router)
"""Routers reachable without credentials. Everything else sits behind sign-in."""

PROTECTED_ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    users.router,
    keys.router,
    audit.router,
    market.router,
    analysis.router,
    backtest.router,
    risk.router,
    portfolio.router,
    ml.router,
    fx.router,
    sentiment.ml_router,
    sentiment.router,
)
"""Routers that need a signed-in caller; each route also declares the permission it needs."""


@dataclass(frozen=True, slots=True)
class RouteInfo:
    """An API route as served: full path, methods and its resolved dependencies."""

    path: str
    methods: frozenset[str]
    dependant: Dependant | None
    endpoint: Callable[..., Any] | None


def api_routes(app: FastAPI) -> list[RouteInfo]:
    """Return every API route of ``app`` with its effective (router-merged) dependencies."""
    found = []
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute) or context.path is None:
            continue
        found.append(
            RouteInfo(
                path=context.path,
                methods=frozenset(context.methods or ()),
                dependant=getattr(context, "dependant", None),
                endpoint=context.endpoint,
            )
        )
    return found


def _dependency_calls(route: RouteInfo) -> list[Any]:
    calls = []
    pending = list(route.dependant.dependencies) if route.dependant else []
    while pending:
        dependant = pending.pop()
        calls.append(dependant.call)
        pending.extend(dependant.dependencies)
    return calls


def route_permission(route: RouteInfo) -> Permission | None:
    """Return the permission a route declares through :func:`quantdesk.api.deps.requires`."""
    for call in _dependency_calls(route):
        permission = getattr(call, "permission", None)
        if isinstance(permission, Permission):
            return permission
    return None


def is_public(route: RouteInfo) -> bool:
    """Return whether ``route`` comes from one of :data:`PUBLIC_ROUTERS`."""
    endpoints = {getattr(r, "endpoint", None) for router in PUBLIC_ROUTERS for r in router.routes}
    return route.endpoint in endpoints


def _check_policies(routes: list[RouteInfo]) -> None:
    """Refuse to start when an API route outside the public routers lacks sign-in or does not
    declare its permission."""
    for route in routes:
        if not route.path.startswith(API_PREFIX) or is_public(route):
            continue
        where = f"route {sorted(route.methods)} {route.path}"
        if current_principal not in _dependency_calls(route):
            raise RuntimeError(f"{where} is not behind sign-in; add it to PROTECTED_ROUTERS")
        if route_permission(route) is None:
            raise RuntimeError(
                f"{where} declares no permission; add requires(Permission.X) to it "
                "(see quantdesk.auth.rbac)"
            )


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
        app.state.runtime.recover()
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
    app.add_middleware(SecurityHeadersMiddleware)
    if settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
            expose_headers=[
                "x-request-id",
                "ratelimit-limit",
                "ratelimit-remaining",
                "ratelimit-reset",
                "retry-after",
            ],
        )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.security.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)

    public = APIRouter(
        prefix=API_PREFIX, responses=problem_responses(400, 401, 403, 409, 413, 422, 429)
    )
    for router in PUBLIC_ROUTERS:
        public.include_router(router)
    protected = APIRouter(
        prefix=API_PREFIX,
        dependencies=[Depends(current_principal)],
        responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 429),
    )
    for router in PROTECTED_ROUTERS:
        protected.include_router(router)
    app.include_router(public)
    app.include_router(protected)
    _check_policies(api_routes(app))
    return app
