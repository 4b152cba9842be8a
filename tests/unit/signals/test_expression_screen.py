"""Screening a universe at the latest bar, inline and across worker processes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest
import talib
from expression_fixtures import REGISTRY, build_test_registry, ixic_bars, spx_bars

from quantdesk.indicators.registry import IndicatorRegistry
from quantdesk.signals.expressions import (
    ExpressionError,
    ScreenMatch,
    ScreenResult,
    compile_expression,
    compile_numeric,
    screen,
)

CONDITION = "close > sma(200) and rsi(14) > 50 or rsi(14) < 35"
DAY_US = 86_400_000_000
START_US = 1_600_000_000_000_000 - 1_600_000_000_000_000 % DAY_US


def constructed(close: npt.NDArray[np.float64], *, with_ts: bool = True) -> dict[str, object]:
    bars: dict[str, object] = {
        "open": close - 0.1,
        "high": close + 1.0,
        "low": close - 1.0,
        "close": close,
        "volume": np.full(close.shape, 1e6),
    }
    if with_ts:
        bars["ts"] = START_US + DAY_US * np.arange(close.shape[0], dtype=np.int64)
    return bars


def universe() -> dict[str, Mapping[str, object] | pl.DataFrame]:
    t = np.arange(400, dtype=np.float64)
    wiggle = np.sin(t / 3.0)
    rising = 100 + 0.5 * t + wiggle  # above its SMA(200), RSI well above 50
    dip = np.concatenate([100 + 0.5 * t[:380], 290 - 4.0 * np.arange(20)])  # sharp fall: RSI < 35
    sideways = np.concatenate(
        [300 - 0.5 * t[:300], 150 + 2 * np.sin(t[:100])]
    )  # below SMA, RSI ~50
    return {
        "SPX": spx_bars(),
        "IXIC": ixic_bars(),
        "RISING": constructed(rising),
        "DIP": pl.DataFrame(constructed(dip)),
        "SIDEWAYS": constructed(sideways, with_ts=False),
        "SHORT": constructed(rising[:150]),
        "NO_CLOSE": {"open": rising, "volume": rising},
    }


def independent_match(bars: Mapping[str, object]) -> tuple[bool, dict[str, float]]:
    close = np.asarray(bars["close"], dtype=np.float64)
    sma, rsi = talib.SMA(close, 200)[-1], talib.RSI(close, 14)[-1]
    values = {"close": float(close[-1]), "sma(200)": float(sma), "rsi(14)": float(rsi)}
    return bool((close[-1] > sma and rsi > 50) or rsi < 35), values


@pytest.fixture(scope="module")
def inline() -> ScreenResult:
    return screen(CONDITION, universe(), workers=1, registry=REGISTRY)


def test_matches_and_values_agree_with_talib(inline: ScreenResult) -> None:
    expected: dict[str, dict[str, float]] = {}
    for symbol, data in universe().items():
        if symbol in {"SHORT", "NO_CLOSE"}:
            continue
        bars = data.to_dict(as_series=False) if isinstance(data, pl.DataFrame) else data
        matched, values = independent_match(bars)
        if matched:
            expected[symbol] = values
    # The universe was built to have both outcomes; SPX ended 2018 below its 200-day SMA.
    assert set(expected) == {"RISING", "DIP"}
    assert inline.symbols == sorted(expected)
    for match in inline.matches:
        assert list(match.values) == ["close", "sma(200)", "rsi(14)"]
        for key, value in expected[match.symbol].items():
            assert match.values[key] == pytest.approx(value, rel=1e-12)
    assert inline.evaluated == 5
    assert inline.lookback == 199


def test_reports_the_time_of_the_last_bar(inline: ScreenResult) -> None:
    by_symbol = {match.symbol: match for match in inline.matches}
    expected = datetime.fromtimestamp((START_US + 399 * DAY_US) / 1e6, tz=UTC)
    assert by_symbol["RISING"].ts == expected
    assert by_symbol["DIP"].ts == expected  # from a polars frame
    result = screen("close > 0", {"SIDEWAYS": universe()["SIDEWAYS"]}, workers=1, registry=REGISTRY)
    assert result.matches == (ScreenMatch("SIDEWAYS", None, {"close": 150 + 2 * np.sin(99.0)}),)
    spx = screen("close > 0", {"SPX": spx_bars()}, workers=1, registry=REGISTRY)
    assert spx.matches[0].ts == datetime(2018, 12, 31, tzinfo=UTC)
    assert spx.matches[0].values == {"close": pytest.approx(2506.850098)}


def test_short_and_unusable_histories_are_skipped_with_a_reason(inline: ScreenResult) -> None:
    assert dict(inline.skipped) == {
        "NO_CLOSE": "unusable data: missing column 'close'",
        "SHORT": "history too short: 150 bars, the expression needs at least 200 (lookback 199)",
    }
    exact = screen(
        "close > sma(200)[5]", {"EDGE": constructed(np.arange(205.0))}, workers=1, registry=REGISTRY
    )
    assert exact.skipped == {}
    assert exact.symbols == ["EDGE"]
    too_short = screen(
        "close > sma(200)[5]", {"EDGE": constructed(np.arange(204.0))}, workers=1, registry=REGISTRY
    )
    assert too_short.skipped == {
        "EDGE": "history too short: 204 bars, the expression needs at least 205 (lookback 204)"
    }


def test_two_workers_give_the_same_result(inline: ScreenResult) -> None:
    # More symbols than chunks per worker, so several chunks really go to each process.
    big = universe()
    for index in range(20):
        big[f"R{index:02d}"] = constructed(100 + 0.3 * np.arange(250.0) + index)
    parallel = screen(CONDITION, big, workers=2, registry=REGISTRY)
    serial = screen(CONDITION, big, workers=1, registry=REGISTRY)
    assert parallel == serial
    assert {match.symbol for match in parallel.matches} >= {"RISING", "DIP", "R00", "R19"}
    assert [m for m in parallel.matches if m.symbol in inline.symbols] == list(inline.matches)


def test_compiled_expressions_and_bad_arguments() -> None:
    data = {"RISING": constructed(100 + 0.5 * np.arange(300.0))}
    compiled = compile_expression("close > sma(200)", REGISTRY)
    assert screen(compiled, data, workers=1).symbols == ["RISING"]
    with pytest.raises(ExpressionError, match="must be true or false"):
        screen(compile_numeric("close", REGISTRY), data, workers=1)
    with pytest.raises(ExpressionError, match="unknown function 'rsl'"):
        screen("rsl(14) < 30", data, workers=1, registry=REGISTRY)
    with pytest.raises(ValueError, match="at least 1"):
        screen("close > 1", data, workers=0, registry=REGISTRY)
    assert screen("close > 1", {}, workers=2, registry=REGISTRY).matches == ()


def test_an_unpicklable_registry_and_worker_start_methods(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = IndicatorRegistry()
    for spec in build_test_registry().specs():
        compute = spec.compute
        registry.register(replace(spec, compute=lambda i, p, c=compute: c(i, p)))
    data = {f"S{index}": constructed(np.arange(50.0) + index) for index in range(3)}
    assert len(screen("rsi(14) > 50", data, workers=1, registry=registry).matches) == 3
    # Forked workers inherit the registry: nothing needs pickling.
    assert len(screen("rsi(14) > 50", data, workers=2, registry=registry).matches) == 3
    # Where fork is unavailable, spawned workers need a picklable registry and say so.
    import quantdesk.signals.expressions._screen as screen_module

    monkeypatch.setattr(screen_module.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    with pytest.raises(ValueError, match="workers=1"):
        screen("rsi(14) > 50", data, workers=2, registry=registry)


def test_text_that_looks_like_python_is_rejected_before_any_work() -> None:
    with pytest.raises(ExpressionError, match="at column 12: unexpected quote"):
        screen("__import__('os').system('true')", {"X": spx_bars()}, workers=2, registry=REGISTRY)
