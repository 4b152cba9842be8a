"""What the backtest service needs from persistence: a store of runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from quantdesk.domain.backtests import BacktestRun, RunStatus

__all__ = ["BacktestStore"]


class BacktestStore(Protocol):
    """Relational store of backtest runs (status, progress, spec, headline metrics).

    Every method is one transaction. Results themselves are artifacts on disk, keyed by the
    spec hash; the store only points at them through ``spec_hash``.
    """

    def add_run(self, run: BacktestRun) -> None:
        """Store a new run."""

    def get_run(self, run_id: str) -> BacktestRun | None:
        """Return the run ``run_id``, or ``None``."""

    def list_runs(self, owner_id: str | None, *, limit: int) -> Sequence[BacktestRun]:
        """Return the newest runs of ``owner_id`` (every owner's when ``None``), newest first."""

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        progress: float | None = None,
        started_at: datetime | None = None,
        finished_at: datetime | None = None,
        error: str | None = None,
        metrics: dict[str, Any] | None = None,
        data_digest: str | None = None,
        reused: bool | None = None,
    ) -> None:
        """Change the given fields of run ``run_id`` (``None`` leaves a field as it is)."""

    def interrupt_unfinished(self, at: datetime) -> int:
        """Mark every queued or running run ``interrupted``; return how many."""
