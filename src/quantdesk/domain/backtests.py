"""Backtest runs: the record of one submitted backtest, its status and where its result is."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["BacktestRun", "RunStatus"]


class RunStatus(StrEnum):
    """Where a run is in its life.

    ``queued`` → ``running`` → ``succeeded`` / ``failed``; a run that was queued or running
    when its process stopped is marked ``interrupted`` at the next start, never left running.
    """

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        """Return whether the run will not change any more."""
        return self in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.INTERRUPTED)


@dataclass(frozen=True, slots=True)
class BacktestRun:
    """One backtest run.

    ``spec`` is the resolved specification (JSON-ready) and ``spec_hash`` its SHA-256, which
    also names the result's artifact directory; ``data_digest`` fingerprints the bars it ran
    on. ``progress`` is in ``[0, 1]``. ``metrics`` holds the headline numbers once the run
    succeeded (JSON-ready: non-finite values are ``None``); ``error`` says why it failed.
    ``owner_id`` is ``None`` for runs started from the command line.
    """

    id: str
    owner_id: str | None
    strategy: str
    symbols: tuple[str, ...]
    spec: dict[str, Any]
    spec_hash: str
    status: RunStatus
    created_at: datetime
    progress: float = 0.0
    data_digest: str | None = None
    synthetic: bool = False
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    reused: bool = False
