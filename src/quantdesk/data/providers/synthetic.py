"""Deterministic synthetic market: a multi-asset universe for demos and tests.

Nothing here is observed data. Every instrument is flagged ``synthetic=True``, carries
``source="synthetic"`` and is named "... (synthetic)", so generated prices are never mistaken for
real history.

Model
-----
Daily log returns follow a three-level factor model::

    r[i, t] = mu[i] + beta[i] * m[t] + gamma[i] * s[sector(i), t] + e[i, t] + J[i, t]

- ``m`` (the market), ``s`` (one per sector) and ``e`` (one per name) are GARCH(1,1) processes,
  ``h[t] = omega + alpha * eps[t-1]**2 + b * h[t-1]`` with unit unconditional variance
  (``omega = 1 - alpha - b``), scaled to their daily volatility. Their innovations are Student-t
  (``tail_dof`` degrees of freedom) rescaled to unit variance: volatility clusters and tails are
  fat. Innovations are truncated at 6 standard deviations and conditional volatility at four
  times its long-run level, so the heavy tails never compound into 50 % daily moves.
- ``J`` is a compound Poisson jump (``jumps_per_year`` per name, normal sizes), placed overnight
  like earnings news.
- Per-name parameters are drawn from the seed: ``beta`` in ``beta_range``, ``gamma`` in
  [0.6, 1.2], annual volatility in ``vol_range`` (at least what the systematic loadings and jumps
  need, so idiosyncratic risk keeps a fifth of the diffusive variance), drift, start price in
  ``price_range``, a typical volume and, for the cap-weighted index, a market capitalisation.

Bars
----
- ``open = previous close * exp(gap)``: the gap holds the jumps and the overnight share of the
  diffusive return, split from the session's share with a Brownian bridge.
- ``high`` and ``low`` are the maximum and minimum of a Brownian bridge from open to close with
  the session's conditional volatility, drawn from their closed-form distributions, so
  ``high >= max(open, close)`` and ``low <= min(open, close)``.
- Volume is lognormal around a per-name level and rises with ``|return|``.
- The index ``SYN-IDX`` is the cap-weighted (buy and hold) or equal-weighted (rebalanced daily)
  average of the names: its open and close come from theirs, its range is drawn like theirs from
  its own conditional volatility, and its volume is their total.
- Intraday bars (the last ``intraday_days`` sessions) follow a Brownian bridge from the day's
  open to its close with a U-shaped variance profile, squeezed into the day's range so that they
  aggregate exactly to the daily bar; volume is split over a U-shaped profile in whole shares, and
  the index's intraday volume is the names' total.

Every array comes from its own ``numpy.random.Generator(PCG64([seed, stream, ...]))``: the same
configuration gives bit-identical bars, a longer run extends a shorter one without changing it,
and a day's intraday bars do not depend on how many intraday days are generated.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cached_property
from typing import Annotated, Literal, Self

import numpy as np
import numpy.typing as npt
import polars as pl
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

from quantdesk.data.frames import ROW_COLUMN, conform
from quantdesk.data.ports import BarBatch, FetchRequest
from quantdesk.domain import AssetClass, Instrument, Interval

__all__ = ["DEFAULT_SECTORS", "INDEX_SYMBOL", "SyntheticMarketConfig", "SyntheticMarketProvider"]

FloatArray = npt.NDArray[np.float64]

INDEX_SYMBOL = "SYN-IDX"
EXCHANGE = "SYNTH"
SOURCE = "synthetic"

_TRADING_DAYS = 252
_INDEX_BASE = 1000.0
_OVERNIGHT_SHARE = 0.2  # of the diffusive daily variance
_MIN_IDIO_SHARE = 0.2  # of the diffusive variance, whatever the loadings
_GAMMA_RANGE = (0.6, 1.2)
_DRIFT_RANGE = (0.02, 0.12)  # expected annual simple return
_VOLUME_RANGE = (2e5, 2e7)  # typical shares a day
_CAP_RANGE = (5e9, 5e11)  # start market capitalisation
_GARCH_ALPHA = (0.08, 0.11)
_GARCH_PERSISTENCE = (0.975, 0.99)
_MAX_SHOCK = 6.0  # innovations are truncated here (unit-variance units): no 20-sigma days
_MAX_VARIANCE = 16.0  # conditional volatility stays under four times its long-run level
_VOLUME_RETURN_LOADING = 0.35  # log-volume per unit of |return| / typical vol
_VOLUME_NOISE = 0.35
_WICK = 0.3  # intraday wick size, in units of the bar's volatility
_VARIANCE_PROFILE = 1.5  # intraday variance is 1 + k * x**2 over the session, x in [-1, 1]
_VOLUME_PROFILE = 3.0

# Random streams: one per drawn array keeps every array independent of the others' sizes.
_PARAMETERS, _SHOCKS, _JUMP_COUNTS, _JUMP_SIZES, _SPLIT = 0, 1, 2, 3, 4
_HIGHS, _LOWS, _VOLUMES, _INTRADAY = 5, 6, 7, 8

DEFAULT_SECTORS = ("Technology", "Financials", "Healthcare", "Energy", "Industrials")


class SyntheticMarketConfig(BaseModel):
    """Shape and parameters of the synthetic market.

    Attributes
    ----------
    seed
        Seed of every random draw; the same configuration always gives the same bars.
    start
        First session (rolled forward to a weekday). Daily bars cover ``days`` weekdays from it.
    days
        Number of trading days (Monday to Friday; the synthetic calendar has no holidays).
    sectors
        Sector names; each needs a distinct three-letter code (its first three letters or
        digits), which appears in the symbols (``SYN-TEC1``).
    names_per_sector
        Equities per sector.
    index_weighting
        ``"cap"``: the index holds the names in proportion to their market capitalisation
        (buy and hold); ``"equal"``: equal weights, rebalanced every day.
    intraday_interval, session_open, session_close
        Intraday bar length and the UTC session; the session must hold a whole number of bars.
    intraday_days
        Generate intraday bars for the last this many sessions (0 for daily bars only).
    currency
        Currency of every instrument.
    beta_range, vol_range, price_range
        Ranges of the market beta, the annual volatility and the start price of each name.
    market_vol, sector_vol
        Annual volatility of the market and sector factors.
    jumps_per_year, jump_mean, jump_vol
        Poisson jump intensity per name and the normal distribution of jump log sizes.
    tail_dof
        Degrees of freedom of the Student-t innovations (lower means fatter tails).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: NonNegativeInt = 0
    start: date = date(2015, 1, 2)
    days: PositiveInt = 2520
    sectors: Annotated[tuple[str, ...], Field(min_length=1)] = DEFAULT_SECTORS
    names_per_sector: Annotated[int, Field(ge=1, le=99)] = 3
    index_weighting: Literal["cap", "equal"] = "cap"
    intraday_interval: Interval = Interval.M5
    session_open: time = time(14, 30)
    session_close: time = time(21, 0)
    intraday_days: NonNegativeInt = 20
    currency: str = "USD"
    beta_range: tuple[PositiveFloat, PositiveFloat] = (0.6, 1.4)
    vol_range: tuple[PositiveFloat, PositiveFloat] = (0.15, 0.45)
    price_range: tuple[PositiveFloat, PositiveFloat] = (10.0, 500.0)
    market_vol: PositiveFloat = 0.16
    sector_vol: NonNegativeFloat = 0.12
    jumps_per_year: NonNegativeFloat = 2.0
    jump_mean: float = -0.005
    jump_vol: NonNegativeFloat = 0.04
    tail_dof: Annotated[float, Field(gt=2.0, le=1000.0)] = 4.5

    @field_validator("currency")
    @classmethod
    def _check_currency(cls, value: str) -> str:
        code = value.strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise ValueError(f"currency {value!r} must be a 3-letter ISO 4217 code")
        return code

    @field_validator("beta_range", "vol_range", "price_range")
    @classmethod
    def _check_range(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[0] > value[1]:
            raise ValueError(f"range {value} must be (low, high) with low <= high")
        return value

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        codes = [_sector_code(name) for name in self.sectors]
        if len(set(codes)) != len(codes):
            raise ValueError(
                f"sectors {list(self.sectors)} give the codes {codes}; each sector needs a "
                "distinct code (its first three letters or digits)"
            )
        if not self.intraday_interval.is_intraday:
            raise ValueError(
                f"intraday_interval must be intraday (1m, 5m, 15m or 1h), "
                f"got {self.intraday_interval.value}"
            )
        session = _seconds(self.session_close) - _seconds(self.session_open)
        step = int(self.intraday_interval.nominal.total_seconds())
        if session <= 0 or session % step:
            raise ValueError(
                f"session {self.session_open}-{self.session_close} UTC must end after it starts "
                f"and hold a whole number of {self.intraday_interval.value} bars"
            )
        needed = math.sqrt(_max_systematic_variance(self) / (1 - _MIN_IDIO_SHARE) + _jump_var(self))
        if needed > self.vol_range[1]:
            raise ValueError(
                f"vol_range upper bound {self.vol_range[1]} is too low for beta_range, "
                f"market_vol, sector_vol and jumps: use at least {needed:.3f}"
            )
        return self

    @property
    def sector_codes(self) -> tuple[str, ...]:
        """Return the three-letter code of each sector, as used in the symbols."""
        return tuple(_sector_code(name) for name in self.sectors)

    @property
    def bars_per_session(self) -> int:
        """Return the number of intraday bars in one session."""
        step = int(self.intraday_interval.nominal.total_seconds())
        return (_seconds(self.session_close) - _seconds(self.session_open)) // step


def _sector_code(name: str) -> str:
    code = "".join(ch for ch in name.upper() if ch.isascii() and ch.isalnum())[:3]
    if len(code) < 3:
        raise ValueError(f"sector name {name!r} needs at least three letters or digits")
    if code == "IDX":
        raise ValueError(f"sector name {name!r} gives the code IDX, reserved for the index")
    return code


def _seconds(moment: time) -> int:
    return (moment.hour * 60 + moment.minute) * 60 + moment.second


def _max_systematic_variance(config: SyntheticMarketConfig) -> float:
    return (config.beta_range[1] * config.market_vol) ** 2 + (
        _GAMMA_RANGE[1] * config.sector_vol
    ) ** 2


def _jump_var(config: SyntheticMarketConfig) -> float:
    """Annual variance the jumps add."""
    return config.jumps_per_year * (config.jump_mean**2 + config.jump_vol**2)


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64([seed, *keys]))


