"""FastAPI dependencies."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from quantdesk.auth.models import AuditContext, Principal
from quantdesk.auth.rbac import ROLE_PERMISSIONS, Permission
from quantdesk.auth.service import AuthService
from quantdesk.config import Settings
from quantdesk.core.errors import PermissionDenied, Throttled, Unauthenticated
from quantdesk.data.service import MarketDataService
from quantdesk.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    """Return the application's runtime."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_market(runtime: Annotated[Runtime, Depends(get_runtime)]) -> MarketDataService:
    """Return the market-data service."""
    return runtime.market


def get_settings(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Settings:
    """Return the effective settings."""
    return runtime.settings


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
MarketDep = Annotated[MarketDataService, Depends(get_market)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


# -- accounts and access control -------------------------------------------------------------

API_PREFIX = "/api/v1"

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl=f"{API_PREFIX}/auth/token",
    auto_error=False,
    description="Sign in with email and password (add the one-time code when MFA is on).",
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key created under /api-keys."
)


def get_auth(runtime: RuntimeDep) -> AuthService:
    """Return the account service."""
    return runtime.auth


AuthDep = Annotated[AuthService, Depends(get_auth)]


def audit_context(request: Request) -> AuditContext:
    """Return where the request came from, for the audit log."""
    return AuditContext(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        request_id=getattr(request.state, "request_id", None),
    )


AuditContextDep = Annotated[AuditContext, Depends(audit_context)]


def current_principal(
    request: Request,
    runtime: RuntimeDep,
    token: Annotated[str | None, Security(oauth2_scheme)],
    api_key: Annotated[str | None, Security(api_key_scheme)],
) -> Principal:
    """Return the signed-in caller and count the request against their rate limit.

    Requests without valid credentials count against the caller's IP before the 401.
    """
    try:
        if api_key:
            principal = runtime.auth.authenticate_api_key(api_key)
        elif token:
            principal = runtime.auth.authenticate_token(token)
        else:
            raise Unauthenticated(
                "not signed in: send 'Authorization: Bearer <access token>' (POST "
                f"{API_PREFIX}/auth/token) or an 'X-API-Key' header"
            )
    except Unauthenticated:
        apply_rate_limit(request, runtime, None)
        raise
    request.state.principal = principal
    apply_rate_limit(request, runtime, principal)
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def requires(permission: Permission) -> Any:
    """Return a dependency that lets the call through only with ``permission``.

    Every protected route declares one; ``create_app`` refuses to start when a route under the
    protected router has none, and the authorization-matrix test reads it back.
    """

    def check(principal: PrincipalDep) -> Principal:
        if not principal.can(permission):
            role_allows = permission in ROLE_PERMISSIONS[principal.role]
            if role_allows and principal.permissions == frozenset({Permission.ACCOUNT}):
                detail = (
                    f"your role must use MFA before '{permission.value}'; enrol under "
                    f"{API_PREFIX}/auth/mfa first"
                )
            elif role_allows and principal.via == "api_key":
                detail = f"this API key's scopes do not include '{permission.value}'"
            else:
                detail = f"your role ({principal.role.value}) does not allow '{permission.value}'"
            raise PermissionDenied(detail)
        return principal

    check.permission = permission  # type: ignore[attr-defined]
    return Depends(check)


def rate_limit(request: Request, runtime: RuntimeDep) -> None:
    """Count a public route's request against the caller's IP."""
    apply_rate_limit(request, runtime, None)


def apply_rate_limit(request: Request, runtime: Runtime, principal: Principal | None) -> None:
    """Count the request against the caller's limit (per user, or per IP when anonymous) and
    its route group; raise :class:`Throttled` when it is spent."""
    limiter = runtime.rate_limiter
    route = request.scope.get("route")
    path = str(getattr(route, "path", request.url.path)).removeprefix(API_PREFIX)
    group = path.strip("/").split("/", 1)[0] or "default"
    if group == "auth" and principal is not None:
        group = "account"  # the signed-in /auth routes; "auth" is for sign-in attempts
    if principal is not None:
        identity, tier = f"user:{principal.user_id}", principal.tier
    else:
        identity, tier = f"ip:{request.client.host if request.client else 'unknown'}", None
    decision = limiter.check(identity, tier=tier, group=group)
    request.scope.setdefault("state", {})["rate_limit_headers"] = {
        k: v for k, v in limiter.headers(decision).items() if k.lower() != "retry-after"
    }
    if not decision.allowed:
        wait = decision.retry_after or 1.0
        raise Throttled(
            f"rate limit of {decision.limit} requests exceeded for this route group; retry in "
            f"{max(1, math.ceil(wait))} s",
            retry_after=wait,
        )
