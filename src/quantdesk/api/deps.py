"""FastAPI dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from quantdesk.config import Settings
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