@dataclass(frozen=True, slots=True)
class _Bars:
    """Bars of every instrument at one interval: ``ts`` (rows) and ``(rows, instruments)``."""

    ts: npt.NDArray[np.datetime64]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray


@dataclass(frozen=True, slots=True)
class _Daily:
    bars: _Bars
    dates: npt.NDArray[np.datetime64]
    session_vol: FloatArray  # conditional log volatility of each session, (days, instruments)


class SyntheticMarketProvider:
    """Serve bars of a deterministic synthetic market (see the module docstring for the model).

    Parameters
    ----------
    config
        Shape and parameters of the market; the defaults give 5 sectors x 3 equities plus the
        index over 2,520 trading days from 2015-01-02, with 5-minute bars for the last 20.
    """

    name: str = "synthetic"

    def __init__(self, config: SyntheticMarketConfig | None = None) -> None:
        self.config = config if config is not None else SyntheticMarketConfig()
        self._instruments = _build_instruments(self.config)
        self._columns = {inst.symbol: column for column, inst in enumerate(self._instruments)}

    def instruments(self) -> tuple[Instrument, ...]:
        """Return the instruments: the equities sector by sector, then the index.

        Returns
        -------
        tuple of Instrument
            Every instrument of the market, each flagged ``synthetic``.
        """
        return self._instruments

    @property
    def intervals(self) -> tuple[Interval, ...]:
        """Return the intervals :meth:`fetch` serves: daily, then intraday if enabled."""
        if self.config.intraday_days == 0:
            return (Interval.D1,)
        return (Interval.D1, self.config.intraday_interval)

    def fetch(self, request: FetchRequest) -> Iterator[BarBatch]:
        """Return one batch per requested instrument, in the order requested.

        Parameters
        ----------
        request
            Symbols (all instruments when empty), interval and half-open time range
            ``[start, end)``; bounds must be timezone-aware.

        Returns
        -------
        Iterator of BarBatch
            Batches with ``source="synthetic:<symbol>"`` and a ``row`` column numbered from 1.

        Raises
        ------
        ValueError
            If the interval is not served, a symbol is unknown or a bound is naive.
        """
        interval = Interval.parse(request.interval)
        if interval not in self.intervals:
            valid = ", ".join(item.value for item in self.intervals)
            raise ValueError(
                f"the synthetic market has no {interval.value} bars; use one of {valid}"
            )
        columns = self._select(request.symbols)
        start = _bound(request.start, "start")
        end = _bound(request.end, "end")
        bars = self._daily.bars if interval == Interval.D1 else self._intraday
        keep = np.ones(bars.ts.shape[0], dtype=np.bool_)
        if start is not None:
            keep &= bars.ts >= start
        if end is not None:
            keep &= bars.ts < end
        return self._batches(bars, interval, columns, keep)

    def _select(self, symbols: Sequence[str]) -> list[int]:
        if not symbols:
            return list(range(len(self._instruments)))
        wanted = list(dict.fromkeys(symbol.strip().upper() for symbol in symbols))
        unknown = [symbol for symbol in wanted if symbol not in self._columns]
        if unknown:
            raise ValueError(
                f"unknown synthetic symbol(s) {', '.join(unknown)}; "
                f"valid symbols: {', '.join(self._columns)}"
            )
        return [self._columns[symbol] for symbol in wanted]

    def _batches(
        self,
        bars: _Bars,
        interval: Interval,
        columns: list[int],
        keep: npt.NDArray[np.bool_],
    ) -> Iterator[BarBatch]:
        ts = bars.ts[keep]
        for column in columns:
            instrument = self._instruments[column]
            frame = pl.DataFrame(
                {
                    "ts": ts,
                    "open": bars.open[keep, column],
                    "high": bars.high[keep, column],
                    "low": bars.low[keep, column],
                    "close": bars.close[keep, column],
                    "volume": bars.volume[keep, column],
                }
            ).with_columns(
                pl.lit(instrument.symbol).alias("symbol"),
                pl.lit(interval.value).alias("interval"),
                pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(ROW_COLUMN),
            )
            yield BarBatch(
                source=f"{SOURCE}:{instrument.symbol}",
                bars=conform(frame, keep_row=True),
                instruments=(instrument,),
            )

    @cached_property
    def _daily(self) -> _Daily:
        return _simulate_daily(self.config)

    @cached_property
    def _intraday(self) -> _Bars:
        return _simulate_intraday(self.config, self._daily)


