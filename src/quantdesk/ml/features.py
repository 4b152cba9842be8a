"""Point-in-time features from daily bars.

:func:`build_features` turns one instrument's daily bars (open/high/low/close/volume, indexed
by UTC time) into a frame of features indexed by the same times. **Every value at bar t uses
only data at or before t**: rolling windows end at t, TA-Lib indicators run forwards from the
first bar, the market series is aligned as of t (its last value at or before t) and sentiment
dated D reaches the first bar dated D or later. The property test corrupts or drops every bar
after t and checks that nothing at or before t moves.

Notation: ``C, O, H, L, V`` close, open, high, low, volume; ``r_t = ln(C_t / C_(t-1))`` the
daily log return; ``mean_w`` / ``std_w`` the mean / sample standard deviation (ddof=1) over
the ``w`` bars ending at t. Volatilities are daily (not annualised).

Feature families (names for the default :class:`FeatureSpec`)
--------------------------------------------------------------
- returns ``ret_{h}`` = ``ln(C_t / C_(t-h))`` for h in ``return_horizons``.
- realised volatility ``vol_{w}`` = ``std_w(r)``.
- range volatility (needs H, L; Garman-Klass also O), window ``w = range_window``:
  Parkinson ``parkinson_vol_{w}`` = ``sqrt(mean_w[(ln H/L)^2] / (4 ln 2))``;
  Garman-Klass ``garman_klass_vol_{w}`` =
  ``sqrt(mean_w[0.5 (ln H/L)^2 - (2 ln 2 - 1)(ln C/O)^2])``.
- indicators from :data:`quantdesk.indicators.REGISTRY`, chosen by
  :class:`IndicatorFeature` entries (RSI, MACD histogram / C, ATR / C, ADX, Bollinger %B,
  ``C / SMA - 1`` for SMA(50) and SMA(200) by default).
- volume (needs V): ``log_volume_z_{w}`` = ``(ln V_t - mean_w ln V) / std_w ln V``;
  ``volume_adv_{w}`` = ``V_t / mean(V_(t-w) .. V_(t-1))`` (average daily volume of the w bars
  before t). Non-positive volume counts as missing for the log.
- calendar: ``day_of_week`` (0 = Monday), ``month`` (1-12), ``turn_of_month`` (1 when the bar
  is among the first three bars of its month so far, or falls on one of the last three
  calendar days of the month: both known at t without seeing later bars).
- market context (with ``market``): the market close aligned to the bar times as of t, then
  ``mkt_ret_{h}`` for h in ``market_return_horizons``, ``mkt_vol_{w}`` = ``std_w`` of its log
  returns, and over ``beta_window`` bars ``beta_{w}`` = ``cov(r, r_m) / var(r_m)`` and
  ``corr_{w}`` (Pearson) of the instrument's and the market's log returns.
- sentiment (with ``sentiment``, a daily frame with ``mean``, ``count`` and optionally
  ``dispersion`` per date): **news dated D is taken as known at D's close**, so it is used
  from the first bar whose UTC date is D or later (weekend news reaches Monday's bar; several
  dates landing on one bar are pooled). ``sent_mean`` (count-weighted), ``sent_count``,
  ``sent_dispersion`` (pooled standard deviation, population convention) and
  ``sent_mean_{w}`` (count-weighted over the last ``sentiment_window`` bars). A bar without
  news has count 0 and NaN mean/dispersion. The caller dates news with the market-close
  cut-off in mind: an article published after the close belongs to the next date.

Warm-up: a feature is NaN until it has enough history. With ``warmup="drop"`` (the default)
the leading rows before the first bar at which every non-sentiment feature is finite are
dropped (sentiment is sparse by nature and never delays the start); ``warmup="keep"`` keeps
them as NaN. Later NaN (a zero-volume day) stay in place. Both choices only look backwards.

Close-only input (a Series, or a frame without open/high/low) is accepted: features that need
missing columns are left out and listed in :attr:`FeatureSet.dropped` with the reason; a
volume column that is missing, or null/zero on every row, counts as absent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeAlias, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import polars as pl

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.indicators import REGISTRY, compute
from quantdesk.indicators.registry import ParamValue

__all__ = [
    "DEFAULT_INDICATORS",
    "BarsInput",
    "FeatureSet",
    "FeatureSpec",
    "IndicatorFeature",
    "build_features",
    "read_bars",
]

FloatArray = npt.NDArray[np.float64]
#: Daily bars: a pandas frame (DatetimeIndex or ``ts``/``date`` column), a polars frame with a
#: ``ts``/``date`` column, or a pandas Series of closes indexed by time.
BarsInput: TypeAlias = "pd.DataFrame | pl.DataFrame | pd.Series[Any]"
Transform = Literal["value", "ratio_to_close", "distance_to_close", "percent_b"]

_PRICE_COLUMNS = ("open", "high", "low", "close")
_BAR_COLUMNS = (*_PRICE_COLUMNS, "volume")
_TIME_COLUMNS = ("ts", "date", "time", "timestamp", "datetime")
_TRANSFORMS = ("value", "ratio_to_close", "distance_to_close", "percent_b")
_SENTIMENT_PREFIX = "sent_"


@dataclass(frozen=True)
class IndicatorFeature:
    """One registry indicator turned into one scale-free feature column.

    Parameters
    ----------
    name
        Feature column name, e.g. ``"rsi_14"``.
    indicator
        Registered indicator name (``quantdesk.indicators.REGISTRY``), e.g. ``"rsi"``.
    params
        Indicator parameters by name; defaults fill the rest.
    output
        Which output of a multi-output indicator (``"hist"`` of ``macd``); ignored for
        single-output indicators and for ``percent_b``.
    transform
        ``"value"`` the output as is; ``"ratio_to_close"`` output / C; ``"distance_to_close"``
        C / output - 1; ``"percent_b"`` (C - lower) / (upper - lower) of a band indicator with
        ``upper`` and ``lower`` outputs.
    """

    name: str
    indicator: str
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    output: str | None = None
    transform: Transform = "value"


#: The indicator features of the default :class:`FeatureSpec`.
DEFAULT_INDICATORS: tuple[IndicatorFeature, ...] = (
    IndicatorFeature("rsi_14", "rsi", {"timeperiod": 14}),
    IndicatorFeature("macd_hist", "macd", {}, output="hist", transform="ratio_to_close"),
    IndicatorFeature("atr_14_close", "atr", {"timeperiod": 14}, transform="ratio_to_close"),
    IndicatorFeature("adx_14", "adx", {"timeperiod": 14}),
    IndicatorFeature("bb_percent_b_20", "bbands", {"timeperiod": 20}, transform="percent_b"),
    IndicatorFeature("sma_distance_50", "sma", {"timeperiod": 50}, transform="distance_to_close"),
    IndicatorFeature("sma_distance_200", "sma", {"timeperiod": 200}, transform="distance_to_close"),
)


@dataclass(frozen=True)
class FeatureSpec:
    """Which features :func:`build_features` computes; windows and horizons are in bars.

    Parameters
    ----------
    return_horizons
        Horizons h of ``ret_{h}``.
    volatility_windows
        Windows w of ``vol_{w}`` (at least 2).
    range_window
        Window of the Parkinson and Garman-Klass volatilities; 0 leaves them out.
    indicators
        Indicator features (see :class:`IndicatorFeature`).
    volume_window
        Window of the volume features (at least 2); 0 leaves them out.
    calendar
        Add ``day_of_week``, ``month`` and ``turn_of_month``.
    market_return_horizons, market_volatility_window, beta_window
        Market-context features (used only when a market series is given); a window of 0
        leaves that feature out.
    sentiment_window
        Window of ``sent_mean_{w}`` (used only with sentiment); 0 leaves it out.
    warmup
        ``"drop"`` the leading rows with unfilled features, or ``"keep"`` them as NaN.
    """

    return_horizons: tuple[int, ...] = (1, 5, 21, 63)
    volatility_windows: tuple[int, ...] = (5, 21, 63)
    range_window: int = 21
    indicators: tuple[IndicatorFeature, ...] = DEFAULT_INDICATORS
    volume_window: int = 21
    calendar: bool = True
    market_return_horizons: tuple[int, ...] = (1, 5, 21)
    market_volatility_window: int = 21
    beta_window: int = 63
    sentiment_window: int = 5
    warmup: Literal["drop", "keep"] = "drop"

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as plain JSON-compatible data (for tracking and hashing)."""
        data = asdict(self)
        data["indicators"] = [
            {**asdict(item), "params": dict(item.params)} for item in self.indicators
        ]
        return data


