"""Stress tests: replay historical crises on today's weights, or apply user-defined shocks.

**Historical scenarios** (:func:`historical_stress`) take weights by symbol (fractions of
portfolio value; the rest is cash), a price frame (DatetimeIndex, one column per symbol, e.g.
adjusted closes) and a scenario window. A position's shock is ``close_end / close_start - 1``
where each boundary uses the *last close on or before the boundary date* (the close of that
day when it traded), accepted only if it is at most ``max_gap_days`` calendar days before the
date. A symbol whose own column has no such close at either boundary falls back to its proxy
column (``proxies={"NEWCO": "SPX"}``, source ``"proxy:SPX"``); without one it is reported as
``"not covered"`` and adds nothing to the portfolio return (``covered_weight`` and
``not_covered`` say so). The portfolio is held buy-and-hold from the start of the window: its
value relative to the start is ``1 + sum_i w_i (P_i,t / P_i,start - 1)`` on every date of the
frame inside the window (prices carried forward over gaps), and ``max_drawdown`` is the
largest peak-to-trough fall of that path, a positive fraction (0.55 = -55 %), with the
window start as the first peak.

Built-in windows (:data:`HISTORICAL_SCENARIOS`): the 2008 global financial crisis
(2007-10-09 → 2009-03-09), the 2020 COVID crash (2020-02-19 → 2020-03-23) and the 2000–02
dot-com bust (2000-03-24 → 2002-10-09), each the S&P 500's peak and trough.

**User-defined shocks** (:func:`shock_stress`) map keys to returns:
``{"all": -0.05, "asset_class:equity": -0.20, "sector:Technology": -0.30, "symbol:AAPL": -0.5}``.
Each position takes the most specific shock that matches it: ``symbol`` over ``sector`` over
``asset_class`` over ``all``; positions that nothing matches are unshocked. Names compare
case-insensitively. A key of another kind, or (unless ``allow_unmatched``) one that matches
no position, is a :class:`~quantdesk.core.errors.ValidationError` naming the key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

import numpy as np
import pandas as pd

from quantdesk.core.errors import Issue, ValidationError


@dataclass(frozen=True, slots=True)
class HistoricalScenario:
    """A named historical window replayed on current weights."""

    name: str
    label: str
    start: date
    end: date


GFC_2008 = HistoricalScenario(
    "gfc_2008", "2008 global financial crisis", date(2007, 10, 9), date(2009, 3, 9)
)
COVID_2020 = HistoricalScenario(
    "covid_2020", "2020 COVID crash", date(2020, 2, 19), date(2020, 3, 23)
)
DOTCOM_2000 = HistoricalScenario(
    "dotcom_2000", "2000-02 dot-com bust", date(2000, 3, 24), date(2002, 10, 9)
)
#: Built-in scenarios by name.
HISTORICAL_SCENARIOS: Mapping[str, HistoricalScenario] = MappingProxyType(
    {scenario.name: scenario for scenario in (GFC_2008, COVID_2020, DOTCOM_2000)}
)

OWN_HISTORY = "own history"
NOT_COVERED = "not covered"
NO_SHOCK = "no shock"


@dataclass(frozen=True, slots=True)
class Position:
    """A holding for user-defined shocks: weight (fraction of value) and optional metadata."""

    symbol: str
    weight: float
    asset_class: str | None = None
    sector: str | None = None


@dataclass(frozen=True, slots=True)
class PositionStress:
    """One position under a scenario.

    ``shock`` is the position's return (``None`` when not covered), ``source`` where it came
    from (``"own history"``, ``"proxy:<column>"``, ``"not covered"``, the matching shock key,
    or ``"no shock"``), ``pnl`` its contribution ``weight * shock`` as a fraction of portfolio
    value (``pnl_amount`` in currency). ``start_date``/``end_date`` are the dates of the
    closes used (historical scenarios only).
    """

    symbol: str
    weight: float
    shock: float | None
    source: str
    pnl: float | None
    pnl_amount: float | None = None
    start_date: date | None = None
    end_date: date | None = None


@dataclass(frozen=True, slots=True)
class StressResult:
    """A scenario applied to a portfolio: per-position results and the total.

    ``portfolio_return`` sums the covered positions' P&L; ``max_drawdown`` (positive
    fraction), ``drawdown_peak`` and ``drawdown_trough`` describe the path within a
    historical window and are ``None`` for user-defined shocks.
    """

    scenario: str
    start: date | None
    end: date | None
    positions: tuple[PositionStress, ...]
    portfolio_return: float
    pnl_amount: float | None
    covered_weight: float
    not_covered: tuple[str, ...]
    max_drawdown: float | None = None
    drawdown_peak: date | None = None
    drawdown_trough: date | None = None

    def to_frame(self) -> pd.DataFrame:
        """Return one row per position (weight, shock, source, pnl, pnl_amount, dates)."""
        return pd.DataFrame(
            [
                {
                    "weight": p.weight,
                    "shock": np.nan if p.shock is None else p.shock,
                    "source": p.source,
                    "pnl": np.nan if p.pnl is None else p.pnl,
                    "pnl_amount": np.nan if p.pnl_amount is None else p.pnl_amount,
                    "start_date": p.start_date,
                    "end_date": p.end_date,
                }
                for p in self.positions
            ],
            index=pd.Index([p.symbol for p in self.positions], name="symbol"),
        )


def _invalid(location: str, reason: str) -> ValidationError:
    return ValidationError(f"invalid {location}", [Issue(location, reason)])


def _check_value(portfolio_value: float | None) -> float | None:
    if portfolio_value is None:
        return None
    if not math.isfinite(portfolio_value) or portfolio_value <= 0:
        raise _invalid("portfolio_value", f"got {portfolio_value!r}; give a finite value > 0")
    return float(portfolio_value)


def _check_weights(weights: Mapping[str, float] | pd.Series[float]) -> dict[str, float]:
    checked = {str(symbol): float(weight) for symbol, weight in dict(weights).items()}
    if not checked:
        raise _invalid("weights", "give at least one symbol and weight")
    bad = [symbol for symbol, weight in checked.items() if not math.isfinite(weight)]
    if bad:
        raise ValidationError(
            "weights must be finite",
            [Issue("weights", "weight is not finite", field=s) for s in bad],
        )
    return checked


# --- historical scenarios -------------------------------------------------------------------


def _check_prices(prices: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(prices, pd.DataFrame) or not isinstance(prices.index, pd.DatetimeIndex):
        raise _invalid("prices", "give a DataFrame with a DatetimeIndex and a column per symbol")
    if prices.index.has_duplicates:
        raise _invalid("prices", "the index has duplicate dates")
    frame = prices.sort_index()
    index = pd.DatetimeIndex(frame.index)
    if index.tz is not None:
        frame.index = index.tz_localize(None)
    frame.columns = [str(column) for column in frame.columns]
    values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isnan(values) & ~(values > 0)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        raise ValidationError(
            "prices must be positive",
            [Issue(f"row {row}", "price is not a positive number", field=frame.columns[column])],
        )
    return frame


def _as_of(series: pd.Series[float], day: date, max_gap_days: int) -> pd.Timestamp | None:
    observed = series.dropna()
    stamp = pd.Timestamp(day)
    position = int(observed.index.searchsorted(stamp, side="right")) - 1
    if position < 0:
        return None
    found = pd.Timestamp(observed.index[position])
    if (stamp - found).days > max_gap_days:
        return None
    return found


def _window_prices(
    series: pd.Series[float], scenario: HistoricalScenario, max_gap_days: int
) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    start = _as_of(series, scenario.start, max_gap_days)
    end = _as_of(series, scenario.end, max_gap_days)
    if start is None or end is None:
        return None
    return start, end


def historical_stress(
    weights: Mapping[str, float] | pd.Series[float],
    prices: pd.DataFrame,
    scenario: HistoricalScenario | str,
    *,
    proxies: Mapping[str, str] | None = None,
    portfolio_value: float | None = None,
    max_gap_days: int = 7,
) -> StressResult:
    """Replay a historical window on ``weights`` and return per-position and total P&L.

    Parameters
    ----------
    weights
        Fractions of portfolio value by symbol (negative for shorts; the rest is cash).
    prices
        Prices (adjusted closes) with a DatetimeIndex and a column per symbol; may also hold
        proxy columns such as an index.
    scenario
        A :class:`HistoricalScenario` or the name of a built-in one (``"gfc_2008"``,
        ``"covid_2020"``, ``"dotcom_2000"``).
    proxies
        ``symbol -> column`` used when the symbol's own prices do not cover the window.
    portfolio_value
        Optional value in currency for the ``*_amount`` fields.
    max_gap_days
        Largest distance in calendar days between a boundary date and the close used for it.

    Returns
    -------
    StressResult
        With the window's path drawdown.

    Raises
    ------
    ValidationError
        On an unknown scenario name, a proxy naming a missing column, non-positive prices,
        or bad weights.
    """
    chosen = _scenario(scenario)
    checked = _check_weights(weights)
    value = _check_value(portfolio_value)
    if max_gap_days < 0:
        raise _invalid("max_gap_days", f"got {max_gap_days!r}; give a number of days >= 0")
    frame = _check_prices(prices)
    proxy_map = {str(k): str(v) for k, v in (proxies or {}).items()}
    missing = sorted({column for column in proxy_map.values() if column not in frame.columns})
    if missing:
        raise ValidationError(
            "proxy columns are missing from prices",
            [Issue("proxies", f"no prices column '{column}'", field=column) for column in missing],
        )
    positions: list[PositionStress] = []
    relatives: list[tuple[float, pd.Series[float]]] = []
    inside = pd.DatetimeIndex(
        frame.loc[pd.Timestamp(chosen.start) : pd.Timestamp(chosen.end)].index
    )
    for symbol, weight in checked.items():
        found = _cover(frame, symbol, proxy_map, chosen, max_gap_days)
        if found is None:
            positions.append(PositionStress(symbol, weight, None, NOT_COVERED, None))
            continue
        column, source, start, end = found
        series = frame[column]
        shock = float(series.loc[end] / series.loc[start] - 1.0)
        pnl = weight * shock
        positions.append(
            PositionStress(
                symbol,
                weight,
                shock,
                source,
                pnl,
                None if value is None else pnl * value,
                start.date(),
                end.date(),
            )
        )
        path = series.loc[start : pd.Timestamp(chosen.end)].ffill()
        relatives.append((weight, path.reindex(inside, method="ffill") / series.loc[start]))
    drawdown, peak, trough = _path_drawdown(relatives, inside, chosen.start)
    return _summarise(
        chosen.name, chosen.start, chosen.end, positions, value, drawdown, peak, trough
    )


def _scenario(scenario: HistoricalScenario | str) -> HistoricalScenario:
    if isinstance(scenario, HistoricalScenario):
        if scenario.end <= scenario.start:
            raise _invalid("scenario", f"{scenario.name}: end {scenario.end} is not after start")
        return scenario
    found = HISTORICAL_SCENARIOS.get(str(scenario).lower())
    if found is None:
        names = ", ".join(HISTORICAL_SCENARIOS)
        raise _invalid("scenario", f"unknown scenario {scenario!r}; use one of {names}")
    return found


def _cover(
    frame: pd.DataFrame,
    symbol: str,
    proxies: Mapping[str, str],
    scenario: HistoricalScenario,
    max_gap_days: int,
) -> tuple[str, str, pd.Timestamp, pd.Timestamp] | None:
    if symbol in frame.columns:
        own = _window_prices(frame[symbol], scenario, max_gap_days)
        if own is not None:
            return symbol, OWN_HISTORY, own[0], own[1]
    proxy = proxies.get(symbol)
    if proxy is not None:
        through = _window_prices(frame[proxy], scenario, max_gap_days)
        if through is not None:
            return proxy, f"proxy:{proxy}", through[0], through[1]
    return None


def _path_drawdown(
    relatives: list[tuple[float, pd.Series[float]]], inside: pd.DatetimeIndex, start: date
) -> tuple[float | None, date | None, date | None]:
    if not relatives:
        return None, None, None
    value = np.ones(len(inside) + 1)
    for weight, relative in relatives:
        # Before a position's first close inside the window it has not moved yet.
        value[1:] += weight * (relative.to_numpy(dtype=np.float64, na_value=1.0) - 1.0)
    dates = [start, *(stamp.date() for stamp in inside)]
    peaks = np.maximum.accumulate(value)
    with np.errstate(divide="ignore", invalid="ignore"):
        falls = np.where(peaks > 0, 1.0 - value / peaks, 0.0)
    trough = int(np.argmax(falls))
    peak = int(np.argmax(value[: trough + 1]))
    return float(falls[trough]), dates[peak], dates[trough]


def _summarise(
    name: str,
    start: date | None,
    end: date | None,
    positions: list[PositionStress],
    value: float | None,
    drawdown: float | None = None,
    peak: date | None = None,
    trough: date | None = None,
) -> StressResult:
    total = math.fsum(p.pnl for p in positions if p.pnl is not None)
    return StressResult(
        scenario=name,
        start=start,
        end=end,
        positions=tuple(positions),
        portfolio_return=total,
        pnl_amount=None if value is None else total * value,
        covered_weight=math.fsum(p.weight for p in positions if p.shock is not None),
        not_covered=tuple(p.symbol for p in positions if p.source == NOT_COVERED),
        max_drawdown=drawdown,
        drawdown_peak=peak,
        drawdown_trough=trough,
    )


def run_historical_stress(
    weights: Mapping[str, float] | pd.Series[float],
    prices: pd.DataFrame,
    scenarios: Sequence[HistoricalScenario | str] | None = None,
    *,
    proxies: Mapping[str, str] | None = None,
    portfolio_value: float | None = None,
    max_gap_days: int = 7,
) -> dict[str, StressResult]:
    """Return :func:`historical_stress` for each scenario (all built-in ones by default)."""
    chosen = list(HISTORICAL_SCENARIOS.values()) if scenarios is None else list(scenarios)
    results: dict[str, StressResult] = {}
    for scenario in chosen:
        result = historical_stress(
            weights,
            prices,
            scenario,
            proxies=proxies,
            portfolio_value=portfolio_value,
            max_gap_days=max_gap_days,
        )
        results[result.scenario] = result
    return results


# --- user-defined shocks --------------------------------------------------------------------

_KINDS = ("symbol", "sector", "asset_class")


def _positions(positions: Sequence[Position] | Mapping[str, float]) -> list[Position]:
    if isinstance(positions, Mapping):
        listed = [Position(symbol, weight) for symbol, weight in _check_weights(positions).items()]
    else:
        listed = list(positions)
    if not listed:
        raise _invalid("positions", "give at least one position")
    for index, position in enumerate(listed):
        if not math.isfinite(position.weight):
            raise ValidationError(
                "weights must be finite",
                [Issue(f"positions[{index}]", "weight is not finite", field="weight")],
            )
    return listed


def _parse_shocks(shocks: Mapping[str, float]) -> dict[tuple[str, str], tuple[str, float]]:
    parsed: dict[tuple[str, str], tuple[str, float]] = {}
    issues: list[Issue] = []
    for key, raw in shocks.items():
        text = str(key).strip()
        kind, _, name = text.partition(":")
        kind = kind.strip().lower()
        name = name.strip().lower()
        shock = float(raw)
        if text.lower() == "all":
            kind, name = "all", ""
        elif kind not in _KINDS or not name:
            issues.append(
                Issue(
                    "shocks",
                    f"unknown shock key '{key}'; use 'all', 'asset_class:<name>', "
                    "'sector:<name>' or 'symbol:<symbol>'",
                    field=str(key),
                )
            )
            continue
        if not math.isfinite(shock) or shock < -1.0:
            issues.append(Issue("shocks", f"shock {raw!r} must be a return >= -1", field=str(key)))
            continue
        if (kind, name) in parsed:
            issues.append(Issue("shocks", "the same key is given twice", field=str(key)))
            continue
        parsed[(kind, name)] = (text, shock)
    if issues:
        raise ValidationError("invalid shocks", issues)
    return parsed


def _match(
    position: Position, parsed: Mapping[tuple[str, str], tuple[str, float]]
) -> tuple[str, float] | None:
    candidates = (
        ("symbol", position.symbol),
        ("sector", position.sector),
        ("asset_class", position.asset_class),
        ("all", ""),
    )
    for kind, name in candidates:
        if name is None:
            continue
        found = parsed.get((kind, str(name).strip().lower()))
        if found is not None:
            return found
    return None


def shock_stress(
    positions: Sequence[Position] | Mapping[str, float],
    shocks: Mapping[str, float],
    *,
    portfolio_value: float | None = None,
    name: str = "custom",
    allow_unmatched: bool = False,
) -> StressResult:
    """Apply user-defined shocks to positions; the most specific matching key wins.

    Parameters
    ----------
    positions
        :class:`Position` objects (with optional ``asset_class``/``sector``), or a mapping of
        symbol to weight.
    shocks
        Returns by key: ``"all"``, ``"asset_class:<name>"``, ``"sector:<name>"``,
        ``"symbol:<symbol>"``; precedence symbol > sector > asset_class > all.
    portfolio_value
        Optional value in currency for the ``*_amount`` fields.
    name
        Scenario name in the result.
    allow_unmatched
        Accept keys that match no position instead of raising.

    Returns
    -------
    StressResult
        ``source`` of each position is the key that applied, or ``"no shock"``.

    Raises
    ------
    ValidationError
        Naming every unknown or unmatched key, shock below -1, or bad weight.
    """
    listed = _positions(positions)
    value = _check_value(portfolio_value)
    parsed = _parse_shocks(shocks)
    results: list[PositionStress] = []
    used: set[str] = set()
    for position in listed:
        found = _match(position, parsed)
        key, shock = found if found is not None else (NO_SHOCK, 0.0)
        used.add(key)
        pnl = position.weight * shock
        results.append(
            PositionStress(
                position.symbol,
                position.weight,
                shock,
                key,
                pnl,
                None if value is None else pnl * value,
            )
        )
    if not allow_unmatched:
        unmatched = [key for key, _ in parsed.values() if key not in used]
        shadowed = [key for key in unmatched if _matches_any(key, parsed, listed)]
        unknown = [key for key in unmatched if key not in shadowed]
        if unknown:
            raise ValidationError(
                "shock keys match no position",
                [
                    Issue("shocks", f"unknown shock key '{key}': no position matches it", field=key)
                    for key in unknown
                ],
            )
    return _summarise(name, None, None, results, value)


def _matches_any(
    key: str, parsed: Mapping[tuple[str, str], tuple[str, float]], listed: list[Position]
) -> bool:
    # A key that matches positions but is overridden by a more specific key is not unknown.
    kind, name = next(pair for pair, (text, _) in parsed.items() if text == key)
    for position in listed:
        attribute = {"symbol": position.symbol, "sector": position.sector}.get(
            kind, position.asset_class
        )
        if kind == "all" or (attribute is not None and str(attribute).strip().lower() == name):
            return True
    return False