def _bound(moment: datetime | None, what: str) -> np.datetime64 | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError(f"request {what} must be timezone-aware (UTC)")
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(naive, "us")


def _build_instruments(config: SyntheticMarketConfig) -> tuple[Instrument, ...]:
    equities = [
        Instrument(
            symbol=f"SYN-{code}{number}",
            name=f"Synthetic {sector} {number} (synthetic)",
            asset_class=AssetClass.EQUITY,
            currency=config.currency,
            exchange=EXCHANGE,
            sector=sector,
            synthetic=True,
            source=SOURCE,
        )
        for sector, code in zip(config.sectors, config.sector_codes, strict=True)
        for number in range(1, config.names_per_sector + 1)
    ]
    weighting = "cap-weighted" if config.index_weighting == "cap" else "equal-weighted"
    index = Instrument(
        symbol=INDEX_SYMBOL,
        name=f"Synthetic Market Index, {weighting} (synthetic)",
        asset_class=AssetClass.INDEX,
        currency=config.currency,
        exchange=EXCHANGE,
        synthetic=True,
        source=SOURCE,
    )
    return (*equities, index)


def _garch(
    shocks: FloatArray, alpha: FloatArray, persistence: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Return GARCH(1,1) residuals and conditional variances (unit unconditional variance)."""
    omega = 1.0 - persistence
    decay = persistence - alpha
    residuals = np.empty_like(shocks)
    variances = np.empty_like(shocks)
    variance = np.ones(shocks.shape[1])
    for t in range(shocks.shape[0]):
        variances[t] = variance
        residual = np.sqrt(variance) * shocks[t]
        residuals[t] = residual
        variance = np.minimum(omega + alpha * residual * residual + decay * variance, _MAX_VARIANCE)
    return residuals, variances


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float], size: int) -> FloatArray:
    return np.exp(rng.uniform(math.log(bounds[0]), math.log(bounds[1]), size))


def _simulate_daily(config: SyntheticMarketConfig) -> _Daily:
    n_days = config.days
    n_sectors = len(config.sectors)
    n_names = n_sectors * config.names_per_sector
    n_factors = 1 + n_sectors + n_names
    sector_of = np.repeat(np.arange(n_sectors), config.names_per_sector)
    seed = config.seed

    # Per-name parameters (annual units unless noted).
    rng = _rng(seed, _PARAMETERS)
    beta = rng.uniform(*config.beta_range, n_names)
    gamma = rng.uniform(*_GAMMA_RANGE, n_names)
    vol_draw = rng.uniform(0.0, 1.0, n_names)
    drift = rng.uniform(*_DRIFT_RANGE, n_names)
    start_price = _log_uniform(rng, config.price_range, n_names)
    typical_volume = _log_uniform(rng, _VOLUME_RANGE, n_names)
    market_cap = _log_uniform(rng, _CAP_RANGE, n_names)
    garch_alpha = rng.uniform(*_GARCH_ALPHA, n_factors)
    garch_persistence = rng.uniform(*_GARCH_PERSISTENCE, n_factors)

    jump_var = _jump_var(config)
    systematic = (beta * config.market_vol) ** 2 + (gamma * config.sector_vol) ** 2
    vol_floor = np.maximum(
        config.vol_range[0], np.sqrt(systematic / (1 - _MIN_IDIO_SHARE) + jump_var)
    )
    vol = vol_floor + vol_draw * (config.vol_range[1] - vol_floor)
    idio_vol = np.sqrt(vol**2 - jump_var - systematic)

    # Factor returns: GARCH(1,1) with unit-variance Student-t shocks.
    dof = config.tail_dof
    shocks = np.clip(
        _rng(seed, _SHOCKS).standard_t(dof, (n_days, n_factors)) * math.sqrt((dof - 2) / dof),
        -_MAX_SHOCK,
        _MAX_SHOCK,
    )
    residuals, variances = _garch(shocks, garch_alpha, garch_persistence)
    root_year = math.sqrt(_TRADING_DAYS)
    market_load = beta * config.market_vol / root_year
    sector_load = gamma * config.sector_vol / root_year
    idio_load = idio_vol / root_year
    sector_cols = 1 + sector_of
    idio_cols = slice(1 + n_sectors, None)
    diffusive = (
        (drift - 0.5 * vol**2) / _TRADING_DAYS
        + market_load * residuals[:, :1]
        + sector_load * residuals[:, sector_cols]
        + idio_load * residuals[:, idio_cols]
    )
    diffusive_var = (
        market_load**2 * variances[:, :1]
        + sector_load**2 * variances[:, sector_cols]
        + idio_load**2 * variances[:, idio_cols]
    )

    counts = _rng(seed, _JUMP_COUNTS).poisson(
        config.jumps_per_year / _TRADING_DAYS, (n_days, n_names)
    )
    jump_noise = _rng(seed, _JUMP_SIZES).standard_normal((n_days, n_names))
    jumps = counts * config.jump_mean + np.sqrt(counts) * config.jump_vol * jump_noise

    # Overnight gap: jumps plus the overnight part of a Brownian path ending at the day's return.
    split = _rng(seed, _SPLIT).standard_normal((n_days, n_names))
    share = _OVERNIGHT_SHARE
    gap = jumps + share * diffusive + np.sqrt(share * (1 - share) * diffusive_var) * split
    returns = diffusive + jumps
    log_close = np.log(start_price) + np.cumsum(returns, axis=0)
    log_prev = np.vstack([np.log(start_price)[None, :], log_close[:-1]])
    close = np.exp(log_close)
    open_ = np.exp(log_prev + gap)
    prev_close = np.exp(log_prev)

    abs_move = np.abs(returns) / (vol / root_year)
    volume_noise = _rng(seed, _VOLUMES).standard_normal((n_days, n_names))
    volume = np.maximum(
        np.round(
            typical_volume
            * np.exp(
                _VOLUME_RETURN_LOADING * (abs_move - math.sqrt(2 / math.pi))
                + _VOLUME_NOISE * volume_noise
            )
        ),
        1.0,
    )

    # Index weights at the previous close.
    if config.index_weighting == "cap":
        holdings = market_cap / start_price
        value = prev_close * holdings
        weights = value / value.sum(axis=1, keepdims=True)
    else:
        weights = np.full((n_days, n_names), 1.0 / n_names)
    index_gross = (weights * np.exp(returns)).sum(axis=1)
    index_prev = _INDEX_BASE * np.concatenate([[1.0], np.cumprod(index_gross)[:-1]])
    index_close = index_prev * index_gross
    index_open = index_prev * (weights * np.exp(gap)).sum(axis=1)
    membership = np.eye(n_sectors)[sector_of]
    index_var = (
        (weights @ market_load) ** 2 * variances[:, 0]
        + (((weights * sector_load) @ membership) ** 2 * variances[:, 1 : 1 + n_sectors]).sum(1)
        + (weights**2 * idio_load**2 * variances[:, idio_cols]).sum(axis=1)
    )

    open_all = np.column_stack([open_, index_open])
    close_all = np.column_stack([close, index_close])
    session_vol = np.sqrt((1 - share) * np.column_stack([diffusive_var, index_var]))
    high, low = _daily_range(seed, open_all, close_all, session_vol)
    dates = np.busday_offset(
        np.busday_offset(np.datetime64(config.start, "D"), 0, roll="forward"),
        np.arange(n_days),
    )
    bars = _Bars(
        ts=dates.astype("datetime64[us]"),
        open=open_all,
        high=high,
        low=low,
        close=close_all,
        volume=np.column_stack([volume, volume.sum(axis=1)]),
    )
    return _Daily(bars=bars, dates=dates, session_vol=session_vol)


def _daily_range(
    seed: int, open_: FloatArray, close: FloatArray, session_vol: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Return high and low: extremes of a Brownian bridge from open to close.

    With ``b = log(close / open)`` and session variance ``s2``, the bridge maximum ``M`` has
    ``P(M >= m) = exp(-2 m (m - b) / s2)`` for ``m >= max(0, b)``, so
    ``M = (b + sqrt(b**2 + 2 s2 E)) / 2`` with ``E`` standard exponential; the minimum mirrors it.
    """
    move = np.log(close / open_)
    variance = session_vol**2
    up = _rng(seed, _HIGHS).standard_exponential(move.shape)
    down = _rng(seed, _LOWS).standard_exponential(move.shape)
    high = open_ * np.exp(0.5 * (move + np.sqrt(move**2 + 2 * variance * up)))
    low = open_ * np.exp(0.5 * (move - np.sqrt(move**2 + 2 * variance * down)))
    # Rounding in exp/log must never put the close outside the range.
    return np.maximum(high, np.maximum(open_, close)), np.minimum(low, np.minimum(open_, close))


def _profile(n_bars: int, curvature: float) -> FloatArray:
    """Return a U-shaped profile over the session's bars, summing to one."""
    middle = (2 * np.arange(n_bars) + 1) / n_bars - 1
    weights = 1.0 + curvature * middle**2
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def _squeeze(excursion: FloatArray, room: FloatArray, reach: FloatArray) -> FloatArray:
    """Return factors taking each path's largest ``excursion`` to ``reach * room``."""
    largest = excursion.max(axis=1, keepdims=True)
    return np.where(largest > 0, reach * room / np.where(largest > 0, largest, 1.0), 0.0)


def _simulate_intraday(config: SyntheticMarketConfig, daily: _Daily) -> _Bars:
    n_days = min(config.intraday_days, config.days)
    n_bars = config.bars_per_session
    first = config.days - n_days
    parts = [_session(config, daily, day, n_bars) for day in range(first, config.days)]
    step = np.timedelta64(int(config.intraday_interval.nominal.total_seconds()), "s")
    offsets = np.timedelta64(_seconds(config.session_open), "s") + step * np.arange(n_bars)
    starts = daily.dates[first:, None].astype("datetime64[us]") + offsets[None, :]
    ts = np.asarray(starts.ravel(), dtype="datetime64[us]")
    n_cols = len(daily.bars.close[0])

    def stack(field: int) -> FloatArray:
        if not parts:
            return np.empty((0, n_cols))
        return np.concatenate([part[field].T for part in parts], axis=0)

    return _Bars(ts=ts, open=stack(0), high=stack(1), low=stack(2), close=stack(3), volume=stack(4))


def _session(
    config: SyntheticMarketConfig, daily: _Daily, day: int, n_bars: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Return ``(open, high, low, close, volume)`` bars of one session, ``(instruments, bars)``."""
    bars = daily.bars
    day_open, day_high = bars.open[day], bars.high[day]
    day_low, day_close = bars.low[day], bars.close[day]
    n_cols = day_open.shape[0]
    rng = _rng(config.seed, _INTRADAY, day)

    # Brownian bridge in log price from 0 (open) to the day's move, with U-shaped variance.
    variance_profile = _profile(n_bars, _VARIANCE_PROFILE)
    clock = np.concatenate([[0.0], np.cumsum(variance_profile)])
    clock /= clock[-1]
    bar_vol = daily.session_vol[day][:, None] * np.sqrt(variance_profile)[None, :]
    walk = np.concatenate(
        [np.zeros((n_cols, 1)), np.cumsum(bar_vol * rng.standard_normal((n_cols, n_bars)), 1)],
        axis=1,
    )
    move = np.log(day_close / day_open)
    path = walk - clock[None, :] * (walk[:, -1] - move)[:, None]
    path[:, 0], path[:, -1] = 0.0, move

    # Squeeze excursions beyond the open/close band so the path peaks just inside the day's
    # range; the wick of the extreme bar then reaches the day's high (low) exactly.
    top, bottom = np.maximum(0.0, move)[:, None], np.minimum(0.0, move)[:, None]
    above, below = np.maximum(path - top, 0.0), np.maximum(bottom - path, 0.0)
    room_up = np.log(day_high / day_open)[:, None] - top
    room_down = bottom - np.log(day_low / day_open)[:, None]
    scale_up = _squeeze(above, room_up, rng.uniform(0.6, 0.95, (n_cols, 1)))
    scale_down = _squeeze(below, room_down, rng.uniform(0.6, 0.95, (n_cols, 1)))
    path = np.clip(path, bottom, top) + above * scale_up - below * scale_down

    hi, lo = day_high[:, None], day_low[:, None]
    prices = np.clip(day_open[:, None] * np.exp(path), lo, hi)
    prices[:, 0], prices[:, -1] = day_open, day_close
    bar_open, bar_close = prices[:, :-1], prices[:, 1:]
    wick_up = np.abs(rng.standard_normal((n_cols, n_bars))) * _WICK * bar_vol
    wick_down = np.abs(rng.standard_normal((n_cols, n_bars))) * _WICK * bar_vol
    path_top = np.maximum(path[:, :-1], path[:, 1:])
    path_bottom = np.minimum(path[:, :-1], path[:, 1:])
    bar_high = np.minimum(
        np.maximum(day_open[:, None] * np.exp(path_top + wick_up), np.maximum(bar_open, bar_close)),
        hi,
    )
    bar_low = np.maximum(
        np.minimum(
            day_open[:, None] * np.exp(path_bottom - wick_down), np.minimum(bar_open, bar_close)
        ),
        lo,
    )
    rows = np.arange(n_cols)
    bar_high[rows, np.argmax(path_top, axis=1)] = day_high
    bar_low[rows, np.argmin(path_bottom, axis=1)] = day_low

    # Volume in whole shares over a U-shaped profile (largest remainder keeps the day's total);
    # the index trades what its names trade.
    names = n_cols - 1
    weights = _profile(n_bars, _VOLUME_PROFILE)[None, :] * np.exp(
        0.25 * rng.standard_normal((names, n_bars))
    )
    weights /= weights.sum(axis=1, keepdims=True)
    raw = bars.volume[day, :names, None] * weights
    whole = np.floor(raw)
    remainder = bars.volume[day, :names] - whole.sum(axis=1)
    rank = np.empty((names, n_bars), dtype=np.int64)
    order = np.argsort(whole - raw, axis=1, kind="stable")
    rank[np.arange(names)[:, None], order] = np.arange(n_bars)[None, :]
    name_volume = whole + (rank < remainder[:, None])
    volume = np.vstack([name_volume, name_volume.sum(axis=0, keepdims=True)])
    return bar_open, bar_high, bar_low, bar_close, volume