@dataclass(frozen=True)
class FeatureSet:
    """Features of one instrument, indexed by bar time (UTC).

    Attributes
    ----------
    frame
        float64 features, one column per name, indexed by a UTC ``DatetimeIndex`` named
        ``ts``.
    names
        The feature columns in order.
    dropped
        ``(feature, reason)`` for each spec feature left out (e.g. range volatility on
        close-only data).
    warmup_rows
        Leading rows removed by ``warmup="drop"`` (0 with ``"keep"``).
    """

    frame: pd.DataFrame
    names: tuple[str, ...]
    dropped: tuple[tuple[str, str], ...]
    warmup_rows: int


# --- input -----------------------------------------------------------------------------------


def _invalid(location: str, reason: str, message: str, **kwargs: Any) -> ValidationError:
    return ValidationError(message, [Issue(location, reason, **kwargs)])


def _utc_index(values: Any, parameter: str) -> pd.DatetimeIndex:
    try:
        index = pd.DatetimeIndex(values)
    except (TypeError, ValueError) as error:
        raise _invalid(
            parameter, f"cannot read bar times: {error}", f"{parameter} needs datetime times"
        ) from None
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return index.as_unit("ns")  # one unit, so integer times compare across inputs


def _pandas_frame(data: pd.DataFrame | pl.DataFrame, parameter: str) -> pd.DataFrame:
    if isinstance(data, pl.DataFrame):
        time_column = next((c for c in data.columns if c.lower() in _TIME_COLUMNS), None)
        if time_column is None:
            raise _invalid(
                parameter,
                "a polars frame needs a 'ts' (or 'date') column with the bar times",
                f"{parameter} has no time column",
            )
        if "symbol" in data.columns and data.get_column("symbol").n_unique() > 1:
            raise _invalid(
                parameter,
                "holds several symbols; pass one instrument's bars at a time",
                f"{parameter} mixes symbols",
                field="symbol",
            )
        frame = data.to_pandas()
        frame.index = _utc_index(frame.pop(time_column), parameter)
        return frame
    frame = data.copy()
    if not isinstance(frame.index, pd.DatetimeIndex):
        time_column = next((c for c in frame.columns if str(c).lower() in _TIME_COLUMNS), None)
        labels = frame.index
        if time_column is None and (
            pd.api.types.is_object_dtype(labels) or pd.api.types.is_string_dtype(labels)
        ):
            frame.index = _utc_index(labels, parameter)  # datetime.date or ISO-string labels
            return frame
        if time_column is None:
            raise _invalid(
                parameter,
                "index by bar time (DatetimeIndex) or give a 'ts' / 'date' column",
                f"{parameter} has no bar times",
            )
        frame.index = _utc_index(frame.pop(time_column), parameter)
    else:
        frame.index = _utc_index(frame.index, parameter)
    return frame


