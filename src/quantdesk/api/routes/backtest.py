"""Backtests: submit a run, follow its progress, read its results and HTML tear sheet.

``POST /analysis/backtest`` validates the spec and its data range at once (bad input is a 4xx
and nothing is queued), then runs in the background and answers ``202`` with the run. Callers
see their own runs; administrators see everyone's; another user's run answers 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status
from fastapi.responses import HTMLResponse

from quantdesk.api.deps import API_PREFIX, RuntimeDep, requires
from quantdesk.api.schemas.backtest import (
    BacktestRequest,
    BacktestRunPublic,
    BacktestRunsPublic,
    StrategiesPublic,
    StrategyPublic,
)
from quantdesk.api.security import REPORT_CSP
from quantdesk.auth.models import Principal
from quantdesk.auth.rbac import Permission
from quantdesk.backtest.service import BacktestService
from quantdesk.domain.backtests import RunStatus

router = APIRouter(prefix="/analysis", tags=["backtest"])

RunDep = Annotated[Principal, requires(Permission.BACKTEST_RUN)]
CatalogueDep = Annotated[Principal, requires(Permission.ANALYSIS_RUN)]
RunId = Annotated[str, Path(min_length=1, max_length=40, description="Backtest run id")]


def get_backtest_service(runtime: RuntimeDep) -> BacktestService:
    """Return the backtest service."""
    return runtime.backtests


ServiceDep = Annotated[BacktestService, Depends(get_backtest_service)]


@router.get("/strategies", response_model=StrategiesPublic)
def list_strategies(principal: CatalogueDep, service: ServiceDep) -> StrategiesPublic:
    """The registered strategies with the JSON schema of their typed parameters."""
    return StrategiesPublic(strategies=[StrategyPublic.of(s) for s in service.strategies()])


@router.post("/backtest", response_model=BacktestRunPublic, status_code=status.HTTP_202_ACCEPTED)
def create_backtest(
    body: BacktestRequest, principal: RunDep, service: ServiceDep, response: Response
) -> BacktestRunPublic:
    """Validate the spec and its data, queue the run and return it (status ``queued`` or
    later); follow it at ``Location``."""
    run = service.submit(principal, body)
    response.headers["Location"] = f"{API_PREFIX}/analysis/backtest/{run.id}"
    return BacktestRunPublic.of(run, API_PREFIX)


@router.get("/backtest", response_model=BacktestRunsPublic)
def list_backtests(
    principal: RunDep,
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> BacktestRunsPublic:
    """The caller's newest runs (status and metrics, without the full results)."""
    runs = service.runs(principal, limit=limit)
    return BacktestRunsPublic(runs=[BacktestRunPublic.of(run, API_PREFIX) for run in runs])


@router.get("/backtest/{run_id}", response_model=BacktestRunPublic)
def read_backtest(run_id: RunId, principal: RunDep, service: ServiceDep) -> BacktestRunPublic:
    """Status and progress; once succeeded, the metrics, daily equity, trades and order counts."""
    run = service.get(principal, run_id)
    result = service.result(principal, run_id) if run.status is RunStatus.SUCCEEDED else None
    return BacktestRunPublic.of(run, API_PREFIX, result)


@router.get(
    "/backtest/{run_id}/report",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}, "description": "The HTML tear sheet"}},
)
def read_backtest_report(run_id: RunId, principal: RunDep, service: ServiceDep) -> HTMLResponse:
    """The self-contained HTML tear sheet of a succeeded run (404 until it has one)."""
    path = service.report_path(principal, run_id)
    return HTMLResponse(
        path.read_text(encoding="utf-8"),
        headers={"Content-Security-Policy": REPORT_CSP, "Cache-Control": "private, max-age=0"},
    )
