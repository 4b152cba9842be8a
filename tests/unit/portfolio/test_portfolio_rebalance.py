"""Rebalance planning: hand-worked examples (arithmetic in the comments) and properties."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.core.errors import ValidationError
from quantdesk.portfolio.rebalance import (
    LotView,
    RebalanceOptions,
    RebalancePlan,
    Trade,
    plan_rebalance,
)

D = Decimal
AS_OF = date(2024, 3, 1)


def _trade(plan: RebalancePlan, symbol: str) -> Trade:
    (trade,) = [t for t in plan.trades if t.symbol == symbol]
    return trade


def _three_assets(**options: object) -> RebalancePlan:
    # A: 100 sh x $50 = 5,000; B: 50 sh x $40 = 2,000; C: 30 sh x $100 = 3,000; cash 0.
    # Total 10,000 -> weights A 0.5, B 0.2, C 0.3; targets A 0.4, B 0.3, C 0.3.
    return plan_rebalance(
        {"A": D(100), "B": D(50), "C": D(30)},
        {"A": D(50), "B": D(40), "C": D(100)},
        D(0),
        {"A": 0.4, "B": 0.3, "C": 0.3},
        as_of=AS_OF,
        options=RebalanceOptions(**options),  # type: ignore[arg-type]
    )


def test_three_assets_out_of_band() -> None:
    plan = _three_assets(absolute_band=0.05)
    # A drifts 0.1 > 0.05: sell (5,000 - 4,000) / 50 = 20 shares = 1,000.
    # B drifts 0.1 > 0.05: buy (3,000 - 2,000) / 40 = 25 shares = 1,000, paid by A's sale.
    # C is on target: no trade, not even a skip entry.
    assert [(t.symbol, t.side, t.quantity, t.notional) for t in plan.trades] == [
        ("A", "sell", D(20), D("1000.00")),
        ("B", "buy", D(25), D("1000.00")),
    ]
    assert plan.residual_cash == D("0.00")
    assert plan.total_value == D(10_000)
    assert plan.post_trade_weights == pytest.approx({"A": 0.4, "B": 0.3, "C": 0.3})
    assert plan.skipped == ()


def test_band_keeps_small_drift() -> None:
    # A band of 0.15 absolute covers both 0.1 drifts: nothing trades.
    plan = _three_assets(absolute_band=0.15)
    assert plan.trades == ()
    assert {(s.symbol, s.reason) for s in plan.skipped} == {
        ("A", "within_band"),
        ("B", "within_band"),
    }
    # Relative band 0.25: A drifts 0.1 <= 0.25 x 0.4 = 0.1 (inside);
    # B drifts 0.1 > 0.25 x 0.3 = 0.075 (outside) -> B wants 25 shares but there is no cash.
    plan = _three_assets(relative_band=0.25)
    assert plan.trades == ()
    assert [(s.symbol, s.reason) for s in plan.skipped] == [
        ("A", "within_band"),
        ("B", "insufficient_cash"),
    ]


def test_costs_shrink_the_buy() -> None:
    plan = _three_assets(absolute_band=0.05, cost_bps=D(10), cost_per_trade=D(1))
    # Sell A: 1,000 notional, cost 1,000 x 10 bp + 1 = 2.00 -> cash 998.00.
    # Buy B wants 1,000 x 1.001 + 1 = 1,002 > 998: scale (998 - 1) / 1,001 = 0.99600...
    # -> 1,000 x 0.996 / 40 = 24.9 -> 24 shares = 960.00, cost 0.96 + 1 = 1.96.
    # Cash: 998.00 - 960.00 - 1.96 = 36.04.
    sell, buy = plan.trades
    assert (sell.estimated_cost, buy.quantity, buy.estimated_cost) == (D(2), D(24), D("1.96"))
    assert plan.residual_cash == D("36.04")
    assert plan.total_estimated_cost == D("3.96")


def test_whole_share_rounding_and_fractional_mode() -> None:
    # Cash 1,000 only; target 100% in X at $300: 1,000 / 300 = 3.33 -> 3 shares = 900.
    plan = plan_rebalance({}, {"X": D(300)}, D(1000), {"X": 1.0}, as_of=AS_OF)
    assert _trade(plan, "X").quantity == D(3)
    assert plan.residual_cash == D("100.00")
    # Fractional: 1,000 / 300 = 3.333333 (6 places, rounded down); 3.333333 x 300 = 999.9999,
    # 1,000.00 at cents: exactly the cash, so the whole of it is spent.
    plan = plan_rebalance(
        {},
        {"X": D(300)},
        D(1000),
        {"X": 1.0},
        as_of=AS_OF,
        options=RebalanceOptions(whole_shares=False),
    )
    assert _trade(plan, "X").quantity == D("3.333333")
    assert plan.residual_cash == D("0.00")


def test_sell_rounds_to_nearest_share_and_never_oversells() -> None:
    # Y: 10 shares x $30 = 300, cash 0; target 0.5 -> sell 150 / 30 = 5 shares exactly.
    plan = plan_rebalance({"Y": D(10)}, {"Y": D(30)}, D(0), {"Y": 0.5}, as_of=AS_OF)
    assert _trade(plan, "Y").quantity == D(5)
    # Target 0.42 -> sell (300 - 126) / 30 = 5.8 -> 6 shares (nearest).
    plan = plan_rebalance({"Y": D(10)}, {"Y": D(30)}, D(0), {"Y": 0.42}, as_of=AS_OF)
    assert _trade(plan, "Y").quantity == D(6)
    # Exit of a fractional holding sells all 2.5 shares, never more.
    plan = plan_rebalance({"Z": D("2.5")}, {"Z": D(10)}, D(0), {}, as_of=AS_OF)
    assert _trade(plan, "Z").quantity == D("2.5")
    assert plan.residual_cash == D("25.00")


def test_min_trade_size_skip() -> None:
    # V = 97 x $10 = 970 + cash 30 = 1,000; target 1.0 -> buy 30 / 10 = 3 shares = 30.00,
    # below the 100 minimum: skipped.
    plan = plan_rebalance(
        {"M": D(97)},
        {"M": D(10)},
        D(30),
        {"M": 1.0},
        as_of=AS_OF,
        options=RebalanceOptions(min_trade_value=D(100)),
    )
    assert plan.trades == ()
    (skip,) = plan.skipped
    assert (skip.symbol, skip.reason) == ("M", "below_min_trade")


def test_cash_buffer_is_respected() -> None:
    # Holdings 9,000 (90 x $100) + cash 1,000 = 10,000. Targets 60% P, 40% Q (Q not held).
    # Sell P: 9,000 - 6,000 = 3,000 -> 30 shares; cash 4,000.
    # Buffer 5% x 10,000 = 500 -> at most 3,500 for Q (wants 4,000 at $70):
    # 4,000 x 3,500 / 4,000 / 70 = 50 shares = 3,500 -> cash 500, exactly the buffer.
    plan = plan_rebalance(
        {"P": D(90)},
        {"P": D(100), "Q": D(70)},
        D(1000),
        {"P": 0.6, "Q": 0.4},
        as_of=AS_OF,
        options=RebalanceOptions(cash_buffer=0.05),
    )
    assert _trade(plan, "P").quantity == D(30)
    assert _trade(plan, "Q").quantity == D(50)
    assert plan.residual_cash == D("500.00")
    assert plan.post_trade_weights == pytest.approx({"P": 0.6, "Q": 0.35})


LOTS = {
    "A": [
        LotView(quantity=D(60), unit_cost=D(30), acquired=date(2022, 1, 10)),  # 781 days: long
        LotView(quantity=D(40), unit_cost=D(45), acquired=date(2023, 11, 1)),  # 121 days: short
    ]
}


def test_highest_cost_lot_first_flags_short_term_gain() -> None:
    # A: 100 sh x $50 = 5,000, cash 0; target A 0.5, B 0.5 -> sell 2,500 / 50 = 50 shares.
    # Highest cost first: 40 sh of the $45 lot (gain 40 x 5 = 200, short term), then 10 sh of
    # the $30 lot (gain 10 x 20 = 200, long term). Realised 400, short-term 200.
    plan = plan_rebalance(
        {"A": D(100)},
        {"A": D(50), "B": D(25)},
        D(0),
        {"A": 0.5, "B": 0.5},
        as_of=AS_OF,
        lots=LOTS,
    )
    sell = _trade(plan, "A")
    assert sell.quantity == D(50)
    assert [(u.unit_cost, u.quantity, u.gain, u.short_term) for u in sell.lots_used] == [
        (D(45), D(40), D(200), True),
        (D(30), D(10), D(200), False),
    ]
    assert [u.holding_days for u in sell.lots_used] == [121, 781]
    assert sell.realized_gain == D("400.00")
    assert sell.short_term_gain == D("200.00")
    assert sell.short_term is True
    assert _trade(plan, "B").quantity == D(100)  # 2,500 / 25


def test_fifo_without_tax_lot_awareness() -> None:
    # Oldest first: 50 sh of the $30 lot, gain 50 x 20 = 1,000, all long term.
    plan = plan_rebalance(
        {"A": D(100)},
        {"A": D(50), "B": D(25)},
        D(0),
        {"A": 0.5, "B": 0.5},
        as_of=AS_OF,
        lots=LOTS,
        options=RebalanceOptions(tax_lot_aware=False),
    )
    sell = _trade(plan, "A")
    assert sell.realized_gain == D("1000.00")
    assert sell.short_term_gain == D("0.00")
    assert sell.short_term is False


def test_invalid_inputs_are_named() -> None:
    with pytest.raises(ValidationError) as caught:
        plan_rebalance(
            {"A": D(10), "B": D(-1)},
            {"A": D(5)},
            D(-3),
            {"A": 0.7, "C": 0.6},
            as_of=AS_OF,
            lots={"A": [LotView(D(4), D(1), date(2020, 1, 1))]},
        )
    found = {(issue.location, issue.field) for issue in caught.value.issues}
    assert found >= {
        ("cash", None),
        ("quantities", "B"),
        ("prices", "B"),
        ("prices", "C"),
        ("target_weights", None),
        ("lots", "A"),
    }
    with pytest.raises(ValidationError, match="cash_buffer"):
        plan_rebalance({}, {}, D(1), {}, as_of=AS_OF, options=RebalanceOptions(cash_buffer=1.0))


# --------------------------------------------------------------------------- properties

SYMBOLS = ["S1", "S2", "S3", "S4"]
prices_st = st.decimals(min_value=D("0.50"), max_value=D("900"), places=2)
quantity_st = st.decimals(min_value=D(0), max_value=D(500), places=3)


@st.composite
def portfolios(draw: st.DrawFn) -> dict[str, object]:
    prices = {s: draw(prices_st) for s in SYMBOLS}
    quantities = {s: draw(quantity_st) for s in SYMBOLS if draw(st.booleans())}
    raw = [draw(st.integers(min_value=0, max_value=100)) for _ in SYMBOLS]
    invested = draw(st.integers(min_value=0, max_value=100))
    total = sum(raw) or 1
    targets = {s: D(r * invested) / D(total * 100) for s, r in zip(SYMBOLS, raw, strict=True)}
    options = RebalanceOptions(
        absolute_band=draw(st.sampled_from([None, 0.0, 0.02, 0.1])),
        min_trade_value=draw(st.sampled_from([D(0), D(50), D(500)])),
        whole_shares=draw(st.booleans()),
        cash_buffer=draw(st.sampled_from([0.0, 0.01, 0.05, 0.2])),
        cost_bps=draw(st.sampled_from([D(0), D(5), D(25)])),
        cost_per_trade=draw(st.sampled_from([D(0), D(1), D("4.95")])),
    )
    cash = draw(st.decimals(min_value=D(0), max_value=D(100_000), places=2))
    return {
        "quantities": quantities,
        "prices": prices,
        "cash": cash,
        "targets": targets,
        "options": options,
    }


@settings(max_examples=150, deadline=None)
@given(portfolios())
def test_cash_never_negative_or_below_buffer(case: dict[str, object]) -> None:
    quantities: dict[str, Decimal] = case["quantities"]  # type: ignore[assignment]
    prices: dict[str, Decimal] = case["prices"]  # type: ignore[assignment]
    cash: Decimal = case["cash"]  # type: ignore[assignment]
    options: RebalanceOptions = case["options"]  # type: ignore[assignment]
    plan = plan_rebalance(
        quantities,
        prices,
        cash,
        case["targets"],
        as_of=AS_OF,
        options=options,  # type: ignore[arg-type]
    )
    assert plan.residual_cash >= 0
    floor = D(repr(options.cash_buffer)) * plan.total_value
    after_sells = cash + sum(
        (t.notional - t.estimated_cost for t in plan.trades if t.side == "sell"), D(0)
    )
    if any(t.side == "buy" for t in plan.trades):
        assert plan.residual_cash >= floor
    else:
        assert plan.residual_cash == after_sells
    spent = sum((t.notional + t.estimated_cost for t in plan.trades if t.side == "buy"), D(0))
    assert plan.residual_cash == after_sells - spent
    for trade in plan.trades:
        assert trade.quantity > 0
        if trade.side == "sell":
            assert trade.quantity <= quantities[trade.symbol]
        elif options.whole_shares:
            assert trade.quantity == trade.quantity.to_integral_value()
    sells = [t.symbol for t in plan.trades if t.side == "sell"]
    assert len(sells) == len(set(sells))
    assert [t.side for t in plan.trades] == sorted(
        (t.side for t in plan.trades), key=lambda side: side == "buy"
    )