def read_bars(data: BarsInput, parameter: str = "bars") -> pd.DataFrame:
    """Return bars as a float64 pandas frame indexed by strictly increasing UTC times.

    Column names are matched case-insensitively; the result holds ``close`` and whichever of
    ``open``, ``high``, ``low`` and ``volume`` exist (a volume column that is null or zero on
    every row is left out).

    Parameters
    ----------
    data
        See :data:`BarsInput`; a Series is read as closes.
    parameter
        The parameter name used in error messages.

    Returns
    -------
    pandas.DataFrame
        Index ``ts`` (UTC), columns among ``open, high, low, close, volume``.

    Raises
    ------
    ValidationError
        Without close or bar times, with repeated or unsorted times, with a non-finite or
        non-positive price, with high below low, or with negative volume; the issue names
        the row.
    """
    if isinstance(data, pd.Series):
        frame = pd.DataFrame({"close": data})
        frame.index = (
            _utc_index(frame.index, parameter)
            if isinstance(frame.index, pd.DatetimeIndex)
            else _utc_index(frame.index.to_numpy(), parameter)
        )
    elif isinstance(data, pd.DataFrame | pl.DataFrame):
        frame = _pandas_frame(data, parameter)
    else:
        raise TypeError(f"unsupported {parameter}: {type(data).__name__}")
    columns: dict[str, Any] = {}
    for wanted in _BAR_COLUMNS:
        match = next((c for c in frame.columns if str(c).lower() == wanted), None)
        if match is not None:
            columns[wanted] = pd.to_numeric(frame[match], errors="coerce").astype(np.float64)
    if "close" not in columns:
        raise _invalid(
            parameter, "needs a 'close' column", f"{parameter} has no close", field="close"
        )
    bars = pd.DataFrame(columns, index=frame.index)
    bars.index.name = "ts"
    if len(bars) == 0:
        raise _invalid(parameter, "holds no bars", f"{parameter} is empty")
    _check_bars(bars, parameter)
    if "volume" in bars and not (bars["volume"].fillna(0.0) > 0).any():
        bars = bars.drop(columns="volume")
    return bars


