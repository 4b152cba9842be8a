"""The portfolio migration and ``SqlPortfolioStore`` on SQLite and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from quantdesk.auth.models import UserAccount
from quantdesk.auth.rbac import Role
from quantdesk.core.errors import Conflict
from quantdesk.db import make_engine, upgrade
from quantdesk.db.accounts import SqlAuthStore
from quantdesk.db.migrate import alembic_config
from quantdesk.db.portfolios import SqlPortfolioStore
from quantdesk.domain.portfolio import LotMethod, Transaction, TransactionType
from quantdesk.portfolio.ports import FxRate, Portfolio

T = TransactionType
NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
PORTFOLIO_TABLES = {"portfolios", "portfolio_transactions", "fx_rates"}


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
def store(engine: Engine) -> SqlPortfolioStore:
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
    return SqlPortfolioStore(engine)


def _portfolio(pid: str = "pf_1", owner: str = "usr_ada", name: str = "main") -> Portfolio:
    return Portfolio(
        id=pid,
        owner_id=owner,
        name=name,
        base_currency="USD",
        benchmark_symbol="SPX",
        lot_method=LotMethod.HIGHEST_COST,
        allow_short=True,
        created_at=NOW,
        updated_at=NOW,
    )


def test_upgrade_and_downgrade_of_the_portfolio_tables(engine: Engine) -> None:
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= PORTFOLIO_TABLES
    columns = {c["name"]: c for c in inspect(engine).get_columns("portfolio_transactions")}
    if engine.dialect.name == "postgresql":
        assert (columns["price"]["type"].precision, columns["price"]["type"].scale) == (38, 12)
    indexes = {i["name"] for i in inspect(engine).get_indexes("portfolio_transactions")}
    assert "ix_portfolio_transactions_portfolio_id_trade_date" in indexes
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    tables = set(inspect(engine).get_table_names())
    assert not PORTFOLIO_TABLES & tables
    assert "users" in tables
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= PORTFOLIO_TABLES


def test_portfolio_round_trip_and_unique_names(store: SqlPortfolioStore) -> None:
    with store.transaction() as uow:
        uow.add_portfolio(_portfolio())
        uow.add_portfolio(_portfolio("pf_2", owner="usr_bob"))  # same name, other owner
    with store.transaction() as uow:
        assert uow.portfolio_by_id("pf_1") == _portfolio()
        assert uow.portfolio_by_id("pf_1", for_update=True) == _portfolio()
        assert [p.id for p in uow.list_portfolios(None)] == ["pf_1", "pf_2"]
        assert uow.count_portfolios("usr_bob") == 1
    with pytest.raises(Conflict), store.transaction() as uow:
        uow.add_portfolio(_portfolio("pf_3"))
    with store.transaction() as uow:
        assert uow.count_portfolios(None) == 2
        uow.add_portfolio(_portfolio("pf_3", name="second"))
        with pytest.raises(Conflict):
            uow.update_portfolio(_portfolio("pf_3", name="main"))


def test_transactions_keep_exact_decimals_and_entry_order(store: SqlPortfolioStore) -> None:
    huge = Decimal("12345678901234567890123456.123456789012")  # 38 digits, 12 after the point
    day = date(2024, 1, 2)
    entered = [
        Transaction(T.DEPOSIT, day, None, Decimal(1), huge, id="t-b"),
        Transaction(
            T.BUY, day, "AAPL", Decimal("0.000000000001"), Decimal("185.64"), Decimal("1.5"),
            id="t-a",
        ),
        Transaction(T.SPLIT, date(2024, 1, 1), "AAPL", Decimal(2), Decimal(0), id="t-c", note="n"),
    ]  # fmt: skip
    with store.transaction() as uow:
        uow.add_portfolio(_portfolio())
        uow.add_transactions("pf_1", entered[:2], created_at=NOW)
        uow.add_transactions("pf_1", entered[2:], created_at=NOW)
    with store.transaction() as uow:
        stored = uow.list_transactions("pf_1")
        assert stored == entered  # entry order, not date or id order
        assert str(stored[0].price) == str(huge)
        assert str(stored[1].price) == "185.64"  # no trailing zeros from NUMERIC(38, 12)
        assert uow.list_transactions("pf_1", offset=1, limit=1) == entered[1:2]
        assert uow.count_transactions("pf_1") == 3
    with pytest.raises(Conflict), store.transaction() as uow:
        uow.add_transactions(
            "pf_1",
            [
                Transaction.cash(T.DEPOSIT, day, 5, id="t-new"),
                Transaction.cash(T.FEE, day, 1, id="t-a"),
            ],
            created_at=NOW,
        )
    with store.transaction() as uow:
        assert uow.count_transactions("pf_1") == 3  # the batch left nothing behind


def test_deleting_the_owner_or_the_portfolio_removes_the_ledger(
    store: SqlPortfolioStore, engine: Engine
) -> None:
    with store.transaction() as uow:
        uow.add_portfolio(_portfolio())
        uow.add_portfolio(_portfolio("pf_2", owner="usr_bob"))
        for pid in ("pf_1", "pf_2"):
            uow.add_transactions(
                pid, [Transaction.cash(T.DEPOSIT, date(2024, 1, 2), 10, id="x")], created_at=NOW
            )
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM users WHERE id = 'usr_ada'"))
    with store.transaction() as uow:
        assert uow.portfolio_by_id("pf_1") is None
        assert uow.list_transactions("pf_1") == []
        assert uow.delete_portfolio("pf_2")
        assert not uow.delete_portfolio("pf_2")
    with engine.connect() as connection:
        left = connection.execute(text("SELECT count(*) FROM portfolio_transactions")).scalar()
    assert left == 0


def test_fx_rates_latest_on_or_before_and_history(store: SqlPortfolioStore) -> None:
    rates = [
        FxRate("EUR", "USD", date(2024, 1, 2), Decimal("1.0950")),
        FxRate("EUR", "USD", date(2024, 1, 5), Decimal("1.0921")),
        FxRate("GBP", "USD", date(2024, 1, 3), Decimal("1.27")),
    ]
    with store.transaction() as uow:
        assert uow.put_fx_rates(rates) == 3
        uow.put_fx_rates([FxRate("EUR", "USD", date(2024, 1, 5), Decimal("1.093123456789"))])
    with store.transaction() as uow:
        assert uow.latest_fx_rate("EUR", "USD", date(2024, 1, 4)) == FxRate(
            "EUR", "USD", date(2024, 1, 2), Decimal("1.095")
        )
        latest = uow.latest_fx_rate("EUR", "USD", date(2024, 2, 1))
        assert latest is not None
        assert latest.rate == Decimal("1.093123456789")
        assert uow.latest_fx_rate("EUR", "USD", date(2024, 1, 1)) is None
        assert uow.latest_fx_rate("USD", "EUR", date(2024, 2, 1)) is None
        assert [r.day for r in uow.fx_history("EUR", "USD", end=date(2024, 1, 4))] == [
            date(2024, 1, 2)
        ]
