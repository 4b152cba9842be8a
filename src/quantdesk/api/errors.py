"""Map errors to RFC 7807 ``application/problem+json`` responses.

Nothing below ``api/`` raises HTTP errors; the error tree of ``quantdesk.core.errors`` is
translated here, so a bad request is a 4xx with a message a user can act on, never a 500.
"""

from __future__ import annotations

import math
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from quantdesk.core.errors import (
    ConfigError,
    Conflict,
    NotFound,
    OrderRejected,
    PermissionDenied,
    ProviderError,
    QuantdeskError,
    RateLimited,
    StorageError,
    Throttled,
    Unauthenticated,
    ValidationError,
)

PROBLEM_JSON = "application/problem+json"


class ProblemIssue(BaseModel):
    """One problem with the request."""

    location: str
    field: str | None = None
    reason: str


class Problem(BaseModel):
    """An RFC 7807 problem: what went wrong and what to do about it."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[ProblemIssue] | None = None


_DESCRIPTIONS = {
    400: "The body could not be parsed (not valid JSON or form data)",
    401: "Not signed in, or the credentials are invalid or expired",
    403: "Signed in, but the role or API-key scope does not allow this",
    404: "No such resource (also for resources owned by someone else)",
    409: "Conflicts with the current state",
    413: "Request body too large",
    422: "The request breaks a rule; `errors` names each field",
    429: "Too many requests; wait `Retry-After` seconds",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Return OpenAPI ``responses`` entries documenting problem+json errors."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {
            "description": _DESCRIPTIONS[status],
            "model": Problem,
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
        for status in statuses
    }


log = structlog.get_logger("quantdesk.api")

_STATUS: list[tuple[type[QuantdeskError], int, str]] = [
    (ValidationError, 422, "Invalid request"),
    (OrderRejected, 422, "Order rejected"),
    (NotFound, 404, "Not found"),
    (Unauthenticated, 401, "Not authenticated"),
    (PermissionDenied, 403, "Forbidden"),
    (Conflict, 409, "Conflict"),
    (Throttled, 429, "Too many requests"),
    (RateLimited, 503, "Upstream rate limit"),
    (ProviderError, 502, "Upstream data source failed"),
    (StorageError, 503, "Storage unavailable"),
    (ConfigError, 500, "Server misconfigured"),
]


def problem(
    request: Request,
    status: int,
    title: str,
    detail: str,
    **extra: Any,
) -> JSONResponse:
    """Return a problem+json response carrying the request id."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": str(request.url.path),
    }
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


async def _quantdesk_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QuantdeskError)
    status, title = 500, "Internal error"
    for kind, code, name in _STATUS:
        if isinstance(exc, kind):
            status, title = code, name
            break
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationError) and exc.issues:
        extra["errors"] = [
            {"location": i.location, "field": i.field, "reason": i.reason} for i in exc.issues
        ]
    position = getattr(exc, "position", None)
    if isinstance(position, int):
        extra["position"] = position
        caret = getattr(exc, "caret", None)
        if callable(caret):
            extra["caret"] = caret()
    if isinstance(exc, OrderRejected):
        extra["code"] = exc.code
    if isinstance(exc, NotFound) and exc.suggestions:
        extra["suggestions"] = list(exc.suggestions)
    if getattr(exc, "retryable", False):
        extra["retryable"] = True
    if status >= 500:
        log.error("request_failed", error=exc.message, error_type=type(exc).__name__)
    if getattr(exc, "mfa_required", False):
        extra["mfa_required"] = True
    response = problem(request, status, title, exc.message, **extra)
    if isinstance(exc, Unauthenticated):
        response.headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, Throttled):
        response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return response


async def _request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()))
        errors.append({"location": location, "field": None, "reason": error.get("msg", "")})
    detail = "; ".join(f"{e['location']}: {e['reason']}" for e in errors) or "invalid request"
    return problem(request, 422, "Invalid request", detail, errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
    return problem(request, exc.status_code, title, str(exc.detail))


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", error_type=type(exc).__name__)
    return problem(
        request,
        500,
        "Internal error",
        "an unexpected error occurred; the request id identifies it in the server log",
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app``."""
    app.add_exception_handler(QuantdeskError, _quantdesk_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled)
