"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from quantdesk import __version__
from quantdesk.api.deps import RuntimeDep

router = APIRouter(prefix="/health", tags=["health"])


@router.get("")
def read_health() -> dict[str, str]:
    """Report that the process is alive."""
    return {"status": "ok", "version": __version__}


@router.get("/ready", responses={503: {"description": "A store is not ready"}})
def read_readiness(runtime: RuntimeDep) -> JSONResponse:
    """Report whether every store answers; 503 when one does not."""
    checks: dict[str, Any] = runtime.readiness()
    ready = all(check["ok"] for check in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )
