"""The backtest-runs migration and ``SqlBacktestStore`` on SQLite and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect

from quantdesk.auth.models import UserAccount
from quantdesk.auth.rbac import Role
from quantdesk.db import make_engine, upgrade
from quantdesk.db.accounts import SqlAuthStore
from quantdesk.db.backtests import SqlBacktestStore
from quantdesk.db.migrate import alembic_config
from quantdesk.domain.backtests import BacktestRun, RunStatus

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'qd.db'}"
    else:
        url = request.getfixturevalue("postgres_schema")
    created = make_engine(url)
    yield created
    created.dispose()


@pytest.fixture
def store(engine: Engine) -> SqlBacktestStore:
    upgrade(engine)
    with SqlAuthStore(engine).transaction() as uow:
        for name in ("ada", "bob"):
            uow.add_user(
                UserAccount(
                    id=f"usr_{name}",
                    email=f"{name}@example.com",
                    display_name=name,
                    role=Role.ANALYST,
                    password_hash="-",
                    created_at=NOW,
                )
            )
    return SqlBacktestStore(engine)


def _run(run_id: str, owner: str | None, minutes: int, status: RunStatus) -> BacktestRun:
    return BacktestRun(
        id=run_id,
        owner_id=owner,
        strategy="sma_cross",
        symbols=("AAPL", "MSFT"),
        spec={"strategy": "sma_cross", "params": {"fast": 10, "slow": 30}, "capital": 1e5},
        spec_hash="a" * 64,
        status=status,
        created_at=NOW + timedelta(minutes=minutes),
    )


def test_round_trip_and_updates(store: SqlBacktestStore) -> None:
    store.add_run(_run("bt_1", "usr_ada", 0, RunStatus.QUEUED))
    store.update_run(
        "bt_1",
        status=RunStatus.SUCCEEDED,
        progress=1.0,
        started_at=NOW,
        finished_at=NOW + timedelta(seconds=3),
        metrics={"sharpe": 1.25, "profit_factor": None},
        reused=True,
    )
    run = store.get_run("bt_1")
    assert run is not None
    assert run.status is RunStatus.SUCCEEDED
    assert run.progress == 1.0
    assert run.metrics == {"sharpe": 1.25, "profit_factor": None}
    assert run.symbols == ("AAPL", "MSFT")
    assert run.spec["params"] == {"fast": 10, "slow": 30}
    assert run.finished_at == NOW + timedelta(seconds=3)
    assert run.finished_at.tzinfo is not None
    assert run.reused is True
    assert store.get_run("bt_missing") is None


def test_list_is_newest_first_and_per_owner(store: SqlBacktestStore) -> None:
    store.add_run(_run("bt_a", "usr_ada", 0, RunStatus.SUCCEEDED))
    store.add_run(_run("bt_b", "usr_bob", 1, RunStatus.SUCCEEDED))
    store.add_run(_run("bt_c", "usr_ada", 2, RunStatus.FAILED))
    store.add_run(_run("bt_d", None, 3, RunStatus.SUCCEEDED))
    assert [r.id for r in store.list_runs("usr_ada", limit=10)] == ["bt_c", "bt_a"]
    assert [r.id for r in store.list_runs(None, limit=3)] == ["bt_d", "bt_c", "bt_b"]


def test_unfinished_runs_become_interrupted(store: SqlBacktestStore) -> None:
    store.add_run(_run("bt_q", "usr_ada", 0, RunStatus.QUEUED))
    store.add_run(_run("bt_r", "usr_ada", 1, RunStatus.RUNNING))
    store.add_run(_run("bt_s", "usr_ada", 2, RunStatus.SUCCEEDED))
    assert store.interrupt_unfinished(NOW) == 2
    statuses = {r.id: r.status for r in store.list_runs("usr_ada", limit=10)}
    assert statuses == {
        "bt_q": RunStatus.INTERRUPTED,
        "bt_r": RunStatus.INTERRUPTED,
        "bt_s": RunStatus.SUCCEEDED,
    }
    assert store.interrupt_unfinished(NOW) == 0


def test_migration_downgrades_cleanly(engine: Engine) -> None:
    upgrade(engine)
    assert "backtest_runs" in inspect(engine).get_table_names()
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    assert "backtest_runs" not in inspect(engine).get_table_names()
