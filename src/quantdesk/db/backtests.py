"""The backtest service's store of runs on SQLite or PostgreSQL (SQLAlchemy)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from quantdesk.db.models import BacktestRunRecord
from quantdesk.db.session import aware as _aware
from quantdesk.db.session import make_session_factory, transaction
from quantdesk.domain.backtests import BacktestRun, RunStatus

_UNFINISHED = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)


def _run(row: BacktestRunRecord) -> BacktestRun:
    created = _aware(row.created_at)
    assert created is not None
    return BacktestRun(
        id=row.id,
        owner_id=row.owner_id,
        strategy=row.strategy,
        symbols=tuple(row.symbols),
        spec=dict(row.spec),
        spec_hash=row.spec_hash,
        status=RunStatus(row.status),
        created_at=created,
        progress=row.progress,
        data_digest=row.data_digest,
        synthetic=row.synthetic,
        started_at=_aware(row.started_at),
        finished_at=_aware(row.finished_at),
        error=row.error,
        metrics=dict(row.metrics or {}),
        reused=row.reused,
    )


class SqlBacktestStore:
    """The :class:`~quantdesk.backtest.ports.BacktestStore` on SQLAlchemy."""

    def __init__(self, engine: Engine, sessions: sessionmaker[Session] | None = None) -> None:
        self._sessions = sessions or make_session_factory(engine)

    def add_run(self, run: BacktestRun) -> None:
        """Store a new run."""
        with transaction(self._sessions, "backtest store") as session:
            session.add(
                BacktestRunRecord(
                    id=run.id,
                    owner_id=run.owner_id,
                    strategy=run.strategy,
                    symbols=list(run.symbols),
                    spec=run.spec,
                    spec_hash=run.spec_hash,
                    data_digest=run.data_digest,
                    status=run.status.value,
                    progress=run.progress,
                    synthetic=run.synthetic,
                    reused=run.reused,
                    error=run.error,
                    metrics=run.metrics,
                    created_at=run.created_at,
                    started_at=run.started_at,
                    finished_at=run.finished_at,
                )
            )

    def get_run(self, run_id: str) -> BacktestRun | None:
        """Return the run ``run_id``, or ``None``."""
        with transaction(self._sessions, "backtest store") as session:
            row = session.get(BacktestRunRecord, run_id)
            return None if row is None else _run(row)

    def list_runs(self, owner_id: str | None, *, limit: int) -> Sequence[BacktestRun]:
        """Return the newest runs of ``owner_id`` (every owner's when ``None``), newest first."""
        query = select(BacktestRunRecord)
        if owner_id is not None:
            query = query.where(BacktestRunRecord.owner_id == owner_id)
        query = query.order_by(BacktestRunRecord.created_at.desc(), BacktestRunRecord.id.desc())
        with transaction(self._sessions, "backtest store") as session:
            return [_run(row) for row in session.scalars(query.limit(limit))]

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
        values: dict[str, Any] = {
            "status": None if status is None else status.value,
            "progress": progress,
            "started_at": started_at,
            "finished_at": finished_at,
            "error": error,
            "metrics": metrics,
            "data_digest": data_digest,
            "reused": reused,
        }
        changes = {name: value for name, value in values.items() if value is not None}
        if not changes:
            return
        with transaction(self._sessions, "backtest store") as session:
            session.execute(
                update(BacktestRunRecord).where(BacktestRunRecord.id == run_id).values(**changes)
            )

    def interrupt_unfinished(self, at: datetime) -> int:
        """Mark every queued or running run ``interrupted``; return how many."""
        with transaction(self._sessions, "backtest store") as session:
            result = session.execute(
                update(BacktestRunRecord)
                .where(BacktestRunRecord.status.in_(_UNFINISHED))
                .values(
                    status=RunStatus.INTERRUPTED.value,
                    finished_at=at,
                    error="the process running this backtest stopped before it finished",
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)
