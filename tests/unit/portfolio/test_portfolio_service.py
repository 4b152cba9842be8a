"""The portfolio service over a real SQLite store, a DuckDB bar store and a simulated clock.

Prices: ``AAA`` and ``EUX`` (priced in EUR) are hand-made closes written out below so every
holdings figure can be checked by hand; ``AAPL``, ``MSFT`` and ``JNJ`` carry real adjusted
closes from ``skfolio.datasets.load_sp500_dataset`` (the last 80 sessions of 2022) for the
optimisation check against PyPortfolioOpt.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from pypfopt import EfficientFrontier, risk_models
from skfolio.datasets import load_sp500_dataset

from quantdesk.auth.models import AuditContext, Principal, UserAccount
from quantdesk.auth.rbac import Role
from quantdesk.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from quantdesk.data.frames import BAR_SCHEMA
from quantdesk.data.service import MarketDataService
from quantdesk.data.storage.duckdb import DuckDBBarStore
from quantdesk.db import SqlInstrumentStore, make_engine, upgrade
from quantdesk.db.accounts import SqlAuthStore
from quantdesk.db.portfolios import SqlPortfolioStore
from quantdesk.domain import Instrument
from quantdesk.domain.portfolio import Transaction, TransactionType
from quantdesk.portfolio.ports import FxRate
from quantdesk.portfolio.service import OptimizationSpec, PortfolioService
from quantdesk.testkit import SimClock, StaticProvider, bars_frame

T = TransactionType
D = Decimal
DAY0 = datetime(2024, 1, 1, tzinfo=UTC)
# Hand-made closes, one a calendar day from 2024-01-01.
AAA_CLOSES = [100.0, 104.0, 110.0, 120.0]
EUX_CLOSES = [50.0, 52.5]
REAL = ("AAPL", "MSFT", "JNJ")


@dataclass
class Recorder:
    """Collects audit calls the way ``AuthService.record`` receives them."""

    entries: list[dict[str, Any]] = field(default_factory=list)

    def __call__(
        self,
        action: str,
        *,
        actor: Principal | None,
        context: AuditContext,
        target: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        self.entries.append(
            {
                "action": action,
                "actor": actor.user_id if actor else None,
                "target": target,
                "before": before,
                "after": after,
            }
        )

    def actions(self) -> list[str]:
        return [entry["action"] for entry in self.entries]


@dataclass
class World:
    service: PortfolioService
    audit: Recorder
    clock: SimClock
    users: dict[str, Principal]


@cache
def _real_bars() -> pl.DataFrame:
    prices = load_sp500_dataset()[list(REAL)].loc["2022"].tail(80)
    rows = [
        {
            "symbol": symbol,
            "interval": "1d",
            "ts": stamp.to_pydatetime().replace(tzinfo=UTC),
            "open": None,
            "high": None,
            "low": None,
            "close": float(value),
            "volume": None,
        }
        for symbol in REAL
        for stamp, value in prices[symbol].items()
    ]
    return pl.DataFrame(rows, schema=BAR_SCHEMA)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    engine = make_engine(f"sqlite:///{tmp_path / 'qd.db'}")
    upgrade(engine)
    bars = DuckDBBarStore(tmp_path / "market.duckdb")
    bars.migrate()
    market = MarketDataService(bars, SqlInstrumentStore(engine))
    market.ingest(
        StaticProvider(
            [
                bars_frame("AAA", AAA_CLOSES, start=DAY0, close_only=True),
                bars_frame("EUX", EUX_CLOSES, start=DAY0, close_only=True),
                _real_bars(),
            ],
            instruments=[
                Instrument("AAA", "Hand-made A", sector="Tech"),
                Instrument("EUX", "Hand-made euro stock", currency="EUR", sector="Energy"),
            ],
        )
    )
    users: dict[str, Principal] = {}
    with SqlAuthStore(engine).transaction() as uow:
        for name, role in (
            ("owner", Role.ANALYST),
            ("other", Role.ANALYST),
            ("admin", Role.ADMIN),
            ("viewer", Role.VIEWER),
        ):
            account = UserAccount(
                id=f"usr_{name}",
                email=f"{name}@example.com",
                display_name=name,
                role=role,
                password_hash="-",
                created_at=DAY0,
            )
            uow.add_user(account)
            users[name] = Principal.of(account, via="token")
    clock = SimClock(datetime(2024, 1, 10, 12, tzinfo=UTC))
    audit = Recorder()
    service = PortfolioService(SqlPortfolioStore(engine), market, clock, audit)
    yield World(service, audit, clock, users)
    bars.close()
    engine.dispose()


def _day(n: int) -> date:
    return (DAY0 + timedelta(days=n)).date()


def _portfolio(world: World, who: str = "owner", **settings: Any) -> str:
    return world.service.create_portfolio(
        world.users[who], name=settings.pop("name", "main"), **settings
    ).id


# --------------------------------------------------------------------------- ownership


def test_non_owners_get_not_found_and_admins_see_everything(world: World) -> None:
    service, users = world.service, world.users
    pid = _portfolio(world)
    service.add_transaction(users["owner"], pid, Transaction.cash(T.DEPOSIT, _day(0), 100))
    with pytest.raises(NotFound):
        service.get_portfolio(users["other"], pid)
    with pytest.raises(NotFound):
        service.add_transaction(users["other"], pid, Transaction.cash(T.DEPOSIT, _day(0), 1))
    with pytest.raises(NotFound):
        service.holdings(users["other"], pid)
    with pytest.raises(NotFound):
        service.delete_portfolio(users["other"], pid)
    assert service.list_portfolios(users["other"]) == ([], 0)
    assert service.get_portfolio(users["admin"], pid).owner_id == "usr_owner"
    assert service.list_portfolios(users["admin"])[1] == 0  # own only by default
    assert [p.id for p in service.list_portfolios(users["admin"], all_users=True)[0]] == [pid]
    # A non-admin asking for everything still sees only their own.
    assert service.list_portfolios(users["other"], all_users=True) == ([], 0)
    assert service.list_transactions(users["admin"], pid)[1] == 1


def test_roles_and_owner_rules(world: World) -> None:
    service, users = world.service, world.users
    with pytest.raises(PermissionDenied):
        service.create_portfolio(users["viewer"], name="v")
    with pytest.raises(PermissionDenied):
        service.create_portfolio(users["owner"], name="x", owner_id="usr_other")
    made = service.create_portfolio(users["admin"], name="for owner", owner_id="usr_owner")
    assert service.get_portfolio(users["owner"], made.id).name == "for owner"
    with pytest.raises(Conflict):
        service.create_portfolio(users["owner"], name="for  owner ")  # names are trimmed
    with pytest.raises(ValidationError) as bad:
        service.create_portfolio(users["owner"], name=" ", base_currency="XXY")
    assert {i.field for i in bad.value.issues} == {"name", "base_currency"}


# --------------------------------------------------------------------------- atomicity


def test_a_batch_with_one_bad_row_writes_nothing(world: World) -> None:
    service, owner = world.service, world.users["owner"]
    pid = _portfolio(world)
    batch = [
        Transaction.cash(T.DEPOSIT, _day(0), 10_000),
        Transaction(T.BUY, _day(1), "AAA", D(10), D(104)),
        Transaction(T.SELL, _day(2), "AAA", D(11), D(110)),  # only 10 held
    ]
    with pytest.raises(ValidationError) as rejected:
        service.add_transactions(owner, pid, batch)
    [issue] = rejected.value.issues
    assert (issue.location, issue.field, issue.row) == ("transactions[2]", "quantity", 2)
    assert "only 10 are held" in issue.reason
    assert service.list_transactions(owner, pid) == ([], 0)
    assert "portfolio.transaction" not in world.audit.actions()


def test_every_problem_of_a_batch_is_reported(world: World) -> None:
    pid = _portfolio(world)
    batch = [
        Transaction(T.BUY, _day(30), "AAA", D(1), D(1)),  # after today (2024-01-10)
        Transaction(T.BUY, _day(1), "NOPE", D(1), D(1)),
        Transaction(T.BUY, _day(1), "AAA", D(1), D("1.1234567890123")),  # 13 places
        Transaction(T.BUY, _day(1), "EUX", D(1), D(50), currency="USD"),  # EUX is in EUR
    ]
    with pytest.raises(ValidationError) as rejected:
        world.service.add_transactions(world.users["owner"], pid, batch)
    found = {(i.row, i.field) for i in rejected.value.issues}
    assert found == {(0, "trade_date"), (1, "symbol"), (2, "price"), (3, "currency")}


def test_decimals_round_trip_exactly(world: World) -> None:
    owner = world.users["owner"]
    pid = _portfolio(world)
    stored = world.service.add_transaction(
        owner,
        pid,
        Transaction(
            T.DEPOSIT, _day(0), None, D("0.000000000001"), D("12345678901234.123456789012")
        ),
    )
    [listed], _ = world.service.list_transactions(owner, pid)
    assert listed == stored
    assert str(listed.price) == "12345678901234.123456789012"
    assert str(listed.quantity) == "1E-12"  # the same Decimal, exactly
    assert listed.id is not None
    assert listed.id.startswith("tx_")


# --------------------------------------------------------------------------- audit


def test_changes_are_audited_with_before_and_after(world: World) -> None:
    service, owner = world.service, world.users["owner"]
    pid = _portfolio(world)
    service.update_portfolio(owner, pid, name="renamed", benchmark_symbol="AAA")
    service.add_transaction(owner, pid, Transaction.cash(T.DEPOSIT, _day(0), "100.50"))
    service.import_csv(
        owner, pid, "date,type,symbol,quantity,price,currency\n2024-01-02,deposit,,1,5,USD\n"
    )
    service.delete_portfolio(owner, pid)
    entries = world.audit.entries
    assert [e["action"] for e in entries] == [
        "portfolio.create",
        "portfolio.update",
        "portfolio.transaction",
        "portfolio.import",
        "portfolio.delete",
    ]
    assert {e["target"] for e in entries} == {f"portfolio:{pid}"}
    assert {e["actor"] for e in entries} == {"usr_owner"}
    update = entries[1]
    assert update["before"]["name"] == "main"
    assert update["after"]["name"] == "renamed"
    assert update["after"]["benchmark_symbol"] == "AAA"
    assert entries[2]["after"]["transactions"][0]["price"] == "100.50"
    assert entries[3]["after"] == {
        "preset": "generic",
        "rows_read": 1,
        "written": 1,
        "rows_skipped": 0,
    }
    assert entries[4]["before"]["transactions"] == 2


# --------------------------------------------------------------------------- holdings


def test_holdings_hand_checked(world: World) -> None:
    service, owner = world.service, world.users["owner"]
    pid = _portfolio(world)
    service.add_transactions(
        owner,
        pid,
        [
            Transaction.cash(T.DEPOSIT, _day(0), 10_000),
            Transaction(T.BUY, _day(0), "AAA", D(10), D(100), D(1)),
            Transaction(T.SELL, _day(2), "AAA", D(4), D(110), D(1)),
            Transaction(T.DIVIDEND, _day(3), "AAA", D(6), D("0.5")),
        ],
    )
    held = service.holdings(owner, pid)
    line = held.report.line("AAA")
    # Bought 10 for 10*100 + 1 = 1001; sold 4 for 4*110 - 1 = 439 against 4/10 of the cost
    # (400.4): realised 38.6. Left: 6 units costing 600.6, valued at the last close 120 = 720.
    assert line.quantity == D(6)
    assert line.cost_basis == D("600.6")
    assert line.price == D("120.0")
    assert line.market_value == D("720.0")
    assert line.unrealized_pnl == D("119.4")
    assert line.realized_pnl_base == D("38.6")
    assert line.income_base == D("3.0")
    totals = held.report.totals
    # Cash: 10000 - 1001 + 439 + 3 = 9441; total 9441 + 720 = 10161.
    assert totals.cash == D(9441)
    assert totals.total_value == D(10161)
    assert held.prices["AAA"].ts == datetime(2024, 1, 4, tzinfo=UTC)


def test_missing_fx_rate_names_the_currency(world: World) -> None:
    service, owner = world.service, world.users["owner"]
    pid = _portfolio(world)
    service.add_transactions(
        owner,
        pid,
        [
            Transaction.cash(T.DEPOSIT, _day(0), 1000, currency="EUR"),
            Transaction(T.BUY, _day(0), "EUX", D(4), D(50), currency="EUR"),
        ],
    )
    with pytest.raises(ValidationError) as missing:
        service.holdings(owner, pid)
    [issue] = missing.value.issues
    assert issue.field == "EUR"
    assert "EUR/USD" in issue.reason
    assert "EUR" in missing.value.message
    with pytest.raises(PermissionDenied):
        service.add_fx_rates(owner, [FxRate("EUR", "USD", _day(0), D("1.10"))])
    service.add_fx_rates(
        world.users["admin"],
        [
            FxRate("EUR", "USD", _day(0), D("1.10")),
            FxRate("EUR", "USD", _day(5), D("1.08")),
            FxRate("EUR", "USD", _day(20), D("2")),  # after today: not used
        ],
    )
    held = service.holdings(owner, pid)
    # 4 EUX at the last close 52.5 EUR = 210 EUR; cash 1000 - 200 = 800 EUR; at 1.08 USD/EUR
    # the total is 1010 EUR = 1090.8 USD.
    assert held.fx_rates["EUR"].rate == D("1.08")
    assert held.report.line("EUX").market_value_base == D("226.800")
    assert held.report.totals.total_value == D("1090.800")


# --------------------------------------------------------------------------- imports


CSV = """date,type,symbol,quantity,price,currency,id
2024-01-01,deposit,,1,1000,USD,d1
2024-01-02,buy,AAA,5,104,USD,b1
2024-01-03,sell,AAA,7,110,USD,s1
2024-01-03,buy,AAA,1,1O1,USD,b2
"""


def test_import_previews_refuses_and_skips(world: World) -> None:
    service, owner = world.service, world.users["owner"]
    pid = _portfolio(world)
    preview = service.import_csv(owner, pid, CSV, dry_run=True)
    # Row 5 fails parsing; row 4 sells 7 while 5 are held.
    assert [(i.row, i.field) for i in preview.issues] == [(4, "quantity"), (5, "price")]
    assert preview.row_numbers == (2, 3)
    assert preview.written == 0
    assert not preview.committable
    with pytest.raises(ValidationError) as refused:
        service.import_csv(owner, pid, CSV)
    assert {i.location for i in refused.value.issues} == {"row 4", "row 5"}
    assert service.list_transactions(owner, pid)[1] == 0
    done = service.import_csv(owner, pid, CSV, skip_bad_rows=True)
    assert done.written == 2
    assert [tx.id for tx in service.list_transactions(owner, pid)[0]] == ["d1", "b1"]
    again = service.import_csv(owner, pid, CSV, skip_bad_rows=True)
    assert again.written == 0
    assert {(i.row, i.field) for i in again.issues} >= {(2, "id"), (3, "id")}


def test_skipping_a_row_drops_the_rows_that_depend_on_it(world: World) -> None:
    service, owner = world.service, world.users["owner"]
    pid = _portfolio(world)
    text = (
        "date,type,symbol,quantity,price,currency\n"
        "2024-01-02,buy,AAA,5,104,EUR\n"  # AAA is priced in USD
        "2024-01-03,sell,AAA,5,110,USD\n"  # needs the buy above
        "2024-01-03,deposit,,1,50,USD\n"
    )
    outcome = service.import_csv(owner, pid, text, skip_bad_rows=True)
    assert [(i.row, i.field) for i in outcome.issues] == [(2, "currency"), (3, "quantity")]
    assert outcome.row_numbers == (4,)
    assert outcome.written == 1


# --------------------------------------------------------------------------- settings


def test_turning_shorting_off_is_refused_while_a_short_is_recorded(world: World) -> None:
    service, owner = world.service, world.users["owner"]
    pid = _portfolio(world, allow_short=True)
    service.add_transaction(owner, pid, Transaction(T.SELL, _day(1), "AAA", D(2), D(104)))
    with pytest.raises(ValidationError) as refused:
        service.update_portfolio(owner, pid, allow_short=False)
    assert refused.value.issues[0].location == "allow_short"
    assert service.get_portfolio(owner, pid).allow_short


# --------------------------------------------------------------------------- analytics


def test_performance_hand_checked(world: World) -> None:
    service, owner = world.service, world.users["owner"]
    pid = _portfolio(world, benchmark_symbol="AAA")
    service.add_transactions(
        owner,
        pid,
        [
            Transaction.cash(T.DEPOSIT, _day(0), 1000),
            Transaction(T.BUY, _day(0), "AAA", D(5), D(100)),
        ],
    )
    result = service.performance(owner, pid)
    # Values at the closes 100, 104, 110, 120: 500 cash + 5 * close = 1000, 1020, 1050, 1100.
    np.testing.assert_allclose(result.valuation["total_value"], [1000, 1020, 1050, 1100])
    assert result.time_weighted_return == pytest.approx(0.10)
    # XIRR: -1000 on day 0, +1100 on day 3: (1.1) ** (365 / 3) - 1.
    assert result.money_weighted_return == pytest.approx(1.1 ** (365 / 3) - 1, rel=1e-9)
    assert result.end == date(2024, 1, 4)
    benchmark = result.benchmark
    assert benchmark is not None
    # AAA itself as the benchmark: 100 -> 120 is +20% while the half-invested book made +10%.
    max_period = next(c for p, c in benchmark.comparisons.items() if p.value == "max")
    assert max_period.benchmark.total_return == pytest.approx(0.20)
    assert max_period.excess_return == pytest.approx(-0.10)
    sectors = {s.name: s.weight for s in result.allocation.by_sector}
    assert sectors == pytest.approx({"cash": 500 / 1100, "Tech": 600 / 1100})


def test_performance_without_transactions_is_a_clear_error(world: World) -> None:
    pid = _portfolio(world)
    with pytest.raises(ValidationError, match="no transactions yet"):
        world.service.performance(world.users["owner"], pid)


def test_optimize_matches_pypfopt_on_the_holdings(world: World) -> None:
    service, owner = world.service, world.users["owner"]
    pid = _portfolio(world)
    service.add_transactions(
        owner,
        pid,
        [
            Transaction.cash(T.DEPOSIT, date(2022, 9, 1), 100_000),
            *(Transaction(T.BUY, date(2022, 9, 1), s, D(10), D(100)) for s in REAL),
        ],
    )
    result = service.optimize(owner, pid, OptimizationSpec(method="min_variance", lookback=60))
    closes = load_sp500_dataset()[sorted(REAL)].loc["2022"].tail(61)
    frontier = EfficientFrontier(None, risk_models.sample_cov(closes, frequency=252))
    expected = frontier.min_volatility()
    assert result.observations == 60
    assert result.end == date(2022, 12, 28)
    for symbol, weight in expected.items():
        assert result.result.weights[symbol] == pytest.approx(weight, abs=1e-4)
    assert sum(result.current_weights.values()) < 1  # cash is part of the total
    with pytest.raises(ValidationError, match="too few symbols"):
        service.optimize(owner, pid, OptimizationSpec(symbols=("AAPL",)))


def test_rebalance_to_given_targets(world: World) -> None:
    service, owner = world.service, world.users["owner"]
    pid = _portfolio(world)
    service.add_transactions(
        owner,
        pid,
        [
            Transaction.cash(T.DEPOSIT, _day(0), 1200),
            Transaction(T.BUY, _day(0), "AAA", D(6), D(100)),
        ],
    )
    plan = service.rebalance(owner, pid, target_weights={"AAA": 0.25}).plan
    # Cash 600 + 6 * 120 = 1320; a quarter is 330 = 2.75 units: sell 3.25, rounded to the
    # nearest whole share, 3 at 120 = 360.
    assert plan.total_value == D(1320)
    [trade] = plan.trades
    assert (trade.side, trade.quantity, trade.notional) == ("sell", D(3), D("360.00"))
    assert plan.residual_cash == D("960.00")
    with pytest.raises(ValidationError, match="choose the targets"):
        service.rebalance(owner, pid)