def _first_bad(mask: npt.NDArray[np.bool_]) -> int | None:
    return int(np.argmax(mask)) if mask.any() else None


def _check_bars(bars: pd.DataFrame, parameter: str) -> None:
    times = _times(bars).asi8
    row = _first_bad(np.diff(times) <= 0)
    if row is not None:
        raise _invalid(
            parameter,
            f"bar time {bars.index[row + 1]} does not come after {bars.index[row]}; sort the "
            "bars and drop repeated times",
            f"{parameter} times must increase strictly",
            row=row + 1,
        )
    issues: list[Issue] = []
    for name in _PRICE_COLUMNS:
        if name in bars:
            values = bars[name].to_numpy()
            row = _first_bad(~(np.isfinite(values) & (values > 0)))
            if row is not None:
                issues.append(
                    Issue(
                        parameter,
                        f"{name} at {bars.index[row]} is {values[row]}; prices must be "
                        "finite and positive (drop or repair the bar)",
                        field=name,
                        row=row,
                    )
                )
    if "high" in bars and "low" in bars:
        row = _first_bad(bars["high"].to_numpy() < bars["low"].to_numpy())
        if row is not None:
            issues.append(
                Issue(parameter, f"high is below low at {bars.index[row]}", field="high", row=row)
            )
    if "volume" in bars:
        row = _first_bad(bars["volume"].to_numpy() < 0)
        if row is not None:
            issues.append(
                Issue(parameter, f"negative volume at {bars.index[row]}", field="volume", row=row)
            )
    if issues:
        raise ValidationError(f"{parameter} contains invalid bars", issues)


# --- spec checks -----------------------------------------------------------------------------


