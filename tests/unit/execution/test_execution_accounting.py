"""The simulated account on hand-worked examples: average cost, a long-to-short flip, splits,
dividends, borrow fees and margin rejections."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from quantdesk.core.errors import OrderRejected, ValidationError
from quantdesk.domain.orders import Fill, OrderSide
from quantdesk.execution.sim import Account, AccountConfig

TS = datetime(2024, 3, 1, tzinfo=UTC)
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def _fill(side: OrderSide, quantity: float, price: float, fee: float = 0.0) -> Fill:
    return Fill("o", "XYZ", TS, side, quantity, price, fee)


def _identity(account: Account) -> float:
    snap = account.snapshot()
    return (
        account.config.initial_cash
        + snap.realised_pnl
        + snap.unrealised_pnl
        - snap.fees
        - snap.borrow_costs
        + snap.dividends
    )


def test_long_to_short_flip() -> None:
    account = Account(AccountConfig(10_000, max_leverage=2))
    account.apply_fill(_fill(BUY, 100, 10.0, fee=1.0))
    account.apply_fill(_fill(BUY, 100, 12.0, fee=1.0))
    # 200 shares at (100 x 10 + 100 x 12) / 200 = 11
    position = account.position("XYZ")
    assert (position.quantity, position.average_cost) == (200, pytest.approx(11.0))
    realised = account.apply_fill(_fill(SELL, 300, 15.0, fee=1.0))
    # closes 200 at 15 - 11 = +4 each: +800; the other 100 open a short at 15
    assert realised == pytest.approx(800.0)
    position = account.position("XYZ")
    assert position.quantity == -100
    assert position.average_cost == pytest.approx(15.0)
    # cash: 10,000 - 1,000 - 1 - 1,200 - 1 + 4,500 - 1 = 12,297
    assert account.cash == pytest.approx(12_297.0)
    account.mark("XYZ", 14.0)
    # short 100 from 15 marked at 14: +100 unrealised; equity 12,297 - 100 x 14 = 10,897
    assert account.unrealised_pnl() == pytest.approx(100.0)
    assert account.equity() == pytest.approx(10_897.0)
    # = 10,000 + 800 realised + 100 unrealised - 3 fees
    assert _identity(account) == pytest.approx(10_897.0)
    # buy back 100 at 13: the short realises (15 - 13) x 100 = +200; flat, cost reset
    assert account.apply_fill(_fill(BUY, 100, 13.0)) == pytest.approx(200.0)
    assert account.position("XYZ").quantity == 0
    assert account.position("XYZ").average_cost == 0
    assert account.realised_pnl == pytest.approx(1_000.0)
    assert account.positions() == {}


def test_short_to_long_flip() -> None:
    account = Account(AccountConfig(10_000))
    account.apply_fill(_fill(SELL, 50, 20.0))
    # buy 80 at 18: closes the short of 50 for (20 - 18) x 50 = +100, opens 30 long at 18
    assert account.apply_fill(_fill(BUY, 80, 18.0)) == pytest.approx(100.0)
    position = account.position("XYZ")
    assert (position.quantity, position.average_cost) == (30, 18.0)


def test_split_keeps_value_and_cost() -> None:
    account = Account(AccountConfig(10_000))
    account.apply_fill(_fill(BUY, 100, 50.0))
    account.mark("XYZ", 60.0)
    before = account.equity()
    account.apply_split("XYZ", 2.0)
    # 2-for-1: 200 shares at 50 / 2 = 25, marked at 60 / 2 = 30
    position = account.position("XYZ")
    assert (position.quantity, position.average_cost, position.last_price) == (200, 25.0, 30.0)
    # unrealised unchanged: 100 x (60 - 50) = 200 x (30 - 25) = 1,000
    assert position.unrealised_pnl == pytest.approx(1_000.0)
    assert account.equity() == pytest.approx(before)
    account.apply_split("XYZ", 0.1)  # 1-for-10 reverse split: 20 shares at 250
    position = account.position("XYZ")
    assert position.quantity == pytest.approx(20.0)
    assert position.average_cost == pytest.approx(250.0)
    with pytest.raises(ValidationError):
        account.apply_split("XYZ", 0.0)


def test_dividends_paid_by_shorts_received_by_longs() -> None:
    account = Account(AccountConfig(10_000))
    account.apply_fill(_fill(SELL, 100, 40.0))
    account.mark("XYZ", 40.0)
    # short 100 x 0.50 dividend: the account pays 50
    assert account.apply_dividend("XYZ", 0.5) == pytest.approx(-50.0)
    assert account.cash == pytest.approx(10_000 + 4_000 - 50)
    assert account.dividends == pytest.approx(-50.0)
    other = Account(AccountConfig(10_000))
    other.apply_fill(_fill(BUY, 100, 40.0))
    assert other.apply_dividend("XYZ", 0.5) == pytest.approx(50.0)
    assert other.apply_dividend("ABC", 0.5) == 0.0  # no position, no dividend
    assert _identity(account) == pytest.approx(account.equity())


def test_borrow_cost_accrues_daily_on_short_value() -> None:
    account = Account(AccountConfig(100_000, borrow_rate=0.036, day_count=360))
    account.apply_fill(_fill(SELL, 1_000, 20.0))
    account.mark("XYZ", 20.0)
    # 1,000 x 20 = 20,000 short value x 3.6 % x 10 / 360 = 20.00
    assert account.accrue_borrow("XYZ", 10) == pytest.approx(20.0)
    # one more day at a price of 25: 25,000 x 0.036 / 360 = 2.50
    assert account.accrue_borrow("XYZ", 1, price=25.0) == pytest.approx(2.5)
    assert account.borrow_costs == pytest.approx(22.5)
    assert account.cash == pytest.approx(100_000 + 20_000 - 22.5)
    assert _identity(account) == pytest.approx(account.equity())
    # a long pays nothing
    long = Account(AccountConfig(100_000, borrow_rate=0.036))
    long.apply_fill(_fill(BUY, 10, 20.0))
    assert long.accrue_borrow("XYZ", 10) == 0.0


def test_hard_to_borrow_rate_per_symbol() -> None:
    account = Account(
        AccountConfig(100_000, borrow_rate=0.01, borrow_rates={"xyz": 0.365}, day_count=365)
    )
    account.apply_fill(_fill(SELL, 100, 10.0))
    account.mark("XYZ", 10.0)
    # 1,000 x 36.5 % / 365 = 1.00 a day
    assert account.accrue_borrow("XYZ", 3) == pytest.approx(3.0)


def test_margin_rejects_orders_beyond_buying_power() -> None:
    account = Account(AccountConfig(10_000, max_leverage=1.0))
    # 100 x 100 = 10,000 = 1.0 x equity: allowed exactly
    account.check_order("XYZ", BUY, 100, 100.0)
    # 101 x 100 = 10,100 > 10,000
    with pytest.raises(OrderRejected) as error:
        account.check_order("XYZ", BUY, 101, 100.0, order_id="big")
    assert error.value.code == "insufficient_buying_power"
    assert error.value.order_id == "big"
    assert "buying power" in error.value.reason
    # a 1.00 fee lowers equity to 9,999 < 10,000 of exposure
    with pytest.raises(OrderRejected):
        account.check_order("XYZ", BUY, 100, 100.0, fee=1.0)
    margin = Account(AccountConfig(10_000, max_leverage=2.0))
    margin.check_order("XYZ", BUY, 199, 100.0)  # 19,900 <= 2 x 10,000
    with pytest.raises(OrderRejected):
        margin.check_order("XYZ", SELL, 201, 100.0)  # short 20,100 > 20,000


def test_reducing_orders_are_always_allowed() -> None:
    account = Account(AccountConfig(10_000, max_leverage=1.0))
    account.apply_fill(_fill(BUY, 100, 100.0))
    account.mark("XYZ", 40.0)  # equity 4,000, exposure 4,000: at the limit
    account.check_order("XYZ", SELL, 50, 40.0)  # reduces: fine
    with pytest.raises(OrderRejected):
        account.check_order("XYZ", BUY, 1, 40.0)  # 4,040 > 4,000
    # selling 150 flips to a 50 short at 40 = 2,000 of exposure on 4,000 equity: allowed
    account.check_order("XYZ", SELL, 150, 40.0)


def test_short_selling_can_be_forbidden() -> None:
    account = Account(AccountConfig(10_000, allow_short=False))
    with pytest.raises(OrderRejected) as error:
        account.check_order("XYZ", SELL, 10, 50.0)
    assert error.value.code == "short_not_allowed"
    account.apply_fill(_fill(BUY, 10, 50.0))
    account.check_order("XYZ", SELL, 10, 50.0)  # closing a long is fine
    with pytest.raises(OrderRejected):
        account.check_order("XYZ", SELL, 11, 50.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_cash": -1.0},
        {"initial_cash": 1.0, "max_leverage": 0.0},
        {"initial_cash": 1.0, "borrow_rate": -0.1},
        {"initial_cash": 1.0, "day_count": 300},
    ],
)
def test_account_config_is_validated(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        AccountConfig(**kwargs)  # type: ignore[arg-type]


def test_quantities_lists_open_positions_by_symbol() -> None:
    account = Account(AccountConfig(initial_cash=100_000))
    account.apply_fill(Fill("o1", "MSFT", TS, BUY, 10, 100.0))
    account.apply_fill(Fill("o2", "AAPL", TS, SELL, 5, 50.0))
    account.apply_fill(Fill("o3", "XYZ", TS, BUY, 3, 20.0))
    account.apply_fill(Fill("o4", "MSFT", TS, SELL, 10, 101.0))  # flat again
    assert account.quantities() == {"AAPL": -5.0, "XYZ": 3.0}
    assert account.quantities() == {s: p.quantity for s, p in account.positions().items()}
