"""Random SYNTHETIC bar paths and order flows: the account must reconcile with an independent
replay of the fill list (cash, positions, average-cost realised P&L, borrow, dividends)."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantdesk.domain.market_data import Bar
from quantdesk.domain.orders import Fill, Order, OrderSide, make_bracket
from quantdesk.execution.sim import (
    AccountConfig,
    ExecutionConfig,
    FixedBpsSlippage,
    NoFee,
    NoSlippage,
    PercentFee,
    PerShareFee,
    SimulatedBroker,
    TieredFee,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)

bars_strategy = st.lists(
    st.tuples(
        st.floats(-0.04, 0.04),  # open gap
        st.floats(0, 0.03),  # up range
        st.floats(0, 0.03),  # down range
        st.floats(0, 1),  # close position in the range
        st.integers(100, 20_000),  # volume
    ),
    min_size=5,
    max_size=20,
)

order_strategy = st.tuples(
    st.integers(0, 100),  # bar after which it is submitted (modulo the path length)
    st.sampled_from(["buy", "sell"]),
    st.integers(1, 3_000),
    st.sampled_from(["market", "limit", "stop", "stop_limit", "trailing_stop", "bracket"]),
    st.floats(-0.05, 0.05),  # level offset from the close
    st.sampled_from(["gtc", "day", "ioc", "fok"]),
)


def _make_bars(spec: list[tuple[float, float, float, float, int]]) -> list[Bar]:
    bars, close = [], 100.0
    for n, (gap, up, down, where, volume) in enumerate(spec):
        open_ = close * (1 + gap)
        high, low = open_ * (1 + up), open_ * (1 - down)
        close = low + where * (high - low)
        bars.append(Bar("XYZ", "1d", T0 + timedelta(days=n), open_, high, low, close, volume))
    return bars


def _order(spec: tuple[int, str, int, str, float, str], index: int, close: float) -> list[Order]:
    _, side, quantity, kind, offset, tif = spec
    oid = f"o{index}"
    level = close * (1 + offset)
    if kind == "market":
        return [Order(oid, "XYZ", side, quantity, tif=tif)]  # type: ignore[arg-type]
    if kind == "limit":
        return [Order(oid, "XYZ", side, quantity, "limit", limit_price=level, tif=tif)]  # type: ignore[arg-type]
    if kind == "stop":
        return [Order(oid, "XYZ", side, quantity, "stop", stop_price=level, tif=tif)]  # type: ignore[arg-type]
    if kind == "stop_limit":
        limit = level * (1 + 0.01 * (1 if side == "buy" else -1))
        return [
            Order(oid, "XYZ", side, quantity, "stop_limit", stop_price=level, limit_price=limit)  # type: ignore[arg-type]
        ]
    if kind == "trailing_stop":
        return [
            Order(
                oid, "XYZ", side, quantity, "trailing_stop", trail_percent=abs(offset) * 100 + 0.5
            )
        ]  # type: ignore[arg-type]
    entry = Order(oid, "XYZ", side, quantity)  # type: ignore[arg-type]
    sign = 1 if side == "buy" else -1
    width = abs(offset) + 0.01
    return list(
        make_bracket(
            entry, stop_loss=close * (1 - sign * width), take_profit=close * (1 + sign * width)
        ).orders
    )


def _replay_average_cost(fills: list[Fill]) -> float:
    """Average-cost realised P&L, written independently of the kernels."""
    quantity, cost, realised = 0.0, 0.0, 0.0
    for fill in fills:
        trade = fill.quantity if fill.side is OrderSide.BUY else -fill.quantity
        if quantity == 0 or (quantity > 0) == (trade > 0):
            cost = (cost * abs(quantity) + fill.price * abs(trade)) / (abs(quantity) + abs(trade))
            quantity += trade
            continue
        closing = min(abs(trade), abs(quantity))
        realised += closing * (fill.price - cost) * (1 if quantity > 0 else -1)
        remainder = abs(trade) - closing
        quantity += trade
        if abs(quantity) < 1e-9:
            quantity, cost = 0.0, 0.0
        elif remainder > 0:
            cost = fill.price
    return realised


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    bar_spec=bars_strategy,
    orders=st.lists(order_strategy, min_size=1, max_size=12),
    participation=st.sampled_from([None, 0.05, 0.3, 1.0]),
    fee_model=st.sampled_from(
        [
            NoFee(),
            PerShareFee(0.005, minimum=1.0, maximum_rate=0.01),
            PercentFee(0.0005, minimum=2.0),
            TieredFee((0, 10_000), (0.001, 0.0002), minimum=1.0),
        ]
    ),
    slippage=st.sampled_from([None, 5.0]),
    borrow_rate=st.sampled_from([0.0, 0.05]),
    dividends=st.lists(st.tuples(st.integers(1, 19), st.floats(0.01, 1.0)), max_size=3),
)
def test_account_reconciles_with_an_independent_replay(
    bar_spec: list[tuple[float, float, float, float, int]],
    orders: list[tuple[int, str, int, str, float, str]],
    participation: float | None,
    fee_model: NoFee,
    slippage: float | None,
    borrow_rate: float,
    dividends: list[tuple[int, float]],
) -> None:
    initial = 100_000.0
    slip_model = NoSlippage() if slippage is None else FixedBpsSlippage(slippage)
    broker = SimulatedBroker(
        AccountConfig(initial, max_leverage=2.0, borrow_rate=borrow_rate, day_count=360),
        ExecutionConfig(
            fee_model=fee_model, slippage_model=slip_model, participation=participation
        ),
    )
    bars = _make_bars(bar_spec)
    by_bar: dict[int, list[tuple[int, tuple[int, str, int, str, float, str]]]] = defaultdict(list)
    for index, spec in enumerate(orders):
        by_bar[spec[0] % (len(bars) - 1)].append((index, spec))
    paid_dividends = dict(dividends)
    fills: list[Fill] = []
    submitted: dict[str, Order] = {}
    position, borrow, dividend_cash = 0.0, 0.0, 0.0
    for n, current in enumerate(bars):
        if n in paid_dividends:  # ex-date before the bar: the position held now is paid
            dividend_cash += position * paid_dividends[n]
            broker.apply_dividend("XYZ", paid_dividends[n])
        if n > 0 and position < 0:  # one calendar day of borrow on the previous close
            borrow += -position * bars[n - 1].close * borrow_rate / 360
        report = broker.process_bar(current)
        for fill in report.fills:
            # every fill lies inside its bar before slippage, and within any volume cap
            assert fill.ts == current.ts
            reference = fill.price / (1 + (slippage or 0) * 1e-4 * fill.side.sign)
            assert current.low - 1e-9 <= reference <= current.high + 1e-9 or (
                submitted[fill.order_id].limit_price is not None
            )
            position += fill.signed_quantity
        if participation is not None and current.volume is not None:
            assert sum(f.quantity for f in report.fills) <= participation * current.volume + 1e-6
        fills += report.fills
        for index, spec in by_bar.get(n, []):
            for order in _order(spec, index, current.close):
                submitted[order.id] = order
                broker.submit(order, current.ts)

    account = broker.account
    last_close = bars[-1].close
    cash = initial - sum(f.signed_quantity * f.price for f in fills) - sum(f.fee for f in fills)
    cash += dividend_cash - borrow
    assert account.position("XYZ").quantity == pytest.approx(position, abs=1e-6)
    assert account.cash == pytest.approx(cash, rel=1e-9, abs=1e-6)
    assert account.fees == pytest.approx(sum(f.fee for f in fills), abs=1e-6)
    assert account.borrow_costs == pytest.approx(borrow, rel=1e-9, abs=1e-6)
    assert account.dividends == pytest.approx(dividend_cash, rel=1e-9, abs=1e-6)
    assert account.equity() == pytest.approx(cash + position * last_close, rel=1e-9, abs=1e-6)
    assert account.realised_pnl == pytest.approx(_replay_average_cost(fills), rel=1e-9, abs=1e-5)
    snap = account.snapshot()
    assert snap.equity == pytest.approx(
        initial
        + snap.realised_pnl
        + snap.unrealised_pnl
        - snap.fees
        - snap.borrow_costs
        + snap.dividends,
        rel=1e-9,
        abs=1e-5,
    )
    # order states agree with the fills, and nothing overfills
    filled: dict[str, float] = defaultdict(float)
    for fill in fills:
        filled[fill.order_id] += fill.quantity
    for order_id, order in submitted.items():
        state = broker.order_state(order_id)
        assert state.filled_quantity == pytest.approx(filled[order_id], abs=1e-9)
        assert state.filled_quantity <= order.quantity + 1e-9
        if order.limit_price is not None and state.average_price is not None:
            assert (order.limit_price - state.average_price) * order.side.sign >= -1e-9
        if state.status.value == "filled" and order.parent_id is None:
            assert math.isclose(state.filled_quantity, order.quantity)