def _check_spec(spec: FeatureSpec) -> None:
    issues: list[Issue] = []

    def whole(location: str, value: object, minimum: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
            issues.append(Issue(location, f"got {value!r}; use a whole number >= {minimum}"))

    for horizon in spec.return_horizons:
        whole("spec.return_horizons", horizon, 1)
    for window in spec.volatility_windows:
        whole("spec.volatility_windows", window, 2)
    for horizon in spec.market_return_horizons:
        whole("spec.market_return_horizons", horizon, 1)
    for location, value in (
        ("spec.range_window", spec.range_window),
        ("spec.volume_window", spec.volume_window),
        ("spec.market_volatility_window", spec.market_volatility_window),
        ("spec.beta_window", spec.beta_window),
    ):
        if value != 0:
            whole(location, value, 2)
    whole("spec.sentiment_window", spec.sentiment_window, 0)
    if spec.warmup not in ("drop", "keep"):
        issues.append(Issue("spec.warmup", f"got {spec.warmup!r}; use 'drop' or 'keep'"))
    for item in spec.indicators:
        location = f"spec.indicators[{item.name}]"
        if item.transform not in _TRANSFORMS:
            issues.append(
                Issue(location, f"transform {item.transform!r}; use {', '.join(_TRANSFORMS)}")
            )
            continue
        indicator = REGISTRY.get(item.indicator)  # NotFound with suggestions
        indicator.resolve(dict(item.params))  # ValidationError on bad parameters
        outputs = indicator.outputs
        if item.transform == "percent_b":
            if not {"upper", "lower"} <= set(outputs):
                issues.append(Issue(location, f"percent_b needs upper/lower outputs: {outputs}"))
        elif len(outputs) > 1 and item.output not in outputs:
            issues.append(
                Issue(location, f"output {item.output!r}; choose one of {', '.join(outputs)}")
            )
    if issues:
        raise ValidationError("invalid feature spec", issues)


# --- feature families ------------------------------------------------------------------------


def _log(series: pd.Series[float]) -> pd.Series[float]:
    return pd.Series(np.log(series.to_numpy(np.float64)), index=series.index, dtype=np.float64)


def _times(frame: pd.DataFrame | pd.Series[Any]) -> pd.DatetimeIndex:
    return cast("pd.DatetimeIndex", frame.index)


def _log_returns(close: pd.Series[float]) -> pd.Series[float]:
    return _log(close).diff()


def _price_features(bars: pd.DataFrame, spec: FeatureSpec) -> dict[str, pd.Series[float]]:
    log_close = _log(bars["close"])
    returns = log_close.diff()
    out: dict[str, pd.Series[float]] = {}
    for horizon in spec.return_horizons:
        out[f"ret_{horizon}"] = log_close - log_close.shift(horizon)
    for window in spec.volatility_windows:
        out[f"vol_{window}"] = returns.rolling(window, min_periods=window).std(ddof=1)
    return out


def _range_features(
    bars: pd.DataFrame, spec: FeatureSpec, dropped: list[tuple[str, str]]
) -> dict[str, pd.Series[float]]:
    window = spec.range_window
    if window == 0:
        return {}
    out: dict[str, pd.Series[float]] = {}
    parkinson, garman_klass = f"parkinson_vol_{window}", f"garman_klass_vol_{window}"
    if "high" not in bars or "low" not in bars:
        dropped.append((parkinson, "needs high and low (close-only data)"))
        dropped.append((garman_klass, "needs open, high and low (close-only data)"))
        return out
    range_squared = _log(bars["high"] / bars["low"]) ** 2
    parkinson_variance = range_squared.rolling(window, min_periods=window).mean()
    out[parkinson] = (parkinson_variance / (4.0 * math.log(2.0))) ** 0.5
    if "open" not in bars:
        dropped.append((garman_klass, "needs open (the data has high/low but no open)"))
        return out
    body_squared = _log(bars["close"] / bars["open"]) ** 2
    terms = 0.5 * range_squared - (2.0 * math.log(2.0) - 1.0) * body_squared
    variance = terms.rolling(window, min_periods=window).mean()
    out[garman_klass] = variance.clip(lower=0.0) ** 0.5
    return out


def _indicator_features(
    bars: pd.DataFrame, spec: FeatureSpec, dropped: list[tuple[str, str]]
) -> dict[str, pd.Series[float]]:
    arrays = {name: bars[name].to_numpy(np.float64) for name in bars.columns}
    close = arrays["close"]
    out: dict[str, pd.Series[float]] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for item in spec.indicators:
            indicator = REGISTRY.get(item.indicator)
            missing = [name for name in indicator.inputs if name not in arrays]
            if missing:
                dropped.append((item.name, f"{item.indicator} needs {', '.join(missing)}"))
                continue
            result = compute(item.indicator, arrays, **dict(item.params))
            outputs: dict[str, FloatArray] = (
                {k: np.asarray(v, np.float64) for k, v in result.items()}
                if isinstance(result, dict)
                else {indicator.outputs[0]: np.asarray(result, np.float64)}
            )
            if item.transform == "percent_b":
                upper, lower = outputs["upper"], outputs["lower"]
                width = upper - lower
                values = np.where(width > 0, (close - lower) / width, np.nan)
            else:
                key = item.output if len(outputs) > 1 and item.output else indicator.outputs[0]
                raw = outputs[key]
                if item.transform == "ratio_to_close":
                    values = raw / close
                elif item.transform == "distance_to_close":
                    values = np.where(raw > 0, close / raw - 1.0, np.nan)
                else:
                    values = raw
            out[item.name] = pd.Series(values, index=bars.index, dtype=np.float64)
    return out


def _volume_features(
    bars: pd.DataFrame, spec: FeatureSpec, dropped: list[tuple[str, str]]
) -> dict[str, pd.Series[float]]:
    window = spec.volume_window
    if window == 0:
        return {}
    z_name, adv_name = f"log_volume_z_{window}", f"volume_adv_{window}"
    if "volume" not in bars:
        reason = "needs volume (missing, or null/zero on every bar)"
        dropped.extend([(z_name, reason), (adv_name, reason)])
        return {}
    volume = bars["volume"]
    log_volume = _log(volume.where(volume > 0))
    mean = log_volume.rolling(window, min_periods=window).mean()
    std = log_volume.rolling(window, min_periods=window).std(ddof=1)
    adv = volume.shift(1).rolling(window, min_periods=window).mean()
    return {
        z_name: ((log_volume - mean) / std.where(std > 0)).astype(np.float64),
        adv_name: (volume / adv.where(adv > 0)).astype(np.float64),
    }


def _calendar_features(index: pd.DatetimeIndex) -> dict[str, pd.Series[float]]:
    day = index.day.to_numpy()
    month_key = index.year.to_numpy() * 12 + index.month.to_numpy()
    # Bars so far in the month: a running count, so it never depends on later bars.
    starts = np.r_[True, month_key[1:] != month_key[:-1]]
    group = np.cumsum(starts) - 1
    first_position = np.flatnonzero(starts)
    bar_of_month = np.arange(len(index)) - first_position[group] + 1
    days_in_month = index.days_in_month.to_numpy()
    turn = (bar_of_month <= 3) | (day > days_in_month - 3)
    return {
        "day_of_week": pd.Series(index.day_of_week.to_numpy(np.float64), index=index),
        "month": pd.Series(index.month.to_numpy(np.float64), index=index),
        "turn_of_month": pd.Series(turn.astype(np.float64), index=index),
    }


def _market_close(market: BarsInput, index: pd.DatetimeIndex) -> pd.Series[float]:
    series = read_bars(market, "market")["close"]
    # As of t: the market's last close at or before each bar time (never a later one).
    positions = np.searchsorted(_times(series).asi8, index.asi8, side="right") - 1
    values = np.where(positions >= 0, series.to_numpy()[np.maximum(positions, 0)], np.nan)
    return pd.Series(values, index=index, dtype=np.float64)


def _market_features(
    bars: pd.DataFrame, market: BarsInput, spec: FeatureSpec
) -> dict[str, pd.Series[float]]:
    market_close = _market_close(market, _times(bars))
    log_market = _log(market_close)
    market_returns = log_market.diff()
    returns = _log_returns(bars["close"])
    out: dict[str, pd.Series[float]] = {}
    for horizon in spec.market_return_horizons:
        out[f"mkt_ret_{horizon}"] = log_market - log_market.shift(horizon)
    window = spec.market_volatility_window
    if window:
        out[f"mkt_vol_{window}"] = market_returns.rolling(window, min_periods=window).std()
    window = spec.beta_window
    if window:
        covariance = returns.rolling(window, min_periods=window).cov(market_returns)
        variance = market_returns.rolling(window, min_periods=window).var()
        out[f"beta_{window}"] = covariance / variance.where(variance > 0)
        out[f"corr_{window}"] = returns.rolling(window, min_periods=window).corr(market_returns)
    return out


def _sentiment_frame(sentiment: pd.DataFrame | pl.DataFrame) -> pd.DataFrame:
    frame = _pandas_frame(sentiment, "sentiment")
    columns = {str(c).lower(): c for c in frame.columns}
    missing = [name for name in ("mean", "count") if name not in columns]
    if missing:
        raise _invalid(
            "sentiment",
            f"needs columns mean and count per date (missing {', '.join(missing)})",
            "sentiment lacks columns",
            field=missing[0],
        )
    out = pd.DataFrame(
        {
            "mean": pd.to_numeric(frame[columns["mean"]], errors="coerce"),
            "count": pd.to_numeric(frame[columns["count"]], errors="coerce"),
            "dispersion": (
                pd.to_numeric(frame[columns["dispersion"]], errors="coerce")
                if "dispersion" in columns
                else np.nan
            ),
        },
        index=frame.index,
    ).astype(np.float64)
    bad = out["count"].to_numpy() < 0
    if bad.any():
        row = int(np.argmax(bad))
        raise _invalid(
            "sentiment", "count must not be negative", "invalid sentiment", field="count", row=row
        )
    usable = (out["count"] > 0) & np.isfinite(out["mean"])
    return cast("pd.DataFrame", out.loc[usable.to_numpy()])


def _sentiment_features(
    index: pd.DatetimeIndex, sentiment: pd.DataFrame | pl.DataFrame, spec: FeatureSpec
) -> dict[str, pd.Series[float]]:
    frame = _sentiment_frame(sentiment)
    bar_days = index.normalize().asi8
    news_days = _times(frame).normalize().asi8
    # News dated D is known at D's close: it reaches the first bar dated D or later.
    target = np.searchsorted(bar_days, news_days, side="left")
    keep = target < len(index)
    target = target[keep]
    counts = frame["count"].to_numpy()[keep]
    means = frame["mean"].to_numpy()[keep]
    spreads = frame["dispersion"].to_numpy()[keep]
    size = len(index)
    total = np.bincount(target, weights=counts, minlength=size)
    weighted = np.bincount(target, weights=counts * means, minlength=size)
    squares = np.bincount(
        target, weights=counts * (np.nan_to_num(spreads) ** 2 + means**2), minlength=size
    )
    # A date without a dispersion value leaves its bar's pooled dispersion unknown.
    unknown = np.bincount(target, weights=np.isnan(spreads), minlength=size) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(total > 0, weighted / total, np.nan)
        variance = np.where((total > 0) & ~unknown, squares / total - mean**2, np.nan)
    dispersion = np.sqrt(np.clip(variance, 0.0, None))
    out = {
        "sent_mean": pd.Series(mean, index=index),
        "sent_count": pd.Series(total, index=index),
        "sent_dispersion": pd.Series(dispersion, index=index),
    }
    window = spec.sentiment_window
    if window:
        rolled_total = pd.Series(total, index=index).rolling(window, min_periods=1).sum()
        rolled_weighted = pd.Series(weighted, index=index).rolling(window, min_periods=1).sum()
        out[f"sent_mean_{window}"] = rolled_weighted / rolled_total.where(rolled_total > 0)
    return out


# --- entry point -----------------------------------------------------------------------------


def build_features(
    bars: BarsInput,
    spec: FeatureSpec | None = None,
    *,
    market: BarsInput | None = None,
    sentiment: pd.DataFrame | pl.DataFrame | None = None,
) -> FeatureSet:
    """Return point-in-time features of one instrument's daily bars.

    Parameters
    ----------
    bars
        Daily bars of one instrument (see :func:`read_bars`); close-only is accepted.
    spec
        Which features to compute; :class:`FeatureSpec` defaults when omitted.
    market
        Market closes (a Series) or bars, e.g. the index, for the market-context features.
    sentiment
        Daily sentiment with ``mean`` and ``count`` (and optionally ``dispersion``) per
        date, indexed by date or with a ``date`` column.

    Returns
    -------
    FeatureSet
        The feature frame (UTC index ``ts``), names, left-out features and warm-up rows.

    Raises
    ------
    ValidationError
        On invalid bars, market or sentiment data, or an invalid spec (the issue names the
        parameter and row or field).
    NotFound
        If a spec indicator is not registered.
    """
    spec = FeatureSpec() if spec is None else spec
    _check_spec(spec)
    frame = read_bars(bars)
    dropped: list[tuple[str, str]] = []
    families = [
        _price_features(frame, spec),
        _range_features(frame, spec, dropped),
        _indicator_features(frame, spec, dropped),
        _volume_features(frame, spec, dropped),
    ]
    if spec.calendar:
        families.append(_calendar_features(_times(frame)))
    if market is not None:
        families.append(_market_features(frame, market, spec))
    if sentiment is not None:
        families.append(_sentiment_features(_times(frame), sentiment, spec))
    columns: dict[str, pd.Series[float]] = {}
    for family in families:
        for name, values in family.items():
            if name in columns:
                raise _invalid(
                    "spec",
                    f"two features are named {name!r}; rename the indicator feature",
                    "invalid feature spec",
                )
            columns[name] = values
    result = pd.DataFrame(columns, index=frame.index).astype(np.float64)
    result = result.replace([np.inf, -np.inf], np.nan)
    warmup_rows = 0
    if spec.warmup == "drop":
        dense = [name for name in result.columns if not name.startswith(_SENTIMENT_PREFIX)]
        complete = np.isfinite(result[dense].to_numpy()).all(axis=1)
        warmup_rows = int(np.argmax(complete)) if complete.any() else len(result)
        result = result.iloc[warmup_rows:]
    return FeatureSet(
        frame=result,
        names=tuple(str(name) for name in result.columns),
        dropped=tuple(dropped),
        warmup_rows=warmup_rows,
    )
