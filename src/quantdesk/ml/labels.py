"""Forward-looking labels over a horizon of h bars, aligned to the bar they are known from.

The label at bar t describes what happens **after** t's close, over bars t+1 .. t+h; its
window is ``[t, t + h]`` in bar positions (the splits purge on exactly that window). The last
h bars have no complete window: their label is NaN and is never filled.

With ``r_t = ln(C_t / C_(t-1))`` the daily log return:

- :func:`forward_return`: ``y_t = ln(C_(t+h) / C_t) = r_(t+1) + ... + r_(t+h)``.
- :func:`forward_direction`: +1 when ``y_t > dead_zone``, -1 when ``y_t < -dead_zone``, NaN
  inside the dead zone ``|y_t| <= dead_zone``. Dead-zone rows are left out of training and
  scoring (NaN, not 0): moves too small to call are not a third class, and counting them as
  either side would reward noise.
- :func:`forward_realized_variance`: ``y_t = r_(t+1)^2 + ... + r_(t+h)^2`` (zero-mean realised
  variance of the next h daily returns; the variance target of the volatility task, in
  squared log-return units); :func:`forward_volatility` is its square root.
- :func:`forward_sum`: ``y_t = x_(t+1) + ... + x_(t+h)`` of any daily series, e.g. intraday
  realised variance for a HAR-RV target.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.ml.features import BarsInput, read_bars

__all__ = [
    "LabelTask",
    "check_horizon",
    "forward_direction",
    "forward_realized_variance",
    "forward_return",
    "forward_sum",
    "forward_volatility",
    "make_labels",
]

LabelTask = Literal["direction", "return", "volatility"]


def check_horizon(horizon: object, length: int, parameter: str = "horizon") -> int:
    """Return ``horizon`` as an int in ``1 .. length - 1``, or raise ``ValidationError``.

    Parameters
    ----------
    horizon
        The forecast horizon in bars.
    length
        Number of bars available.
    parameter
        The name used in the error.

    Returns
    -------
    int
        The horizon.

    Raises
    ------
    ValidationError
        If the horizon is not a whole number in range.
    """
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer):
        raise ValidationError(
            "horizon must be a whole number of bars",
            [Issue(parameter, f"got {horizon!r}; pass e.g. 1 or 5")],
        )
    if not 1 <= int(horizon) <= length - 1:
        raise ValidationError(
            "horizon out of range",
            [Issue(parameter, f"got {horizon}; needs 1..{length - 1} for {length} bars")],
        )
    return int(horizon)


def _close(data: BarsInput) -> pd.Series[float]:
    return read_bars(data, "close")["close"]


def _log_close(close: pd.Series[float]) -> pd.Series[float]:
    return pd.Series(np.log(close.to_numpy(np.float64)), index=close.index, dtype=np.float64)


def forward_sum(series: pd.Series[Any], horizon: int) -> pd.Series[float]:
    """Return ``y_t = x_(t+1) + ... + x_(t+h)``; NaN for the last ``horizon`` rows.

    Parameters
    ----------
    series
        A daily series (e.g. realised variance), oldest first.
    horizon
        h, in rows (1 .. len - 1).

    Returns
    -------
    pandas.Series
        Same index; NaN where the window is incomplete or holds a NaN.

    Raises
    ------
    ValidationError
        If the horizon is out of range.
    """
    h = check_horizon(horizon, len(series))
    values = series.astype(np.float64)
    ahead = values.shift(-1).rolling(h, min_periods=h).sum().shift(-(h - 1))
    ahead.iloc[len(ahead) - h :] = np.nan
    return ahead.rename(None)


def forward_return(close: BarsInput, horizon: int) -> pd.Series[float]:
    """Return the forward log return ``ln(C_(t+h) / C_t)``; NaN for the last h bars.

    Parameters
    ----------
    close
        Closes (a Series) or bars with a close column, indexed by time.
    horizon
        h in bars (1 .. len - 1).

    Returns
    -------
    pandas.Series
        Indexed by bar time (UTC).

    Raises
    ------
    ValidationError
        If the closes are invalid or the horizon is out of range.
    """
    prices = _close(close)
    h = check_horizon(horizon, len(prices))
    log_close = _log_close(prices)
    return (log_close.shift(-h) - log_close).rename(None)


def forward_direction(close: BarsInput, horizon: int, dead_zone: float = 0.0) -> pd.Series[float]:
    """Return +1 / -1 for a forward log return above ``dead_zone`` / below ``-dead_zone``.

    Parameters
    ----------
    close
        Closes or bars, indexed by time.
    horizon
        h in bars (1 .. len - 1).
    dead_zone
        Non-negative half-width of the band of log returns labelled NaN (no call); 0 labels
        every non-zero move and leaves an exactly flat one NaN.

    Returns
    -------
    pandas.Series
        +1.0, -1.0, or NaN inside the dead zone and for the last h bars.

    Raises
    ------
    ValidationError
        If the horizon is out of range or the dead zone is negative or not finite.
    """
    if not (isinstance(dead_zone, int | float) and np.isfinite(dead_zone) and dead_zone >= 0):
        raise ValidationError(
            "dead_zone must be a finite number >= 0",
            [Issue("dead_zone", f"got {dead_zone!r}; e.g. 0.0025 for 0.25 % in log return")],
        )
    forward = forward_return(close, horizon)
    values = forward.to_numpy()
    label = np.where(values > dead_zone, 1.0, np.where(values < -dead_zone, -1.0, np.nan))
    return pd.Series(label, index=forward.index)


def forward_realized_variance(close: BarsInput, horizon: int) -> pd.Series[float]:
    """Return ``r_(t+1)^2 + ... + r_(t+h)^2`` of daily log returns; NaN for the last h bars.

    Parameters
    ----------
    close
        Closes or bars, indexed by time.
    horizon
        h in bars (1 .. len - 1).

    Returns
    -------
    pandas.Series
        Forward realised variance (squared log-return units).

    Raises
    ------
    ValidationError
        If the closes are invalid or the horizon is out of range.
    """
    prices = _close(close)
    check_horizon(horizon, len(prices))
    squared = _log_close(prices).diff() ** 2
    return forward_sum(squared, horizon)


def forward_volatility(close: BarsInput, horizon: int) -> pd.Series[float]:
    """Return ``sqrt(forward_realized_variance)``; NaN for the last h bars.

    Raises
    ------
    ValidationError
        As :func:`forward_realized_variance`.
    """
    return forward_realized_variance(close, horizon) ** 0.5


def make_labels(
    close: BarsInput, task: LabelTask, horizon: int, *, dead_zone: float = 0.0
) -> pd.Series[float]:
    """Return the label series of ``task``.

    Parameters
    ----------
    close
        Closes or bars, indexed by time.
    task
        ``"direction"`` (:func:`forward_direction`), ``"return"`` (:func:`forward_return`) or
        ``"volatility"`` (:func:`forward_realized_variance`).
    horizon
        h in bars.
    dead_zone
        Direction only: see :func:`forward_direction`.

    Returns
    -------
    pandas.Series
        The labels, NaN where undefined.

    Raises
    ------
    ValidationError
        On an unknown task or as the chosen function.
    """
    if task == "direction":
        return forward_direction(close, horizon, dead_zone)
    if task == "return":
        return forward_return(close, horizon)
    if task == "volatility":
        return forward_realized_variance(close, horizon)
    raise ValidationError(
        "unknown task", [Issue("task", f"got {task!r}; use direction, return or volatility")]
    )
