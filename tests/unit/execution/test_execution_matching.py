"""The simulated broker bar by bar on hand-worked SYNTHETIC bars: order types, gaps, time in
force, volume caps, brackets with OCO, trailing stops, rejections and corporate actions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from quantdesk.core.errors import Conflict, NotFound, ValidationError
from quantdesk.domain.market_data import Bar
from quantdesk.domain.orders import (
    Bracket,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    make_bracket,
)
from quantdesk.execution.sim import (
    AccountConfig,
    ExecutionConfig,
    ExecutionReport,
    FixedBpsSlippage,
    MarketContext,
    MarketFill,
    PerShareFee,
    SimulatedBroker,
    SquareRootImpact,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def bar(
    n: float, o: float, h: float, lo: float, c: float, v: float | None = 1e6, symbol: str = "XYZ"
) -> Bar:
    return Bar(symbol, "1d", day(n), o, h, lo, c, v)


def broker(cash: float = 1e6, *, leverage: float = 1.0, **execution: object) -> SimulatedBroker:
    return SimulatedBroker(
        AccountConfig(cash, max_leverage=leverage),
        ExecutionConfig(**execution),  # type: ignore[arg-type]
    )


def status(b: SimulatedBroker, order_id: str) -> OrderStatus:
    return b.order_state(order_id).status


def prices(report: ExecutionReport) -> list[tuple[str, float, float]]:
    return [(f.order_id, f.quantity, f.price) for f in report.fills]


# -- market orders ------------------------------------------------------------------------------


def test_market_order_fills_at_the_next_open() -> None:
    b = broker()
    b.process_bar(bar(0, 100, 101, 99, 100.5))
    report = b.submit(Order("m", "XYZ", BUY, 10), day(0))  # decided on bar 0's close
    assert report.updates[0].status is OrderStatus.ACCEPTED
    report = b.process_bar(bar(1, 101, 103, 100, 102))
    assert prices(report) == [("m", 10, 101.0)]  # bar 1's open
    assert status(b, "m") is OrderStatus.FILLED
    assert b.account.position("XYZ").quantity == 10
    # equity marked at bar 1's close: 1e6 - 1,010 + 10 x 102
    assert b.account.equity() == pytest.approx(1e6 + 10.0)


def test_an_order_never_fills_on_the_bar_it_was_decided_on() -> None:
    b = broker()
    b.submit(Order("m", "XYZ", BUY, 10), day(0))
    assert b.process_bar(bar(0, 100, 101, 99, 100.5)).fills == ()  # same timestamp
    assert prices(b.process_bar(bar(1, 101, 103, 100, 102))) == [("m", 10, 101.0)]


def test_same_close_fill_is_explicitly_optimistic() -> None:
    b = broker(market_fill=MarketFill.SAME_CLOSE_OPTIMISTIC)
    b.process_bar(bar(0, 100, 101, 99, 100.5))
    report = b.submit(Order("m", "XYZ", BUY, 10), day(0))
    assert prices(report) == [("m", 10, 100.5)]  # bar 0's close, already known: optimistic
    assert status(b, "m") is OrderStatus.FILLED


def test_fees_and_slippage_are_applied_to_fills() -> None:
    b = broker(fee_model=PerShareFee(0.005, minimum=1.0), slippage_model=FixedBpsSlippage(10))
    b.submit(Order("m", "XYZ", BUY, 1_000), day(0))
    fill = b.process_bar(bar(1, 50, 51, 49, 50.5)).fills[0]
    # 50 x (1 + 10 bps) = 50.05; cost 0.05 x 1,000 = 50; fee 1,000 x 0.005 = 5
    assert fill.price == pytest.approx(50.05)
    assert fill.slippage == pytest.approx(50.0)
    assert fill.fee == pytest.approx(5.0)
    # cash 1e6 - 50,050 - 5
    assert b.account.cash == pytest.approx(1e6 - 50_055.0)


def test_square_root_impact_uses_the_bar_context() -> None:
    b = broker(slippage_model=SquareRootImpact(1.0))
    b.submit(Order("m", "XYZ", SELL, 10_000), day(0))
    with pytest.raises(ValidationError, match="volatility and adv"):
        b.process_bar(bar(1, 100, 101, 99, 100))
    context = MarketContext(volatility=0.02, adv=1e6)
    fill = b.process_bar(bar(2, 100, 101, 99, 100), context).fills[0]
    # 1 x 0.02 x sqrt(10,000 / 1,000,000) = 0.2 %: sells at 99.80
    assert fill.price == pytest.approx(99.8)


# -- limit, stop, stop-limit through the broker ----------------------------------------------------


def test_limit_and_stop_gap_through_fill_at_the_open() -> None:
    b = broker()
    b.submit(Order("lim", "XYZ", BUY, 10, OrderType.LIMIT, limit_price=100), day(0))
    b.submit(Order("stp", "ABC", SELL, 10, OrderType.STOP, stop_price=95), day(0))
    # buy limit 100, bar opens at 98: fills at 98
    assert prices(b.process_bar(bar(1, 98, 99, 97, 98.5))) == [("lim", 10, 98.0)]
    # sell stop 95, bar opens at 93: fills at 93
    assert prices(b.process_bar(bar(1, 93, 94, 92, 93.5, symbol="ABC"))) == [("stp", 10, 93.0)]


def test_limit_order_waits_until_touched() -> None:
    b = broker()
    b.submit(Order("lim", "XYZ", SELL, 10, OrderType.LIMIT, limit_price=105), day(0))
    assert b.process_bar(bar(1, 100, 104.9, 99, 104)).fills == ()
    assert status(b, "lim") is OrderStatus.ACCEPTED
    assert prices(b.process_bar(bar(2, 103, 106, 102, 104))) == [("lim", 10, 105.0)]


def test_stop_limit_triggers_then_fills_as_a_limit() -> None:
    b = broker()
    order = Order("sl", "XYZ", BUY, 10, OrderType.STOP_LIMIT, stop_price=100, limit_price=101)
    b.submit(order, day(0))
    # gaps to 103 through the stop: triggered, but the low 102 never offers the limit 101
    assert b.process_bar(bar(1, 103, 104, 102, 103)).fills == ()
    # the next bar trades down to 100.5: the triggered buy limit 101 fills at 101
    assert prices(b.process_bar(bar(2, 102, 103, 100.5, 101))) == [("sl", 10, 101.0)]


# -- trailing stops -----------------------------------------------------------------------------


def test_trailing_stop_ratchets_with_each_bars_high() -> None:
    b = broker()
    b.submit(Order("buy", "XYZ", BUY, 10), day(-1))
    b.process_bar(bar(0, 100, 100, 100, 100))  # long 10 at 100
    trail = Order("ts", "XYZ", SELL, 10, OrderType.TRAILING_STOP, trail_amount=5)
    b.submit(trail, day(0))  # extreme starts at the last close 100: stop 95
    # bar 1 high 108 - but the level in force during bar 1 is still 95 (low 102.5 is above)
    # even though 108 - 5 = 103 would have been hit: a bar's own high never raises its stop
    assert b.process_bar(bar(1, 103, 108, 102.5, 107)).fills == ()
    # after bar 1 the stop is 108 - 5 = 103; bar 2 low 104 stays above it; high 110 -> 105
    assert b.process_bar(bar(2, 107, 110, 104, 109)).fills == ()
    # bar 3 opens 108, trades down to 104 through the stop 105: fills at 105
    assert prices(b.process_bar(bar(3, 108, 109, 104, 105))) == [("ts", 10, 105.0)]
    assert b.account.position("XYZ").quantity == 0


def test_trailing_stop_gap_and_percent_for_a_short() -> None:
    b = broker()
    trail = Order("ts", "XYZ", BUY, 10, OrderType.TRAILING_STOP, trail_percent=10)
    b.submit(trail, day(0))  # no price known yet: the extreme starts at bar 1's open
    # bar 1: open 100 -> stop 110 in force; high 105 stays below; lowest low 90 -> stop 99
    assert b.process_bar(bar(1, 100, 105, 90, 95)).fills == ()
    # bar 2 gaps up to 101 through the stop 99: buys at the open 101
    assert prices(b.process_bar(bar(2, 101, 102, 100, 101))) == [("ts", 10, 101.0)]


# -- time in force ------------------------------------------------------------------------------


def test_day_order_expires_when_the_next_session_starts() -> None:
    b = broker()
    b.submit(Order("d", "XYZ", BUY, 10, OrderType.LIMIT, limit_price=90, tif="day"), day(0))
    assert b.process_bar(bar(1, 100, 101, 95, 100)).fills == ()  # its session: day 1
    report = b.process_bar(bar(2, 91, 92, 89, 90))  # would touch 90, but day 2 is too late
    assert report.fills == ()
    assert status(b, "d") is OrderStatus.EXPIRED
    assert "session 2024-01-02" in (b.order_state("d").reason or "")


def test_day_order_lives_through_its_intraday_session() -> None:
    b = broker()
    hour = timedelta(hours=1)
    b.submit(Order("d", "XYZ", BUY, 10, OrderType.LIMIT, limit_price=90, tif="day"), day(1))
    b.process_bar(Bar("XYZ", "1h", day(1) + 10 * hour, 100, 101, 95, 100, 1e5))
    b.process_bar(Bar("XYZ", "1h", day(1) + 11 * hour, 100, 101, 95, 100, 1e5))
    assert status(b, "d") is OrderStatus.ACCEPTED
    report = b.end_session(date(2024, 1, 2), day(1) + 16 * hour)
    assert [u.status for u in report.updates] == [OrderStatus.EXPIRED]


def test_gtc_order_keeps_working() -> None:
    b = broker()
    b.submit(Order("g", "XYZ", BUY, 10, OrderType.LIMIT, limit_price=90), day(0))
    for n in range(1, 6):
        assert b.process_bar(bar(n, 100, 101, 95, 100)).fills == ()
    assert prices(b.process_bar(bar(8, 92, 93, 89, 90))) == [("g", 10, 90.0)]


def test_ioc_fills_what_it_can_and_cancels_the_rest() -> None:
    b = broker(participation=0.1)
    b.submit(Order("i", "XYZ", BUY, 1_000, tif=TimeInForce.IOC), day(0))
    # 10 % of 5,000 = 500 can trade on the first bar
    report = b.process_bar(bar(1, 100, 101, 99, 100, v=5_000))
    assert prices(report) == [("i", 500, 100.0)]
    state = b.order_state("i")
    assert (state.status, state.filled_quantity) == (OrderStatus.CANCELLED, 500)
    assert "immediate-or-cancel" in (state.reason or "")
    assert b.process_bar(bar(2, 100, 101, 99, 100, v=5_000)).fills == ()


def test_ioc_limit_not_reached_is_cancelled() -> None:
    b = broker()
    b.submit(Order("i", "XYZ", BUY, 10, OrderType.LIMIT, limit_price=90, tif="ioc"), day(0))
    b.process_bar(bar(1, 100, 101, 95, 100))
    assert status(b, "i") is OrderStatus.CANCELLED
    assert b.order_state("i").filled_quantity == 0


def test_fok_is_all_or_nothing() -> None:
    b = broker(participation=0.1)
    b.submit(Order("f", "XYZ", BUY, 1_000, tif="fok"), day(0))
    b.submit(Order("g", "XYZ", BUY, 400, tif="fok"), day(0))
    # only 500 of 1,000 could trade: the whole order is refused; the 400 fits in what is left
    report = b.process_bar(bar(1, 100, 101, 99, 100, v=5_000))
    assert prices(report) == [("g", 400, 100.0)]
    state = b.order_state("f")
    assert (state.status, state.filled_quantity) == (OrderStatus.CANCELLED, 0)
    assert "fill-or-kill" in (state.reason or "")
    assert status(b, "g") is OrderStatus.FILLED


# -- volume participation -------------------------------------------------------------------------


def test_participation_cap_produces_partial_fills() -> None:
    b = broker(participation=0.1, fee_model=PerShareFee(0.01, minimum=5.0))
    b.submit(Order("p", "XYZ", BUY, 1_000), day(0))
    first = b.process_bar(bar(1, 10, 11, 9, 10, v=3_000)).fills  # 10 % = 300
    assert status(b, "p") is OrderStatus.PARTIALLY_FILLED
    assert b.order_state("p").remaining_quantity == 700
    second = b.process_bar(bar(2, 10, 11, 9, 10, v=4_000)).fills  # 400
    third = b.process_bar(bar(3, 10, 11, 9, 10, v=5_000)).fills  # 500 allowed, 300 left
    assert [f.quantity for f in first + second + third] == [300, 400, 300]
    # fees on the order's cumulative size: fee(300) = max(3, 5) = 5; fee(700) = 7 -> +2;
    # fee(1,000) = 10 -> +3. The minimum is charged once for the order.
    assert [f.fee for f in first + second + third] == pytest.approx([5.0, 2.0, 3.0])
    assert status(b, "p") is OrderStatus.FILLED


def test_orders_share_the_bar_volume_in_submission_order() -> None:
    b = broker(participation=0.1)
    b.submit(Order("a", "XYZ", BUY, 400), day(0))
    b.submit(Order("b", "XYZ", BUY, 400), day(0))
    # 10 % of 5,000 = 500: a takes 400, b the remaining 100
    report = b.process_bar(bar(1, 10, 11, 9, 10, v=5_000))
    assert prices(report) == [("a", 400, 10.0), ("b", 100, 10.0)]


def test_lot_size_rounds_capped_quantities_down() -> None:
    b = broker(participation=0.1, lot_size=100)
    b.submit(Order("a", "XYZ", BUY, 1_000), day(0))
    # 10 % of 2,550 = 255 -> 200 in lots of 100
    assert prices(b.process_bar(bar(1, 10, 11, 9, 10, v=2_550))) == [("a", 200, 10.0)]


# -- brackets and OCO -----------------------------------------------------------------------------


def _bracket(entry: Order, b: SimulatedBroker, sl: float = 95, tp: float = 110) -> None:
    b.submit_bracket(make_bracket(entry, stop_loss=sl, take_profit=tp), day(0))


def test_bracket_both_exits_in_one_bar_assumes_the_stop_loss_first() -> None:
    b = broker()
    _bracket(Order("e", "XYZ", BUY, 10), b)
    # entry at the open 100; the bar then reaches both 110 (take-profit) and 94 (stop-loss):
    # conservative ordering - the adverse stop-loss fills at 95, the take-profit is cancelled
    report = b.process_bar(bar(1, 100, 112, 94, 100))
    assert prices(report) == [("e", 10, 100.0), ("e.sl", 10, 95.0)]
    assert status(b, "e.tp") is OrderStatus.CANCELLED
    assert "one-cancels-other" in (b.order_state("e.tp").reason or "")
    assert b.account.realised_pnl == pytest.approx(-50.0)  # (95 - 100) x 10


def test_bracket_exits_wait_while_the_entry_does_not_fill() -> None:
    b = broker()
    _bracket(Order("e", "XYZ", BUY, 10, OrderType.LIMIT, limit_price=99), b)
    # the entry's limit 99 is not reached; the take-profit 110 and stop 95 would be, but the
    # exits are held until the entry fills
    assert b.process_bar(bar(1, 100, 111, 99.5, 100)).fills == ()
    assert [o.id for o in b.open_orders("XYZ")] == ["e", "e.sl", "e.tp"]
    assert b.order_state("e.tp").filled_quantity == 0
    assert b.account.position("XYZ").quantity == 0


def test_bracket_with_a_trailing_stop_loss_trails_from_the_entry() -> None:
    b = broker()
    entry = Order("e", "XYZ", BUY, 10)
    trailing = Order(
        "e.ts", "XYZ", SELL, 10, OrderType.TRAILING_STOP, trail_amount=3, parent_id="e"
    )
    b.submit_bracket(Bracket(entry, stop_loss=trailing), day(0))
    # entry at the open 100: the trail starts there, stop 97; low 98 stays above; high 104
    assert prices(b.process_bar(bar(1, 100, 104, 98, 103))) == [("e", 10, 100.0)]
    # stop now 104 - 3 = 101; bar 2 trades down to 100: sells at 101
    assert prices(b.process_bar(bar(2, 103, 103.5, 100, 100.5))) == [("e.ts", 10, 101.0)]


def test_bracket_entry_inside_the_bar_takes_profit_only_on_the_next_bar() -> None:
    b = broker()
    _bracket(Order("e", "XYZ", BUY, 10, OrderType.LIMIT, limit_price=99), b)
    # entry fills inside the bar at 99; the high 111 may have come before the entry, so the
    # take-profit waits; the stop-loss 95 is not touched (low 98.5)
    assert prices(b.process_bar(bar(1, 100, 111, 98.5, 105))) == [("e", 10, 99.0)]
    assert prices(b.process_bar(bar(2, 105, 110.5, 104, 110))) == [("e.tp", 10, 110.0)]
    assert status(b, "e.sl") is OrderStatus.CANCELLED
    assert b.account.realised_pnl == pytest.approx(110.0)  # (110 - 99) x 10


def test_bracket_entry_inside_the_bar_can_still_stop_out() -> None:
    b = broker()
    _bracket(Order("e", "XYZ", BUY, 10, OrderType.LIMIT, limit_price=99), b)
    # entry at 99 inside the bar, the low 94 then hits the stop-loss at its level 95
    assert prices(b.process_bar(bar(1, 100, 101, 94, 96))) == [("e", 10, 99.0), ("e.sl", 10, 95.0)]


def test_take_profit_gap_at_the_open_goes_first() -> None:
    b = broker()
    _bracket(Order("e", "XYZ", BUY, 10), b)
    b.process_bar(bar(1, 100, 101, 99, 100))  # entry at 100
    # the next bar opens at 112 above the take-profit: it fills at the open, before the low
    # 94 of the same bar could touch the stop-loss
    assert prices(b.process_bar(bar(2, 112, 113, 94, 100))) == [("e.tp", 10, 112.0)]
    assert status(b, "e.sl") is OrderStatus.CANCELLED


def test_short_bracket() -> None:
    b = broker()
    _bracket(Order("e", "XYZ", SELL, 10), b, sl=105, tp=90)
    b.process_bar(bar(1, 100, 101, 99, 100))  # short 10 at 100
    assert prices(b.process_bar(bar(2, 99, 100, 89, 92))) == [("e.tp", 10, 90.0)]
    assert b.account.realised_pnl == pytest.approx(100.0)  # (100 - 90) x 10


def test_bracket_exits_follow_a_partially_filled_entry() -> None:
    b = broker(participation=0.1)
    _bracket(Order("e", "XYZ", BUY, 1_000), b)
    # 10 % of 6,000 = 600 of the entry fill; the exits now protect 600
    assert prices(b.process_bar(bar(1, 100, 101, 99, 100, v=6_000))) == [("e", 600, 100.0)]
    b.cancel("e", day(1))  # the rest of the entry is cancelled; the exits keep 600
    assert status(b, "e.tp") is OrderStatus.ACCEPTED
    report = b.process_bar(bar(2, 105, 111, 104, 110, v=100_000))
    assert prices(report) == [("e.tp", 600, 110.0)]
    assert status(b, "e.tp") is OrderStatus.FILLED
    assert status(b, "e.sl") is OrderStatus.CANCELLED
    assert b.account.position("XYZ").quantity == 0


def test_partial_exit_fill_reduces_the_other_exit() -> None:
    b = broker(participation=0.5)
    _bracket(Order("e", "XYZ", BUY, 1_000), b)
    b.process_bar(bar(1, 100, 101, 99, 100, v=2_000))  # 50 % of 2,000: the whole entry
    # take-profit touched, but only 50 % of 800 = 400 can trade
    assert prices(b.process_bar(bar(2, 105, 111, 104, 110, v=800))) == [("e.tp", 400, 110.0)]
    assert status(b, "e.tp") is OrderStatus.PARTIALLY_FILLED
    stop = b.order_state("e.sl")
    assert (stop.status, stop.remaining_quantity) == (OrderStatus.ACCEPTED, 600)
    # then the stop-loss is hit: it sells the remaining 600, completing the group
    assert prices(b.process_bar(bar(3, 97, 98, 94, 95, v=100_000))) == [("e.sl", 600, 95.0)]
    assert status(b, "e.sl") is OrderStatus.FILLED
    take = b.order_state("e.tp")
    assert (take.status, take.filled_quantity) == (OrderStatus.CANCELLED, 400)
    assert b.account.position("XYZ").quantity == 0
    # realised: 400 x (110 - 100) + 600 x (95 - 100) = 4,000 - 3,000
    assert b.account.realised_pnl == pytest.approx(1_000.0)


def test_exits_are_cancelled_when_the_entry_never_fills() -> None:
    b = broker()
    entry = Order("e", "XYZ", BUY, 10, OrderType.LIMIT, limit_price=90, tif="day")
    _bracket(entry, b, sl=85, tp=95)
    b.process_bar(bar(1, 100, 101, 99, 100))
    report = b.process_bar(bar(2, 100, 101, 99, 100))
    assert [(u.order_id, u.status) for u in report.updates] == [
        ("e", OrderStatus.EXPIRED),
        ("e.sl", OrderStatus.CANCELLED),
        ("e.tp", OrderStatus.CANCELLED),
    ]
    assert "before filling" in (b.order_state("e.sl").reason or "")


# -- rejections and commands ---------------------------------------------------------------------


def test_order_beyond_buying_power_is_rejected_at_submission() -> None:
    b = broker(10_000)
    b.process_bar(bar(0, 100, 100, 100, 100))
    # 200 x 100 = 20,000 > 1.0 x 10,000 equity
    report = b.submit(Order("big", "XYZ", BUY, 200), day(0))
    update = report.updates[0]
    assert update.status is OrderStatus.REJECTED
    assert "insufficient buying power" in (update.reason or "")
    assert b.open_orders() == ()


def test_fill_beyond_buying_power_is_rejected_at_the_fill() -> None:
    b = broker(10_000)
    b.process_bar(bar(0, 100, 100, 100, 100))
    # 99 x 100 = 9,900 passes; the next open is 102: 99 x 102 = 10,098 > 10,000
    assert b.submit(Order("o", "XYZ", BUY, 99), day(0)).updates[0].status is OrderStatus.ACCEPTED
    report = b.process_bar(bar(1, 102, 103, 101, 102))
    assert report.fills == ()
    assert report.updates[0].status is OrderStatus.REJECTED
    assert "buying power" in (report.updates[0].reason or "")


def test_leverage_allows_more_exposure() -> None:
    b = broker(10_000, leverage=2.0)
    b.process_bar(bar(0, 100, 100, 100, 100))
    b.submit(Order("o", "XYZ", BUY, 150), day(0))
    assert prices(b.process_bar(bar(1, 100, 101, 99, 100))) == [("o", 150, 100.0)]
    assert b.account.leverage() == pytest.approx(1.5)  # 15,000 / 10,000


def test_submission_errors() -> None:
    b = broker()
    b.submit(Order("a", "XYZ", BUY, 1), day(0))
    with pytest.raises(Conflict):
        b.submit(Order("a", "XYZ", BUY, 1), day(0))
    orphan = Order("c", "XYZ", SELL, 1, OrderType.STOP, stop_price=90, parent_id="nope")
    update = b.submit(orphan, day(0)).updates[0]
    assert update.status is OrderStatus.REJECTED
    assert "unknown" in (update.reason or "")
    with pytest.raises(NotFound):
        b.cancel("zzz", day(0))
    b.cancel("a", day(0))
    with pytest.raises(Conflict):
        b.cancel("a", day(0))
    with pytest.raises(ValueError, match="timezone"):
        b.submit(Order("d", "XYZ", BUY, 1), datetime(2024, 1, 1))


def test_bars_must_arrive_in_time_order() -> None:
    b = broker()
    b.process_bar(bar(1, 100, 101, 99, 100))
    with pytest.raises(ValueError, match="not after"):
        b.process_bar(bar(1, 100, 101, 99, 100))


def test_close_only_bars_fill_at_the_close() -> None:
    b = broker()
    b.submit(Order("m", "XYZ", BUY, 5), day(0))
    report = b.process_bar(Bar("XYZ", "1d", day(1), None, None, None, 42.0, None))
    assert prices(report) == [("m", 5, 42.0)]


# -- account events through the broker ------------------------------------------------------------


def test_borrow_accrues_over_the_weekend() -> None:
    b = SimulatedBroker(AccountConfig(100_000, borrow_rate=0.072, day_count=360))
    b.submit(Order("s", "XYZ", SELL, 100), day(3))  # Thursday
    b.process_bar(bar(4, 50, 50, 50, 50))  # Friday: short 100 at 50
    b.process_bar(bar(7, 50, 51, 49, 50))  # Monday: three calendar days
    # 100 x 50 = 5,000 x 7.2 % x 3 / 360 = 3.00
    assert b.account.borrow_costs == pytest.approx(3.0)
    b.process_bar(bar(8, 50, 61, 49, 60))  # Tuesday: one day on Monday's close 50 -> 1.00
    assert b.account.borrow_costs == pytest.approx(4.0)


def test_split_adjusts_positions_and_working_orders() -> None:
    b = broker()
    b.submit(Order("buy", "XYZ", BUY, 100), day(0))
    b.process_bar(bar(1, 60, 60, 60, 60))  # long 100 at 60
    b.submit(Order("lim", "XYZ", BUY, 100, OrderType.LIMIT, limit_price=50), day(1))
    report = b.apply_split("XYZ", 2.0, day(2))
    order = b.open_orders()[0]
    assert (order.quantity, order.limit_price) == (200, 25.0)  # 100 x 2 at 50 / 2
    assert "split" in (report.updates[0].reason or "")
    position = b.account.position("XYZ")
    assert (position.quantity, position.average_cost) == (200, 30.0)
    assert prices(b.process_bar(bar(2, 26, 27, 24.5, 25))) == [("lim", 200, 25.0)]


def test_dividend_on_a_short_is_paid() -> None:
    b = broker()
    b.submit(Order("s", "XYZ", SELL, 100), day(0))
    b.process_bar(bar(1, 40, 40, 40, 40))
    assert b.apply_dividend("XYZ", 0.25) == pytest.approx(-25.0)
    assert b.account.cash == pytest.approx(1e6 + 4_000 - 25)


def test_runs_are_deterministic() -> None:
    def run() -> list[tuple[str, float, float]]:
        b = broker(participation=0.2, slippage_model=FixedBpsSlippage(3))
        _bracket(Order("e", "XYZ", BUY, 500), b)
        b.submit(Order("x", "XYZ", SELL, 50, OrderType.LIMIT, limit_price=103), day(0))
        out: list[tuple[str, float, float]] = []
        for n, (o, h, lo, c) in enumerate([(100, 104, 99, 103), (103, 111, 101, 109)], 1):
            out += prices(b.process_bar(bar(n, o, h, lo, c, v=2_000)))
        return out

    assert run() == run()
