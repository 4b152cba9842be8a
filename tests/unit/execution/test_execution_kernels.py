"""Fill-price kernels: every order type on hand-worked bars, gap-through cases, trailing stops,
volume caps, and proof that the Python API and the numba kernels are one code path."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit
from numba.core.dispatcher import Dispatcher

from quantdesk.domain.orders import Order, OrderSide, OrderType
from quantdesk.execution.sim import (
    FixedBpsSlippage,
    PerShareFee,
    _accounting_nb,
    _costs_nb,
    _fills_nb,
    accounting,
    capped_quantity,
    fees,
    fill_price,
    fills,
    ratchet_extreme,
    trailing_stop_price,
)
from quantdesk.execution.sim import slippage as slippage_module

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def _limit(side: OrderSide, price: float) -> Order:
    return Order("o", "XYZ", side, 10, OrderType.LIMIT, limit_price=price)


def _stop(side: OrderSide, price: float) -> Order:
    return Order("o", "XYZ", side, 10, OrderType.STOP, stop_price=price)


def _stop_limit(side: OrderSide, stop: float, limit: float) -> Order:
    return Order("o", "XYZ", side, 10, OrderType.STOP_LIMIT, stop_price=stop, limit_price=limit)


def test_market_fills_at_the_open() -> None:
    assert fill_price(Order("o", "XYZ", BUY, 1), 101.0, 103.0, 99.0) == (101.0, True)


@pytest.mark.parametrize(
    ("order", "bar", "expected"),
    [
        # buy limit 100, bar opens at 98 below the limit: gap through, fills at the open 98
        (_limit(BUY, 100), (98.0, 99.0, 97.0), 98.0),
        # buy limit 100, opens 102 and trades down to 99.5: touches the limit, fills at 100
        (_limit(BUY, 100), (102.0, 103.0, 99.5), 100.0),
        # buy limit 100, the low 100 exactly touches it: fills at 100
        (_limit(BUY, 100), (102.0, 103.0, 100.0), 100.0),
        # buy limit 100, low 100.5 never reaches it
        (_limit(BUY, 100), (102.0, 103.0, 100.5), None),
        # sell limit 100, opens 103 above: fills at the open 103
        (_limit(SELL, 100), (103.0, 104.0, 102.0), 103.0),
        # sell limit 100, high 100.2 touches: fills at 100
        (_limit(SELL, 100), (98.0, 100.2, 97.0), 100.0),
        (_limit(SELL, 100), (98.0, 99.9, 97.0), None),
        # sell stop 95, bar opens at 93 below the stop: gap through, fills at the open 93
        (_stop(SELL, 95), (93.0, 94.0, 92.0), 93.0),
        # sell stop 95, opens 97 and trades down to 94: fills at the stop 95
        (_stop(SELL, 95), (97.0, 98.0, 94.0), 95.0),
        (_stop(SELL, 95), (97.0, 98.0, 95.5), None),
        # buy stop 105, opens 107 above: fills at 107; touched inside the bar: at 105
        (_stop(BUY, 105), (107.0, 108.0, 106.0), 107.0),
        (_stop(BUY, 105), (103.0, 105.5, 102.0), 105.0),
        (_stop(BUY, 105), (103.0, 104.9, 102.0), None),
    ],
)
def test_limit_and_stop_fill_prices(
    order: Order, bar: tuple[float, float, float], expected: float | None
) -> None:
    price, _ = fill_price(order, *bar)
    assert price == expected


def test_stop_limit_triggers_then_works_as_a_limit() -> None:
    order = _stop_limit(BUY, stop=100, limit=101)
    # not triggered: the high 99 stays below the stop 100
    assert fill_price(order, 98.0, 99.0, 97.0) == (None, False)
    # triggered inside the bar at 100; 100 is within the limit 101, so it fills at 100
    assert fill_price(order, 98.0, 100.5, 97.0) == (100.0, True)
    # gaps through the stop at 103: triggered at the open, but the limit 101 is never offered
    # (low 102) so it does not fill - it stays triggered
    assert fill_price(order, 103.0, 104.0, 102.0) == (None, True)
    # the next bar, already triggered, trades down to 100.5: a plain buy limit at 101 fills there
    assert fill_price(order, 102.0, 103.0, 100.5, triggered=True) == (101.0, True)
    # triggered at the open 103 and later in the bar the low 100.8 reaches the limit: 101
    assert fill_price(order, 103.0, 104.0, 100.8) == (101.0, True)


def test_stop_limit_with_limit_beyond_the_stop_waits_for_the_next_bar() -> None:
    # buy stop 100 with limit 99 (buy the pull-back after a breakout): triggered inside the bar
    # at 100, but whether the price came back to 99 afterwards is unknown - no fill this bar
    order = _stop_limit(BUY, stop=100, limit=99)
    assert fill_price(order, 98.0, 100.5, 97.0) == (None, True)
    assert fill_price(order, 100.0, 100.5, 98.9, triggered=True) == (99.0, True)
    # sell stop 95, limit 94: triggered at 95 inside the bar, 95 is within the limit: fills at 95
    sell = _stop_limit(SELL, stop=95, limit=94)
    assert fill_price(sell, 96.0, 97.0, 94.5) == (95.0, True)
    # gap down to 92 through both: triggered, but the high 93 never reaches the limit 94
    assert fill_price(sell, 92.0, 93.0, 91.0) == (None, True)


def test_trailing_stop_levels_and_ratchet() -> None:
    sell_amount = Order("t", "XYZ", SELL, 1, OrderType.TRAILING_STOP, trail_amount=2)
    sell_percent = Order("t", "XYZ", SELL, 1, OrderType.TRAILING_STOP, trail_percent=5)
    buy_amount = Order("t", "XYZ", BUY, 1, OrderType.TRAILING_STOP, trail_amount=2)
    assert trailing_stop_price(sell_amount, 110.0) == 108.0  # 110 - 2
    assert trailing_stop_price(sell_percent, 200.0) == pytest.approx(190.0)  # 200 * 0.95
    assert trailing_stop_price(buy_amount, 90.0) == 92.0  # 90 + 2
    # a sell trails the highest high, a buy the lowest low; levels never move back
    assert ratchet_extreme(sell_amount, 110.0, 112.0, 105.0) == 112.0
    assert ratchet_extreme(sell_amount, 110.0, 109.0, 105.0) == 110.0
    assert ratchet_extreme(buy_amount, 90.0, 95.0, 88.0) == 88.0
    assert ratchet_extreme(buy_amount, math.nan, 95.0, 88.0) == 88.0
    # the trailing level is used like a stop: 108 touched inside a bar that opened at 109
    price, _ = fill_price(sell_amount, 109.0, 110.0, 107.0, stop_price=108.0)
    assert price == 108.0


def test_capped_quantity() -> None:
    # 10 % of 5,000 = 500 available
    assert capped_quantity(1_000, 5_000, 0.1) == 500
    # 300 already went to an earlier order on this bar: 200 left
    assert capped_quantity(1_000, 5_000, 0.1, used=300) == 200
    # 250 available in lots of 100: 200
    assert capped_quantity(1_000, 2_500, 0.1, lot_size=100) == 200
    assert capped_quantity(150, 5_000, 0.1) == 150
    assert capped_quantity(1_000, None, 0.1) == 1_000
    assert capped_quantity(1_000, 5_000, None) == 1_000
    assert capped_quantity(1_000, 5_000, 0.1, used=600) == 0


# -- one code path ----------------------------------------------------------------------------


def test_python_api_calls_the_numba_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    assert fills.fill_price_nb is _fills_nb.fill_price_nb
    assert fills.execute_fill_nb is _fills_nb.execute_fill_nb
    assert fees.fee_nb is _costs_nb.fee_nb
    assert slippage_module.slipped_price_nb is _costs_nb.slipped_price_nb
    assert accounting.apply_fill_nb is _accounting_nb.apply_fill_nb
    for kernel in (_fills_nb.fill_price_nb, _costs_nb.fee_nb, _costs_nb.slipped_price_nb):
        assert isinstance(kernel, Dispatcher)
    calls: list[str] = []

    def spy(module: object, name: str) -> None:
        kernel = getattr(module, name)

        def wrapper(*args: object) -> object:
            calls.append(name)
            return kernel(*args)

        monkeypatch.setattr(module, name, wrapper)

    spy(fills, "fill_price_nb")
    spy(fees, "fee_nb")
    spy(slippage_module, "slipped_price_nb")
    fill_price(_limit(BUY, 100), 98.0, 99.0, 97.0)
    PerShareFee(0.01).fee(10, 5.0)
    FixedBpsSlippage(5).price("buy", 100.0, 10)
    assert calls == ["fill_price_nb", "fee_nb", "slipped_price_nb"]


def test_the_broker_books_fills_through_the_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime, timedelta

    from quantdesk.domain.market_data import Bar
    from quantdesk.execution.sim import AccountConfig, ExecutionConfig, SimulatedBroker, matching

    calls: list[str] = []
    for module, name in (
        (matching, "fill_price_nb"),
        (fills, "execute_fill_nb"),
        (accounting, "apply_fill_nb"),
        (accounting, "exposure_after_nb"),
    ):
        kernel = getattr(module, name)

        def wrapper(*args: object, _kernel: object = kernel, _name: str = name) -> object:
            calls.append(_name)
            return _kernel(*args)  # type: ignore[operator]

        monkeypatch.setattr(module, name, wrapper)
    broker = SimulatedBroker(AccountConfig(1e6), ExecutionConfig(fee_model=PerShareFee(0.01)))
    start = datetime(2024, 1, 1, tzinfo=UTC)
    broker.submit(_limit(BUY, 100), start)
    report = broker.process_bar(Bar("XYZ", "1d", start + timedelta(days=1), 98, 99, 97, 98.5, 1e6))
    assert report.fills[0].price == 98.0
    assert calls == [
        "exposure_after_nb",  # buying-power check on submission
        "fill_price_nb",  # the gap rule: opens at 98 below the limit 100
        "execute_fill_nb",  # slippage and fee
        "exposure_after_nb",  # buying-power check at the fill price
        "apply_fill_nb",  # position, average cost, realised P&L
    ]


@njit(cache=True)
def _inside_numba(
    order_type: int,
    side: int,
    limit: float,
    stop: float,
    bar: np.ndarray,
    fee_params: np.ndarray,
    slip_params: np.ndarray,
    quantity: float,
) -> tuple[float, float, float]:
    # What a vectorised simulator does: call the kernels from nopython code.
    price, _ = _fills_nb.fill_price_nb(order_type, side, limit, stop, False, bar[0], bar[1], bar[2])
    if math.isnan(price):
        return math.nan, math.nan, math.nan
    slipped = _costs_nb.slipped_price_nb(
        _costs_nb.SLIPPAGE_FIXED_BPS,
        slip_params,
        side,
        price,
        quantity,
        math.nan,
        math.nan,
        math.nan,
    )
    fee = _costs_nb.fee_nb(_costs_nb.FEE_PER_SHARE, fee_params, quantity, quantity * slipped)
    return price, slipped, fee


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from([OrderType.MARKET, OrderType.LIMIT, OrderType.STOP]),
    side=st.sampled_from([BUY, SELL]),
    level=st.floats(80, 120),
    open_=st.floats(80, 120),
    up=st.floats(0, 10),
    down=st.floats(0, 10),
    quantity=st.integers(1, 5_000),
    bps=st.floats(0, 50),
)
def test_numba_and_python_paths_agree(
    kind: OrderType,
    side: OrderSide,
    level: float,
    open_: float,
    up: float,
    down: float,
    quantity: int,
    bps: float,
) -> None:
    high, low = open_ + up, open_ - down
    limit = level if kind is OrderType.LIMIT else None
    stop = level if kind is OrderType.STOP else None
    order = Order("o", "XYZ", side, quantity, kind, limit_price=limit, stop_price=stop)
    fee_model = PerShareFee(0.005, minimum=1.0, maximum_rate=0.01)
    slip_model = FixedBpsSlippage(bps)
    python_price, _ = fill_price(order, open_, high, low)
    code = fills.ORDER_TYPE_CODES[kind]
    inside = _inside_numba(
        code,
        side.sign,
        math.nan if limit is None else limit,
        math.nan if stop is None else stop,
        np.array([open_, high, low]),
        fee_model.params,
        slip_model.params,
        float(quantity),
    )
    if python_price is None:
        assert math.isnan(inside[0])
        return
    slipped = slip_model.price(side, python_price, quantity)
    assert inside == (python_price, slipped, fee_model.fee(quantity, slipped))


@settings(max_examples=80, deadline=None)
@given(
    side=st.sampled_from([BUY, SELL]),
    level=st.floats(80, 120),
    open_=st.floats(80, 120),
    up=st.floats(0, 10),
    down=st.floats(0, 10),
)
def test_fill_prices_lie_in_the_bar_and_respect_the_level(
    side: OrderSide, level: float, open_: float, up: float, down: float
) -> None:
    high, low = open_ + up, open_ - down
    limit_price, _ = fill_price(_limit(side, level), open_, high, low)
    stop_price, _ = fill_price(_stop(side, level), open_, high, low)
    for price in (limit_price, stop_price):
        if price is not None:
            assert low <= price <= high
    if limit_price is not None:  # a limit never fills worse than its level
        assert (level - limit_price) * side.sign >= 0
    if stop_price is not None:  # a stop never fills better than its level
        assert (stop_price - level) * side.sign >= 0
    # a touched level always fills
    if low <= level <= high:
        assert limit_price is not None
        assert stop_price is not None


def test_public_surface_is_pinned() -> None:
    import quantdesk.execution.sim as sim

    assert sorted(sim.__all__) == sorted(
        [
            "ORDER_TYPE_CODES",
            "Account",
            "AccountConfig",
            "AccountPosition",
            "AccountSnapshot",
            "ExecutionConfig",
            "ExecutionReport",
            "FeeModel",
            "FixedBpsSlippage",
            "MarketContext",
            "MarketFill",
            "NoFee",
            "NoSlippage",
            "PerShareFee",
            "PercentFee",
            "SimulatedBroker",
            "SlippageModel",
            "SpreadSlippage",
            "SquareRootImpact",
            "TierBasis",
            "TieredFee",
            "capped_quantity",
            "execution_costs",
            "fill_price",
            "ratchet_extreme",
            "trailing_stop_price",
        ]
    )
    for name in sim.__all__:
        assert hasattr(sim, name)
