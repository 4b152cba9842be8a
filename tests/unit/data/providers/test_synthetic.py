"""The synthetic market: determinism, bar validity, exact intraday aggregation, stylised facts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from quantdesk.data.ports import FetchRequest, MarketDataProvider
from quantdesk.data.providers.synthetic import (
    INDEX_SYMBOL,
    SyntheticMarketConfig,
    SyntheticMarketProvider,
)
from quantdesk.data.validation import validate_batch
from quantdesk.domain import AssetClass, Interval

FloatArray = npt.NDArray[np.float64]
PRICES_AND_VOLUME = ("open", "high", "low", "close", "volume")


def _frames(
    provider: SyntheticMarketProvider,
    interval: Interval = Interval.D1,
    *,
    symbols: tuple[str, ...] = (),
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, pl.DataFrame]:
    request = FetchRequest(symbols=symbols, interval=interval, start=start, end=end)
    return {batch.instruments[0].symbol: batch.bars for batch in provider.fetch(request)}


def _aggregate(intraday: pl.DataFrame) -> pl.DataFrame:
    """Aggregate intraday bars into one row per session date (open first, close last)."""
    return (
        intraday.sort("ts")
        .group_by(pl.col("ts").dt.truncate("1d").alias("ts"), maintain_order=True)
        .agg(
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
            pl.col("volume").sum(),
            pl.len().alias("bars"),
            pl.col("ts").min().dt.time().alias("first"),
            pl.col("ts").max().dt.time().alias("last"),
        )
    )


def _assert_aggregates_exactly(daily: pl.DataFrame, intraday: pl.DataFrame, n_bars: int) -> None:
    sessions = _aggregate(intraday)
    joined = sessions.join(daily, on="ts", how="left", suffix="_daily")
    assert joined.height == sessions.height
    assert joined.get_column("close_daily").null_count() == 0
    for column in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(
            joined.get_column(column).to_numpy(), joined.get_column(f"{column}_daily").to_numpy()
        )
    assert np.isclose(
        joined.get_column("volume").to_numpy(),
        joined.get_column("volume_daily").to_numpy(),
        rtol=1e-12,
        atol=0.0,
    ).all()
    assert (joined.get_column("bars") == n_bars).all()


def _assert_ohlc_consistent(frame: pl.DataFrame) -> None:
    o, h, lo, c, v = (frame.get_column(name).to_numpy() for name in PRICES_AND_VOLUME)
    assert np.isfinite(np.stack([o, h, lo, c, v])).all()
    assert (lo > 0).all()
    assert (h >= np.maximum(o, c)).all()
    assert (lo <= np.minimum(o, c)).all()
    assert (v >= 0).all()


def _acf1(series: FloatArray) -> float:
    centred = series - series.mean()
    return float((centred[1:] * centred[:-1]).sum() / (centred * centred).sum())


@pytest.fixture(scope="module")
def provider() -> SyntheticMarketProvider:
    return SyntheticMarketProvider(SyntheticMarketConfig(seed=7, days=300))


@pytest.fixture(scope="module")
def long_daily() -> dict[str, pl.DataFrame]:
    return _frames(SyntheticMarketProvider(SyntheticMarketConfig(seed=2024, days=2520)))


@pytest.fixture(scope="module")
def long_returns(long_daily: dict[str, pl.DataFrame]) -> FloatArray:
    closes = np.column_stack(
        [frame.get_column("close").to_numpy() for frame in long_daily.values()]
    )
    return np.diff(np.log(closes), axis=0)


def test_provider_satisfies_the_port(provider: SyntheticMarketProvider) -> None:
    assert isinstance(provider, MarketDataProvider)
    assert provider.name == "synthetic"
    assert provider.intervals == (Interval.D1, Interval.M5)


def test_same_seed_gives_bit_identical_bars() -> None:
    config = SyntheticMarketConfig(seed=3, days=250, intraday_days=4)
    first, second = SyntheticMarketProvider(config), SyntheticMarketProvider(config)
    for interval in (Interval.D1, Interval.M5):
        a, b = _frames(first, interval), _frames(second, interval)
        assert list(a) == list(b)
        for symbol in a:
            assert a[symbol].equals(b[symbol])


def test_different_seeds_give_different_bars() -> None:
    a = _frames(SyntheticMarketProvider(SyntheticMarketConfig(seed=1, days=50)))
    b = _frames(SyntheticMarketProvider(SyntheticMarketConfig(seed=2, days=50)))
    assert a.keys() == b.keys()
    for symbol in a:
        assert not np.array_equal(a[symbol]["close"].to_numpy(), b[symbol]["close"].to_numpy())


def test_longer_run_extends_a_shorter_one_unchanged() -> None:
    short = _frames(SyntheticMarketProvider(SyntheticMarketConfig(seed=5, days=120)))
    long = _frames(SyntheticMarketProvider(SyntheticMarketConfig(seed=5, days=200)))
    for symbol, frame in short.items():
        assert long[symbol].head(120).drop("row").equals(frame.drop("row"))


def test_intraday_of_a_day_does_not_depend_on_how_many_days_are_generated() -> None:
    few = SyntheticMarketProvider(SyntheticMarketConfig(seed=5, days=60, intraday_days=2))
    many = SyntheticMarketProvider(SyntheticMarketConfig(seed=5, days=60, intraday_days=6))
    few_daily, many_daily = _frames(few), _frames(many)
    assert all(frame.equals(many_daily[symbol]) for symbol, frame in few_daily.items())
    few_bars, many_bars = _frames(few, Interval.M5), _frames(many, Interval.M5)
    for symbol, frame in few_bars.items():
        assert frame.height == 2 * 78
        assert many_bars[symbol].tail(frame.height).drop("row").equals(frame.drop("row"))


def test_instruments_are_flagged_synthetic(provider: SyntheticMarketProvider) -> None:
    instruments = provider.instruments()
    equities = [inst for inst in instruments if inst.asset_class == AssetClass.EQUITY]
    indices = [inst for inst in instruments if inst.asset_class == AssetClass.INDEX]
    assert len(equities) == 15
    assert [inst.symbol for inst in indices] == [INDEX_SYMBOL]
    for inst in instruments:
        assert inst.synthetic
        assert "synthetic" in inst.name.lower()
        assert inst.source == "synthetic"
        assert inst.exchange == "SYNTH"
        assert inst.currency == "USD"
    for inst in equities:
        assert re.fullmatch(r"SYN-[A-Z]{3}[1-9][0-9]?", inst.symbol)
        assert inst.sector is not None
        assert inst.symbol[4:7] == inst.sector[:3].upper()
    assert equities[0].symbol == "SYN-TEC1"
    assert equities[0].name == "Synthetic Technology 1 (synthetic)"
    sectors = [inst.sector for inst in equities]
    assert {sector: sectors.count(sector) for sector in sectors} == {
        "Technology": 3,
        "Financials": 3,
        "Healthcare": 3,
        "Energy": 3,
        "Industrials": 3,
    }


@pytest.mark.parametrize("interval", [Interval.D1, Interval.M5])
def test_every_batch_passes_validation(
    provider: SyntheticMarketProvider, interval: Interval
) -> None:
    batches = list(provider.fetch(FetchRequest(interval=interval)))
    assert len(batches) == 16
    expected_rows = 300 if interval == Interval.D1 else 20 * 78
    for batch in batches:
        symbol = batch.instruments[0].symbol
        assert batch.source == f"synthetic:{symbol}"
        assert batch.bars.get_column("row").to_list() == list(range(1, expected_rows + 1))
        assert (batch.bars.get_column("symbol") == symbol).all()
        assert (batch.bars.get_column("interval") == interval.value).all()
        report = validate_batch(batch)
        assert report.issues == ()
        assert report.rejected_rows == 0
        assert report.valid.height == expected_rows


def test_daily_bars_are_stamped_at_midnight_on_business_days(
    long_daily: dict[str, pl.DataFrame],
) -> None:
    ts = long_daily["SYN-TEC1"].get_column("ts")
    assert ts.dtype == pl.Datetime("us", "UTC")
    assert (ts.dt.time() == time(0, 0)).all()
    assert (ts.dt.weekday() <= 5).all()  # polars: Monday=1 ... Sunday=7
    days = ts.dt.date().to_numpy().astype("datetime64[D]")
    assert days[0] == np.datetime64("2015-01-02")
    # Consecutive business days: no weekday is skipped, no weekend day appears.
    assert (np.busday_count(days[:-1], days[1:]) == 1).all()


def test_start_on_a_weekend_rolls_forward_to_monday() -> None:
    config = SyntheticMarketConfig(start=date(2015, 1, 3), days=3, intraday_days=0)
    frame = _frames(SyntheticMarketProvider(config))["SYN-IDX"]
    assert frame.get_column("ts").to_list() == [
        datetime(2015, 1, 5, tzinfo=UTC),
        datetime(2015, 1, 6, tzinfo=UTC),
        datetime(2015, 1, 7, tzinfo=UTC),
    ]


def test_intraday_bars_aggregate_exactly_to_the_daily_bar(
    provider: SyntheticMarketProvider,
) -> None:
    daily = _frames(provider)
    intraday = _frames(provider, Interval.M5)
    for symbol, frame in intraday.items():
        _assert_aggregates_exactly(daily[symbol], frame, n_bars=78)
        sessions = _aggregate(frame)
        assert sessions.height == 20
        assert sessions.get_column("ts").to_list() == daily[symbol].tail(20)["ts"].to_list()
        assert (sessions.get_column("first") == time(14, 30)).all()
        assert (sessions.get_column("last") == time(20, 55)).all()


def test_intraday_volume_is_u_shaped(provider: SyntheticMarketProvider) -> None:
    frame = _frames(provider, Interval.M5, symbols=("SYN-FIN1",))["SYN-FIN1"]
    volume = frame.get_column("volume").to_numpy().reshape(20, 78)
    share = (volume / volume.sum(axis=1, keepdims=True)).mean(axis=0)
    middle = share[30:48].mean()
    assert share[:6].mean() > 1.5 * middle
    assert share[-6:].mean() > 1.5 * middle
    assert np.array_equal(volume, np.round(volume))  # whole shares


def test_equal_weighted_index_returns_the_mean_name_return() -> None:
    provider = SyntheticMarketProvider(
        SyntheticMarketConfig(seed=9, days=100, index_weighting="equal", intraday_days=0)
    )
    frames = _frames(provider)
    index = frames.pop(INDEX_SYMBOL).get_column("close").to_numpy()
    closes = np.column_stack([frame.get_column("close").to_numpy() for frame in frames.values()])
    np.testing.assert_allclose(
        index[1:] / index[:-1], (closes[1:] / closes[:-1]).mean(axis=1), rtol=1e-12
    )


def test_cap_weighted_index_moves_within_its_names_and_sums_their_volume(
    provider: SyntheticMarketProvider,
) -> None:
    frames = _frames(provider)
    index = frames.pop(INDEX_SYMBOL)
    closes = np.column_stack([frame.get_column("close").to_numpy() for frame in frames.values()])
    volumes = np.column_stack([frame.get_column("volume").to_numpy() for frame in frames.values()])
    gross = closes[1:] / closes[:-1]
    index_gross = index.get_column("close").to_numpy()[1:] / index.get_column("close")[:-1]
    tolerance = 1e-12
    assert (index_gross >= gross.min(axis=1) - tolerance).all()
    assert (index_gross <= gross.max(axis=1) + tolerance).all()
    assert np.array_equal(index.get_column("volume").to_numpy(), volumes.sum(axis=1))
    _assert_ohlc_consistent(index)


class TestStylisedFacts:
    """Properties real daily equity returns show, checked over ten synthetic years."""

    def test_tails_are_fat(self, long_returns: FloatArray) -> None:
        excess_kurtosis = stats.kurtosis(long_returns, axis=0, fisher=True)
        assert (excess_kurtosis > 1.0).all(), excess_kurtosis

    def test_volatility_clusters_but_returns_are_barely_autocorrelated(
        self, long_returns: FloatArray
    ) -> None:
        squared = [_acf1(long_returns[:, i] ** 2) for i in range(long_returns.shape[1])]
        raw = [_acf1(long_returns[:, i]) for i in range(long_returns.shape[1])]
        assert np.mean(squared) > 0.05, squared
        assert squared[-1] > 0.05  # the index
        assert max(abs(value) for value in raw) < 0.1, raw

    def test_names_correlate_more_within_a_sector_than_across(
        self, long_daily: dict[str, pl.DataFrame], long_returns: FloatArray
    ) -> None:
        sectors = np.array([symbol[4:7] for symbol in long_daily])[:-1]
        corr = np.corrcoef(long_returns[:, :-1].T)
        same = sectors[:, None] == sectors[None, :]
        off_diagonal = ~np.eye(len(sectors), dtype=bool)
        within = corr[same & off_diagonal].mean()
        across = corr[~same].mean()
        assert within > across, (within, across)
        assert across > 0.05  # the market factor links every name

    def test_annualised_volatility_stays_near_the_configured_band(
        self, long_returns: FloatArray
    ) -> None:
        low, high = SyntheticMarketConfig().vol_range
        vol = long_returns[:, :-1].std(axis=0, ddof=1) * np.sqrt(252)
        assert (vol > 0.75 * low).all(), vol
        assert (vol < 1.25 * high).all(), vol

    def test_volume_rises_with_absolute_return(
        self, long_daily: dict[str, pl.DataFrame], long_returns: FloatArray
    ) -> None:
        volume = long_daily["SYN-ENE2"].get_column("volume").to_numpy()[1:]
        column = list(long_daily).index("SYN-ENE2")
        corr = np.corrcoef(np.log(volume), np.abs(long_returns[:, column]))[0, 1]
        assert corr > 0.2


def test_fetch_restricts_to_the_requested_symbols_in_order(
    provider: SyntheticMarketProvider,
) -> None:
    frames = _frames(provider, symbols=("syn-fin2", INDEX_SYMBOL, "SYN-FIN2"))
    assert list(frames) == ["SYN-FIN2", INDEX_SYMBOL]
    assert frames["SYN-FIN2"].get_column("symbol").unique().to_list() == ["SYN-FIN2"]


def test_unknown_symbol_lists_the_valid_ones(provider: SyntheticMarketProvider) -> None:
    with pytest.raises(ValueError, match=r"SYN-XYZ1.*valid symbols: SYN-TEC1, SYN-TEC2"):
        provider.fetch(FetchRequest(symbols=("SYN-XYZ1",)))


def test_fetch_restricts_to_the_half_open_date_range(provider: SyntheticMarketProvider) -> None:
    start, end = datetime(2015, 2, 2, tzinfo=UTC), datetime(2015, 3, 2, tzinfo=UTC)
    frame = _frames(provider, symbols=("SYN-HEA3",), start=start, end=end)["SYN-HEA3"]
    ts = frame.get_column("ts").to_list()
    assert ts[0] == start
    assert all(start <= moment < end for moment in ts)
    assert frame.height == np.busday_count("2015-02-02", "2015-03-02") == 20
    assert frame.get_column("row").to_list() == list(range(1, 21))


def test_fetch_restricts_intraday_bars_to_the_range(provider: SyntheticMarketProvider) -> None:
    last_session = _frames(provider, symbols=(INDEX_SYMBOL,))[INDEX_SYMBOL]["ts"][-1]
    start = last_session.replace(hour=15, minute=0)
    end = last_session.replace(hour=16, minute=0)
    frame = _frames(provider, Interval.M5, symbols=(INDEX_SYMBOL,), start=start, end=end)
    assert frame[INDEX_SYMBOL].get_column("ts").to_list() == [
        start.replace(minute=5 * k) for k in range(12)
    ]


def test_an_empty_range_yields_empty_valid_batches(provider: SyntheticMarketProvider) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    batches = list(provider.fetch(FetchRequest(symbols=("SYN-TEC1",), start=start)))
    assert len(batches) == 1
    assert batches[0].bars.height == 0
    assert validate_batch(batches[0]).ok


def test_unserved_interval_names_the_valid_ones(provider: SyntheticMarketProvider) -> None:
    with pytest.raises(ValueError, match=r"no 1h bars; use one of 1d, 5m"):
        provider.fetch(FetchRequest(interval=Interval.H1))
    daily_only = SyntheticMarketProvider(SyntheticMarketConfig(days=10, intraday_days=0))
    with pytest.raises(ValueError, match=r"no 5m bars; use one of 1d$"):
        daily_only.fetch(FetchRequest(interval=Interval.M5))


def test_naive_bounds_are_refused(provider: SyntheticMarketProvider) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        provider.fetch(FetchRequest(start=datetime(2015, 2, 2)))


def test_other_intraday_intervals_and_sessions() -> None:
    config = SyntheticMarketConfig(
        seed=4,
        days=30,
        intraday_days=3,
        intraday_interval=Interval.H1,
        session_open=time(8, 0),
        session_close=time(16, 0),
    )
    provider = SyntheticMarketProvider(config)
    assert config.bars_per_session == 8
    daily, hourly = _frames(provider), _frames(provider, Interval.H1)
    for symbol, frame in hourly.items():
        _assert_aggregates_exactly(daily[symbol], frame, n_bars=8)
        assert (_aggregate(frame).get_column("first") == time(8, 0)).all()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"days": -5}, "days"),
        ({"days": 0}, "days"),
        ({"sectors": ()}, "sectors"),
        ({"sectors": ("Consumer Staples", "Consumer Discretionary")}, "distinct code"),
        ({"sectors": ("IT",)}, "three letters"),
        ({"names_per_sector": 0}, "names_per_sector"),
        ({"seed": -1}, "seed"),
        ({"intraday_interval": Interval.D1}, "intraday_interval must be intraday"),
        ({"session_close": time(21, 2)}, "whole number of 5m bars"),
        ({"session_open": time(21, 0), "session_close": time(14, 30)}, "end after it starts"),
        ({"vol_range": (0.45, 0.15)}, "low <= high"),
        ({"vol_range": (0.05, 0.2)}, "vol_range upper bound 0.2 is too low"),
        ({"tail_dof": 2.0}, "tail_dof"),
        ({"currency": "US"}, "3-letter"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_config_raises_a_clear_error(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SyntheticMarketConfig(**overrides)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    n_sectors=st.integers(min_value=1, max_value=3),
    names_per_sector=st.integers(min_value=1, max_value=3),
    days=st.integers(min_value=1, max_value=80),
    intraday_days=st.integers(min_value=0, max_value=3),
    interval=st.sampled_from([Interval.M1, Interval.M5, Interval.M15]),
    weighting=st.sampled_from(["cap", "equal"]),
)
def test_bars_are_consistent_for_any_seed(
    seed: int,
    n_sectors: int,
    names_per_sector: int,
    days: int,
    intraday_days: int,
    interval: Interval,
    weighting: Literal["cap", "equal"],
) -> None:
    config = SyntheticMarketConfig(
        seed=seed,
        sectors=("Alpha", "Beta", "Gamma")[:n_sectors],
        names_per_sector=names_per_sector,
        days=days,
        intraday_days=intraday_days,
        intraday_interval=interval,
        index_weighting=weighting,
    )
    provider = SyntheticMarketProvider(config)
    daily = _frames(provider)
    assert len(daily) == n_sectors * names_per_sector + 1
    for batch in provider.fetch(FetchRequest()):
        assert validate_batch(batch).ok
        assert batch.bars.height == days
        _assert_ohlc_consistent(batch.bars)
    if intraday_days:
        for batch in provider.fetch(FetchRequest(interval=interval)):
            assert validate_batch(batch).ok
            _assert_ohlc_consistent(batch.bars)
            symbol = batch.instruments[0].symbol
            _assert_aggregates_exactly(daily[symbol], batch.bars, config.bars_per_session)
