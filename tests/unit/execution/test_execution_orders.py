"""Order, bracket and fill value objects: validation names the offending field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from quantdesk.core.errors import ValidationError
from quantdesk.domain.orders import (
    Bracket,
    Fill,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    make_bracket,
)


def _fields(error: pytest.ExceptionInfo[ValidationError]) -> set[str | None]:
    return {issue.field for issue in error.value.issues}


def test_order_normalises_and_coerces() -> None:
    order = Order("o1", " aapl ", "buy", 10, "limit", limit_price=100, tif="day")  # type: ignore[arg-type]
    assert order.symbol == "AAPL"
    assert order.side is OrderSide.BUY
    assert order.type is OrderType.LIMIT
    assert order.tif is TimeInForce.DAY
    assert order.quantity == 10.0
    assert isinstance(order.quantity, float)
    assert order.signed_quantity == 10.0
    assert Order("o2", "AAPL", OrderSide.SELL, 5).signed_quantity == -5.0


def test_order_defaults_to_market_good_till_cancelled() -> None:
    order = Order("o1", "AAPL", OrderSide.BUY, 1)
    assert order.type is OrderType.MARKET
    assert order.tif is TimeInForce.GTC


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -5}, "quantity"),
        ({"quantity": float("nan")}, "quantity"),
        ({"type": OrderType.LIMIT}, "limit_price"),
        ({"type": OrderType.STOP}, "stop_price"),
        ({"type": OrderType.STOP_LIMIT, "stop_price": 99.0}, "limit_price"),
        ({"type": OrderType.STOP_LIMIT, "limit_price": 99.0}, "stop_price"),
        ({"type": OrderType.TRAILING_STOP}, "trail_amount"),
        (
            {"type": OrderType.TRAILING_STOP, "trail_amount": 1.0, "trail_percent": 2.0},
            "trail_amount",
        ),
        ({"type": OrderType.TRAILING_STOP, "trail_percent": 150.0}, "trail_percent"),
        ({"limit_price": 100.0}, "limit_price"),
        ({"type": OrderType.LIMIT, "limit_price": -1.0}, "limit_price"),
        ({"side": "hold"}, "side"),
        ({"tif": "week"}, "tif"),
        ({"symbol": "$$$"}, "symbol"),
        ({"id": ""}, "id"),
        ({"parent_id": "o1"}, "parent_id"),
    ],
)
def test_invalid_orders_name_the_field(kwargs: dict[str, object], field: str) -> None:
    base: dict[str, object] = {"id": "o1", "symbol": "AAPL", "side": "buy", "quantity": 10}
    with pytest.raises(ValidationError) as error:
        Order(**(base | kwargs))  # type: ignore[arg-type]
    assert field in _fields(error)


def test_validation_reports_every_issue_at_once() -> None:
    with pytest.raises(ValidationError) as error:
        Order("o1", "AAPL", OrderSide.BUY, -1, OrderType.STOP_LIMIT)
    assert {"quantity", "stop_price", "limit_price"} <= _fields(error)


def test_terminal_statuses() -> None:
    terminal = {s for s in OrderStatus if s.is_terminal}
    assert terminal == {
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
        OrderStatus.REJECTED,
        OrderStatus.EXPIRED,
    }


def test_make_bracket_links_exits() -> None:
    entry = Order("e", "AAPL", OrderSide.BUY, 100, OrderType.LIMIT, limit_price=100)
    bracket = make_bracket(entry, stop_loss=95, take_profit=110)
    assert bracket.stop_loss is not None
    assert bracket.take_profit is not None
    assert [o.id for o in bracket.orders] == ["e", "e.sl", "e.tp"]
    for child in (bracket.stop_loss, bracket.take_profit):
        assert child.parent_id == "e"
        assert child.side is OrderSide.SELL
        assert child.quantity == 100
        assert child.oco_group == "e.oco"
    assert bracket.stop_loss.type is OrderType.STOP
    assert bracket.stop_loss.stop_price == 95
    assert bracket.take_profit.type is OrderType.LIMIT
    assert bracket.take_profit.limit_price == 110


def test_make_bracket_rejects_levels_on_the_wrong_side() -> None:
    entry = Order("e", "AAPL", OrderSide.BUY, 100, OrderType.LIMIT, limit_price=100)
    with pytest.raises(ValidationError) as error:
        make_bracket(entry, stop_loss=101, take_profit=99)
    assert {"stop_loss", "take_profit"} <= _fields(error)
    short = Order("s", "AAPL", OrderSide.SELL, 100)
    make_bracket(short, stop_loss=105, take_profit=90)  # a short's stop is above
    with pytest.raises(ValidationError):
        make_bracket(short, stop_loss=90, take_profit=105)
    with pytest.raises(ValidationError):
        make_bracket(short)


def test_bracket_checks_linkage() -> None:
    entry = Order("e", "AAPL", OrderSide.BUY, 100)
    wrong = Order("x", "AAPL", OrderSide.BUY, 100, OrderType.STOP, stop_price=90, parent_id="z")
    with pytest.raises(ValidationError) as error:
        Bracket(entry, stop_loss=wrong)
    assert "stop_loss" in _fields(error)


def test_fill_rejects_broken_invariants() -> None:
    ts = datetime(2024, 1, 2, tzinfo=UTC)
    fill = Fill("o", "AAPL", ts, OrderSide.SELL, 10, 50.0, 1.0, 0.5)
    assert fill.signed_quantity == -10
    assert fill.notional == 500.0
    with pytest.raises(ValueError, match="quantity"):
        Fill("o", "AAPL", ts, OrderSide.BUY, 0, 50.0)
    with pytest.raises(ValueError, match="price"):
        Fill("o", "AAPL", ts, OrderSide.BUY, 1, float("nan"))
    with pytest.raises(ValueError, match="timezone"):
        Fill("o", "AAPL", datetime(2024, 1, 2), OrderSide.BUY, 1, 1.0)
