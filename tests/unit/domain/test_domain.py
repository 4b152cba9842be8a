from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from quantdesk.domain import (
    AssetClass,
    Bar,
    Instrument,
    Interval,
    Quote,
    Trade,
    TradeSide,
    normalize_symbol,
)

T0 = datetime(2024, 1, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" aapl ", "AAPL"), ("brk.b", "BRK.B"), ("^gspc", "^GSPC"), ("eurusd=x", "EURUSD=X")],
)
def test_normalize_symbol_accepts_common_tickers(raw: str, expected: str) -> None:
    assert normalize_symbol(raw) == expected


@pytest.mark.parametrize("raw", ["", "  ", "A B", "$AAPL", "X" * 33, "-AB"])
def test_normalize_symbol_rejects_malformed(raw: str) -> None:
    with pytest.raises(ValueError, match="invalid symbol"):
        normalize_symbol(raw)


def test_instrument_normalises_and_validates() -> None:
    instrument = Instrument("msft", "Microsoft", AssetClass.EQUITY, currency="usd")
    assert instrument.symbol == "MSFT"
    assert instrument.currency == "USD"
    assert instrument.synthetic is False
    with pytest.raises(ValueError, match="3-letter"):
        Instrument("MSFT", "Microsoft", currency="US")
    with pytest.raises(ValueError, match="non-empty name"):
        Instrument("MSFT", " ")


@pytest.mark.parametrize(
    ("text", "interval"),
    [
        ("1m", Interval.M1),
        ("5min", Interval.M5),
        ("60m", Interval.H1),
        ("daily", Interval.D1),
        ("1WK", Interval.W1),
        ("monthly", Interval.MO1),
    ],
)
def test_interval_parse_aliases(text: str, interval: Interval) -> None:
    assert Interval.parse(text) is interval


def test_interval_parse_error_lists_valid_values() -> None:
    with pytest.raises(ValueError, match=r"unknown interval '2h'.*1m, 5m, 15m, 1h, 1d, 1w, 1mo"):
        Interval.parse("2h")


@pytest.mark.parametrize(
    ("source", "target", "ok"),
    [
        (Interval.M1, Interval.M5, True),
        (Interval.M5, Interval.M15, True),
        (Interval.M15, Interval.H1, True),
        (Interval.H1, Interval.D1, True),
        (Interval.D1, Interval.W1, True),
        (Interval.D1, Interval.MO1, True),
        (Interval.W1, Interval.MO1, False),  # weeks straddle month ends
        (Interval.D1, Interval.H1, False),
        (Interval.MO1, Interval.W1, False),
        (Interval.D1, Interval.D1, True),
    ],
)
def test_can_resample_to(source: Interval, target: Interval, ok: bool) -> None:
    assert source.can_resample_to(target) is ok


def test_bar_accepts_consistent_ohlc_and_converts_to_utc() -> None:
    eastern = timezone(timedelta(hours=-5))
    bar = Bar("spx", "1d", datetime(2024, 1, 5, 9, 30, tzinfo=eastern), 10, 12, 9, 11, 100)
    assert bar.symbol == "SPX"
    assert bar.interval is Interval.D1
    assert bar.ts == datetime(2024, 1, 5, 14, 30, tzinfo=UTC)
    assert not bar.close_only


def test_close_only_bar() -> None:
    bar = Bar("AAPL", Interval.D1, T0, None, None, None, 125.0)
    assert bar.close_only


@pytest.mark.parametrize(
    ("ohlc", "message"),
    [
        ((10, 9.5, 9, 10), "high 9.5 is below"),
        ((10, 12, 10.5, 11), "low 10.5 is above"),
        ((10, 12, None, 11), "all be set"),
        ((0, 12, 9, 11), "open must be a finite positive"),
        ((10, 12, 9, float("nan")), "close must be a finite positive"),
    ],
)
def test_bar_rejects_inconsistent_values(ohlc: tuple[float | None, ...], message: str) -> None:
    open_, high, low, close = ohlc
    with pytest.raises(ValueError, match=message):
        Bar("X", Interval.D1, T0, open_, high, low, close)  # type: ignore[arg-type]


def test_bar_rejects_naive_time_and_negative_volume() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Bar("X", Interval.D1, datetime(2024, 1, 5), 1, 1, 1, 1)
    with pytest.raises(ValueError, match="volume"):
        Bar("X", Interval.D1, T0, 1, 1, 1, 1, -5)


def test_quote_mid_and_spread() -> None:
    quote = Quote("X", T0, bid=99.5, ask=100.5, bid_size=10, ask_size=20)
    assert quote.mid == 100.0
    assert quote.spread == 1.0
    with pytest.raises(ValueError, match="crossed"):
        Quote("X", T0, bid=101, ask=100, bid_size=1, ask_size=1)


def test_trade_validation() -> None:
    trade = Trade("X", T0, price=10.0, size=5, side="buy")  # type: ignore[arg-type]
    assert trade.side is TradeSide.BUY
    with pytest.raises(ValueError, match="size"):
        Trade("X", T0, price=10.0, size=0)
