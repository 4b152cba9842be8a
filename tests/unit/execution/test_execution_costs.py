"""Fee and slippage models against hand-worked numbers, plus their monotonicity properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.core.errors import ValidationError
from quantdesk.domain.orders import Order, OrderSide, OrderType
from quantdesk.execution.sim import (
    FixedBpsSlippage,
    NoFee,
    NoSlippage,
    PercentFee,
    PerShareFee,
    SpreadSlippage,
    SquareRootImpact,
    TierBasis,
    TieredFee,
    execution_costs,
)

IBKR = PerShareFee(0.005, minimum=1.0, maximum_rate=0.01)


@pytest.mark.parametrize(
    ("quantity", "price", "expected"),
    [
        (1_000, 50.0, 5.0),  # 1,000 x 0.005 = 5.00 (above the 1.00 minimum)
        (100, 50.0, 1.0),  # 100 x 0.005 = 0.50 -> minimum 1.00 (cap 1 % x 5,000 = 50)
        (10, 5.0, 0.5),  # 0.05 -> minimum 1.00 -> capped at 1 % x 50 = 0.50
        (0, 50.0, 0.0),  # no trade, no fee
    ],
)
def test_per_share_fee_with_minimum_and_cap(quantity: int, price: float, expected: float) -> None:
    assert IBKR.fee(quantity, price) == pytest.approx(expected)


def test_percent_fee_with_minimum() -> None:
    model = PercentFee(0.001, minimum=5.0)
    assert model.fee(100, 20.0) == pytest.approx(5.0)  # 0.1 % x 2,000 = 2 -> minimum 5
    assert model.fee(100, 200.0) == pytest.approx(20.0)  # 0.1 % x 20,000 = 20


def test_tiered_fee_by_notional_is_progressive() -> None:
    model = TieredFee((0, 10_000, 50_000), (0.001, 0.0005, 0.0002), minimum=7.0)
    # 60,000: 10,000 x 0.1 % = 10 + 40,000 x 0.05 % = 20 + 10,000 x 0.02 % = 2 -> 32
    assert model.fee(600, 100.0) == pytest.approx(32.0)
    # 30,000: 10 + 20,000 x 0.05 % = 10 -> 20
    assert model.fee(300, 100.0) == pytest.approx(20.0)
    # 5,000: 5 -> minimum 7
    assert model.fee(50, 100.0) == pytest.approx(7.0)


def test_tiered_fee_by_shares() -> None:
    model = TieredFee((0, 500), (0.01, 0.005), basis=TierBasis.SHARES)
    # 800 shares: 500 x 0.01 = 5 + 300 x 0.005 = 1.5 -> 6.5 (price does not matter)
    assert model.fee(800, 12.0) == pytest.approx(6.5)
    assert model.fee(800, 120.0) == pytest.approx(6.5)
    assert model.fee(200, 120.0) == pytest.approx(2.0)


def test_tiered_fee_with_cap() -> None:
    model = TieredFee((0,), (0.01,), basis="shares", minimum=1.0, maximum_rate=0.005)  # type: ignore[arg-type]
    # 100 shares x 0.01 = 1.00; the cap 0.5 % of 100 x 1.00 = 0.50 wins
    assert model.fee(100, 1.0) == pytest.approx(0.5)


def test_no_fee() -> None:
    assert NoFee().fee(1_000, 100.0) == 0.0


@pytest.mark.parametrize(
    "build",
    [
        lambda: PerShareFee(-0.01),
        lambda: PercentFee(0.001, minimum=float("nan")),
        lambda: TieredFee((10, 20), (0.1, 0.2)),
        lambda: TieredFee((0, 20), (0.1,)),
        lambda: TieredFee((0, 20, 10), (0.1, 0.2, 0.3)),
        lambda: FixedBpsSlippage(-1),
        lambda: SquareRootImpact(adv=0),
    ],
)
def test_bad_model_parameters_are_rejected(build: object) -> None:
    with pytest.raises(ValidationError):
        build()  # type: ignore[operator]


def test_fixed_bps_slippage() -> None:
    model = FixedBpsSlippage(10)
    assert model.price("buy", 100.0, 50) == pytest.approx(100.1)  # 100 x (1 + 0.001)
    assert model.price("sell", 100.0, 50) == pytest.approx(99.9)
    assert NoSlippage().price("buy", 100.0, 50) == 100.0


def test_spread_slippage_pays_half_the_spread() -> None:
    model = SpreadSlippage(spread_bps=20)
    # quoted bid 99.9 / ask 100.1: spread 0.2, half = 0.1
    assert model.price("buy", 100.0, 1, spread=0.2) == pytest.approx(100.1)
    assert model.price("sell", 100.0, 1, spread=0.2) == pytest.approx(99.9)
    # no quote: spread 20 bps of 100 = 0.20, half = 0.10
    assert model.price("buy", 100.0, 1) == pytest.approx(100.1)
    with pytest.raises(ValidationError, match="spread"):
        SpreadSlippage().price("buy", 100.0, 1)


def test_square_root_impact() -> None:
    model = SquareRootImpact(coefficient=1.0)
    # k=1, sigma=2 %, Q/ADV = 10,000 / 1,000,000 = 1 %: 1 x 0.02 x sqrt(0.01) = 0.2 % of 100
    assert model.price("buy", 100.0, 10_000, volatility=0.02, adv=1e6) == pytest.approx(100.2)
    assert model.price("sell", 100.0, 10_000, volatility=0.02, adv=1e6) == pytest.approx(99.8)
    defaults = SquareRootImpact(coefficient=0.5, volatility=0.02, adv=1e6)
    # 0.5 x 0.02 x sqrt(40,000 / 1,000,000) = 0.5 x 0.02 x 0.2 = 0.2 % of 50 = 0.10
    assert defaults.price("buy", 50.0, 40_000) == pytest.approx(50.1)
    # four times the size costs twice as much (square root)
    small = defaults.price("buy", 50.0, 10_000) - 50.0
    assert defaults.price("buy", 50.0, 40_000) - 50.0 == pytest.approx(2 * small)
    with pytest.raises(ValidationError, match="volatility and adv"):
        model.price("buy", 100.0, 1)


def test_execution_costs_caps_slippage_at_the_limit() -> None:
    order = Order("o", "XYZ", OrderSide.BUY, 100, OrderType.LIMIT, limit_price=100)
    ten_bps, fees = FixedBpsSlippage(10), NoFee()
    # filled at the limit 100: 100.1 would be worse than the limit, so 100
    assert execution_costs(order, 100, 100.0, fees, ten_bps) == (100.0, 0.0, 0.0)
    # filled at a gap open of 98: 98 x 1.001 = 98.098, within the limit; cost 0.098 x 100
    price, _, cost = execution_costs(order, 100, 98.0, fees, ten_bps)
    assert price == pytest.approx(98.098)
    assert cost == pytest.approx(9.8)
    # 300 bps: 98 x 1.03 = 100.94 -> capped at the limit 100
    price, _, cost = execution_costs(order, 100, 98.0, fees, FixedBpsSlippage(300))
    assert price == pytest.approx(100.0)
    assert cost == pytest.approx(200.0)


def test_execution_costs_charges_the_minimum_once_per_order() -> None:
    order = Order("o", "XYZ", OrderSide.BUY, 1_000)
    model = PerShareFee(0.01, minimum=5.0)
    # first partial fill of 300: 3.00 -> minimum 5.00
    _, first, _ = execution_costs(order, 300, 10.0, model, NoSlippage())
    # then 400 more: fee(700) = 7.00, minus the 5.00 already charged = 2.00
    _, second, _ = execution_costs(
        order, 400, 10.0, model, NoSlippage(), order_filled=300, order_notional=3_000, order_fees=5
    )
    # then the last 300: fee(1,000) = 10.00 - 7.00 = 3.00
    _, third, _ = execution_costs(
        order, 300, 10.0, model, NoSlippage(), order_filled=700, order_notional=7_000, order_fees=7
    )
    assert (first, second, third) == pytest.approx((5.0, 2.0, 3.0))


def test_execution_costs_reports_missing_inputs_as_nan() -> None:
    order = Order("o", "XYZ", OrderSide.BUY, 10)
    price, _, _ = execution_costs(order, 10, 100.0, NoFee(), SquareRootImpact())
    assert math.isnan(price)


@settings(max_examples=100, deadline=None)
@given(
    model=st.sampled_from(
        [
            IBKR,
            PercentFee(0.001, minimum=2.0),
            TieredFee((0, 10_000, 50_000), (0.001, 0.0005, 0.0002), minimum=1.0),
            TieredFee((0, 500), (0.01, 0.005), basis=TierBasis.SHARES, maximum_rate=0.01),
        ]
    ),
    quantity=st.integers(1, 20_000),
    extra=st.integers(0, 20_000),
    price=st.floats(0.5, 500),
)
def test_fees_never_decrease_with_size(
    model: PerShareFee, quantity: int, extra: int, price: float
) -> None:
    smaller = model.fee(quantity, price)
    larger = model.fee(quantity + extra, price)
    assert 0.0 <= smaller <= larger + 1e-12


@settings(max_examples=100, deadline=None)
@given(
    model=st.sampled_from(
        [FixedBpsSlippage(7.5), SpreadSlippage(12.0), SquareRootImpact(0.8, 0.015, 2e6)]
    ),
    side=st.sampled_from([OrderSide.BUY, OrderSide.SELL]),
    price=st.floats(1, 1_000),
    quantity=st.integers(1, 100_000),
)
def test_slippage_is_always_adverse(
    model: FixedBpsSlippage, side: OrderSide, price: float, quantity: int
) -> None:
    slipped = model.price(side, price, quantity)
    assert (slipped - price) * side.sign >= 0
