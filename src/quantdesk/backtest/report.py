"""The backtest tear sheet: one self-contained, deterministic HTML page.

:func:`render_report` turns a :class:`~quantdesk.backtest.results.BacktestResult` into a single
HTML document with no external scripts, stylesheets, fonts or images (the plots are inline
SVG), so it opens offline, can be mailed or archived as one file, and prints cleanly. It holds:

- a header: strategy, symbols, period, initial capital, the run's spec and its hash, and a
  "SYNTHETIC DATA" banner when the prices were generated;
- the metrics table: every :class:`~quantdesk.backtest.results.BacktestMetrics` field and the
  extra :class:`~quantdesk.risk.RiskMetrics` ones, with a benchmark column when there is one
  (the benchmark's own risk numbers come from :func:`quantdesk.risk.summary`);
- plots: equity against the benchmark rebased to the initial capital, the drawdown (under
  water) curve, a monthly-returns heatmap with annual totals (also given as a table with the
  exact values in ``data-value`` attributes), and the trades' entries and exits on each traded
  symbol's price (long and short distinguished; at most :data:`MAX_TRADE_SYMBOLS` symbols, the
  most traded, and the page says when some are left out);
- the trades table (first and last :data:`TRADE_ROWS` rows when longer), the orders' status
  counts and the strategy log's first lines.

Monthly returns are month-end equity over the previous month-end equity (the initial capital
before the first month); annual totals likewise by year. The drawdown curve is equity over its
running peak, the initial capital counting as the first peak, as in
:func:`quantdesk.risk.max_drawdown`.

Rendering is deterministic: matplotlib's SVG ids come from a fixed hash salt, the SVG carries
no date and every figure's ids get their own prefix, so one result renders byte-identically
every time and several plots can share the page. The plots are drawn on bare
:class:`matplotlib.figure.Figure` objects (never through ``pyplot``), so no GUI backend is
touched and the global backend stays as it is; a module lock makes the (process-global)
matplotlib settings safe across threads.
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import matplotlib
import numpy as np
import numpy.typing as npt
import pandas as pd
from markupsafe import Markup
from matplotlib import colors as mcolors
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from quantdesk.backtest.artifacts import plain_json, spec_hash, write_bytes_atomic
from quantdesk.backtest.results import BacktestMetrics, BacktestResult, benchmark_returns
from quantdesk.core.errors import Issue, ValidationError
from quantdesk.risk.metrics import RiskMetrics, summary

__all__ = [
    "MAX_TRADE_SYMBOLS",
    "TRADE_ROWS",
    "monthly_returns",
    "render_report",
    "write_report",
]

#: Most symbols that get a trade-marker plot (the most traded ones).
MAX_TRADE_SYMBOLS = 6
#: Rows shown at each end of a long trades table.
TRADE_ROWS = 25
_LOG_LINES = 50
_PLOT_BUCKETS = 500  # at most 4 points per bucket kept per line: first/low/high/last of each bucket
_SYMBOLS_LISTED = 30
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LOCK = threading.Lock()
_RC: dict[str, Any] = {
    "svg.hashsalt": "quantdesk-report",
    "svg.fonttype": "none",  # text stays text: smaller, selectable, no embedded glyphs
    "text.parse_math": False,  # a "$" in a symbol or strategy name is plain text
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Helvetica", "Arial"],
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "path.simplify": True,
}
_STRATEGY, _BENCHMARK = "#1f4e9c", "#8a8a8a"
_LONG, _SHORT = "#1a7f37", "#c62828"

FloatArray = npt.NDArray[np.float64]


# --- numbers -----------------------------------------------------------------------------


def monthly_returns(result: BacktestResult) -> pd.DataFrame:
    """Return the monthly returns table: one row per year, columns 1-12 and ``"year"``.

    A month's return is its last daily equity over the previous month's last one (the
    initial capital before the first month), minus 1; ``"year"`` is the same by calendar year
    (UTC). Months outside the backtest are NaN.

    Parameters
    ----------
    result
        A backtest result.

    Returns
    -------
    pandas.DataFrame
        Index ``year`` (int), columns ``1 .. 12`` then ``"year"``, values as fractions.
    """
    equity = result.daily_equity.astype(np.float64)
    index = pd.DatetimeIndex(equity.index)
    month_end = equity.groupby([index.year, index.month]).last()
    previous = month_end.shift(1).fillna(result.initial_cash)
    monthly = (month_end / previous - 1.0).unstack()
    monthly = monthly.reindex(columns=range(1, 13))
    year_end = equity.groupby(index.year).last()
    yearly = year_end / year_end.shift(1).fillna(result.initial_cash) - 1.0
    table = pd.DataFrame(monthly.to_numpy(), index=monthly.index, columns=list(range(1, 13)))
    table["year"] = yearly.reindex(table.index).to_numpy()
    table.index = pd.Index([int(year) for year in table.index], name="year")
    return table


def _drawdown(result: BacktestResult) -> pd.Series:
    values = result.daily_equity.to_numpy(dtype=np.float64)
    peak = np.maximum.accumulate(np.concatenate([[result.initial_cash], values]))[1:]
    return pd.Series(values / peak - 1.0, index=result.daily_equity.index, name="drawdown")


@dataclass(frozen=True, slots=True)
class _Benchmark:
    returns: pd.Series
    curve: pd.Series  # rebased to the initial capital
    risk: RiskMetrics
    total_return: float


def _benchmark(
    result: BacktestResult, benchmark: pd.Series | None, periods_per_year: float
) -> _Benchmark | None:
    if benchmark is None:
        return None
    dates = pd.DatetimeIndex(result.daily_equity.index)
    returns = benchmark_returns(benchmark, dates)
    growth = np.concatenate([[1.0], np.cumprod(1.0 + returns.to_numpy(dtype=np.float64))])
    curve = pd.Series(result.initial_cash * growth, index=dates, name="benchmark")
    risk = summary(returns, periods_per_year=periods_per_year)
    return _Benchmark(returns, curve, risk, float(growth[-1] - 1.0))


# --- formatting --------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _number(value: Any, scale: float = 1.0, suffix: str = "") -> str:
    if _missing(value):
        return "—"
    number = float(value)
    if math.isinf(number):
        return "∞" if number > 0 else "−∞"
    return f"{number * scale:,.2f}{suffix}"


def _pct(value: Any) -> str:
    return _number(value, 100.0, "%")


def _count(value: Any) -> str:
    return "—" if _missing(value) else f"{int(value):,d}"


def _periods(value: Any) -> str:
    return "—" if _missing(value) else f"{int(value):,d} d"


def _stamp(value: Any) -> str:
    if _missing(value):
        return "—"
    stamp = pd.Timestamp(value)
    if stamp.tz is not None:
        stamp = stamp.tz_convert("UTC")
    if stamp == stamp.normalize():
        return stamp.strftime("%Y-%m-%d")
    return stamp.strftime("%Y-%m-%d %H:%M") + (" UTC" if stamp.tz is not None else "")


def _generic(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return _count(value)
    return _number(value) if isinstance(value, float) or value is None else str(value)


Formatter = Callable[[Any], str]
_Spec = tuple[str, str, Formatter, str, str | None]
_PERFORMANCE, _TRADING, _RELATIVE = "Performance", "Trading", "Relative to the benchmark"


def _risk_row(label: str, formatter: Formatter, field: str) -> _Spec:
    return (_PERFORMANCE, label, formatter, f"risk.{field}", f"risk.{field}")


# (group, label, formatter, strategy value, benchmark value). Values name a BacktestMetrics
# field, or "risk.<field>" of the RiskMetrics (the benchmark's own for the benchmark column);
# the benchmark value is None where it has no meaning ("—") and "" for relative rows.
_ROWS: tuple[_Spec, ...] = (
    (_PERFORMANCE, "Total return", _pct, "total_return", "benchmark_total_return"),
    (_PERFORMANCE, "Annual return (CAGR)", _pct, "annual_return", "benchmark_annual_return"),
    (_PERFORMANCE, "Volatility (annualised)", _pct, "volatility", "risk.volatility"),
    (_PERFORMANCE, "Sharpe ratio", _number, "sharpe", "risk.sharpe"),
    (_PERFORMANCE, "Sortino ratio", _number, "sortino", "risk.sortino"),
    (_PERFORMANCE, "Calmar ratio", _number, "calmar", "risk.calmar"),
    (_PERFORMANCE, "Max drawdown", _pct, "max_drawdown", "risk.max_drawdown"),
    (
        _PERFORMANCE,
        "Longest drawdown",
        _periods,
        "max_drawdown_duration",
        "risk.max_drawdown_duration",
    ),
    _risk_row("Downside deviation", _pct, "downside_deviation"),
    _risk_row("Omega ratio", _number, "omega"),
    _risk_row("Ulcer index", _pct, "ulcer_index"),
    _risk_row("Tail ratio", _number, "tail_ratio"),
    _risk_row("Skew", _number, "skew"),
    _risk_row("Excess kurtosis", _number, "kurtosis"),
    _risk_row("Longest drawdown start", _stamp, "longest_drawdown_start"),
    _risk_row("Longest drawdown recovery", _stamp, "longest_drawdown_recovery"),
    (_TRADING, "Closed trades", _count, "trades", None),
    (_TRADING, "Win rate", _pct, "win_rate", None),
    (_TRADING, "Profit factor", _number, "profit_factor", None),
    (_TRADING, "Average win", _number, "average_win", None),
    (_TRADING, "Average loss", _number, "average_loss", None),
    (_TRADING, "Exposure (gross / equity)", _pct, "exposure", None),
    (_TRADING, "Time in market", _pct, "time_in_market", None),
    (_TRADING, "Turnover (per year)", _number, "turnover", None),
    (_TRADING, "Fees", _number, "fees", None),
    (_RELATIVE, "Alpha (annual)", _pct, "alpha", ""),
    (_RELATIVE, "Beta", _number, "beta", ""),
    (_RELATIVE, "Information ratio", _number, "information_ratio", ""),
    (_RELATIVE, "Tracking error", _pct, "tracking_error", ""),
)


@dataclass(frozen=True, slots=True)
class _Cell:
    text: str
    key: str | None = None


@dataclass(frozen=True, slots=True)
class _Row:
    label: str
    strategy: _Cell
    benchmark: _Cell


def _metric_groups(
    metrics: BacktestMetrics, risk: RiskMetrics, bench: _Benchmark | None
) -> tuple[list[tuple[str, list[_Row]]], bool]:
    values = metrics.to_dict()
    has_bench = bench is not None or metrics.benchmark_total_return is not None

    def value(key: str, benchmark: bool) -> Any:
        if key.startswith("risk."):
            source = (None if bench is None else bench.risk) if benchmark else risk
            return None if source is None else getattr(source, key.removeprefix("risk."))
        return values[key]

    rows = list(_ROWS)
    listed = {row[3] for row in rows} | {row[4] for row in rows}
    rows += [
        ("Other", name.replace("_", " ").capitalize(), _generic, name, None)
        for name in values
        if name not in listed
    ]
    groups: dict[str, list[_Row]] = {}
    for group, label, formatter, key, other in rows:
        if group == _RELATIVE and not has_bench:
            continue
        strategy = _Cell(formatter(value(key, benchmark=False)), key)
        if other is None or not has_bench:
            benchmark = _Cell("—")
        elif not other:
            benchmark = _Cell("")
        else:
            tag = other.replace("risk.", "benchmark.", 1)  # unique data-metric per cell
            benchmark = _Cell(formatter(value(other, benchmark=True)), tag)
        groups.setdefault(group, []).append(_Row(label, strategy, benchmark))
    return list(groups.items()), has_bench


def _with_benchmark(
    result: BacktestResult, bench: _Benchmark | None, ppy: float
) -> BacktestMetrics:
    """Return the metrics with the benchmark fields filled when only the report has it."""
    metrics = result.metrics
    if bench is None or metrics.benchmark_total_return is not None:
        return metrics
    aligned = bench.returns.reindex(result.returns.index)
    risk = summary(result.returns, aligned, periods_per_year=ppy)
    return dataclasses.replace(
        metrics,
        benchmark_total_return=bench.total_return,
        # as the engine does: growth over all the strategy's return dates
        benchmark_annual_return=(1.0 + bench.total_return) ** (ppy / len(result.returns)) - 1.0,
        alpha=risk.alpha,
        beta=risk.beta,
        information_ratio=risk.information_ratio,
        tracking_error=risk.tracking_error,
    )


# --- plots -------------------------------------------------------------------------------


@contextmanager
def _matplotlib() -> Iterator[None]:
    with _LOCK, matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        yield


_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(url\(#|href="#)([^")]+)')
_ROOT = re.compile(r'<svg\b([^>]*?)\swidth="[^"]*"\sheight="[^"]*"')


def _svg(figure: Figure, prefix: str, label: str) -> Markup:
    """Return ``figure`` as inline SVG markup with ids unique to ``prefix``."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.DOTALL)
    text = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = _REF.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", text)
    # scale with the page; the viewBox keeps the aspect ratio
    text = _ROOT.sub(r'<svg\1 class="plot" role="img"', text, count=1)
    text = text.replace(">", f"><title>{_xml(label)}</title>", 1)
    return Markup(text.strip())  # matplotlib escapes the texts it writes


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _naive(index: pd.Index) -> npt.NDArray[np.datetime64]:
    stamps = pd.DatetimeIndex(index)
    if stamps.tz is not None:
        stamps = stamps.tz_convert("UTC").tz_localize(None)
    return stamps.to_numpy(dtype="datetime64[ns]")


def _decimate(values: FloatArray, buckets: int = _PLOT_BUCKETS) -> npt.NDArray[np.intp]:
    """Return the positions to draw: per bucket its first, lowest, highest and last point.

    A plot under two thousand points wide cannot show more, and keeping each bucket's extremes
    leaves every peak and trough (and so the drawdown's depth) exactly where it was.
    """
    count = len(values)
    if count <= 4 * buckets:
        return np.arange(count)
    edges = np.linspace(0, count, buckets + 1).astype(np.intp)
    keep = [edges[:-1], edges[1:] - 1]
    lows = np.empty(buckets, dtype=np.intp)
    highs = np.empty(buckets, dtype=np.intp)
    for bucket in range(buckets):
        chunk = values[edges[bucket] : edges[bucket + 1]]
        lows[bucket] = edges[bucket] + int(np.nanargmin(chunk)) if np.isfinite(chunk).any() else 0
        highs[bucket] = edges[bucket] + int(np.nanargmax(chunk)) if np.isfinite(chunk).any() else 0
    keep.extend([lows, highs])
    return np.unique(np.concatenate(keep))


def _line(axes: Axes, series: pd.Series, **style: Any) -> None:
    values = series.to_numpy(dtype=np.float64)
    shown = _decimate(values)
    axes.plot(_naive(series.index)[shown], values[shown], **style)


def _date_axis(axes: Axes) -> None:
    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def _money_axis(axes: Axes) -> None:
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))


def _equity_figure(result: BacktestResult, bench: _Benchmark | None) -> Figure:
    figure = Figure(figsize=(10, 3.6), layout="constrained")
    axes = figure.add_subplot()
    _line(
        axes,
        result.daily_equity,
        color=_STRATEGY,
        linewidth=1.2,
        label=result.strategy,
        gid="equity-strategy",
    )
    if bench is not None:
        _line(
            axes,
            bench.curve,
            color=_BENCHMARK,
            linewidth=1.0,
            label="Benchmark (rebased)",
            gid="equity-benchmark",
        )
    axes.axhline(result.initial_cash, color="black", linewidth=0.6, alpha=0.5)
    axes.set_title("Equity" + (" vs benchmark" if bench is not None else ""))
    _date_axis(axes)
    _money_axis(axes)
    axes.legend(loc="upper left")
    return figure


def _drawdown_figure(result: BacktestResult) -> Figure:
    drawdown = _drawdown(result)
    figure = Figure(figsize=(10, 2.4), layout="constrained")
    axes = figure.add_subplot()
    values = drawdown.to_numpy(dtype=np.float64)
    shown = _decimate(values)
    dates, values = _naive(drawdown.index)[shown], values[shown]
    # one polygon along the curve and back along zero (fill_between doubles every point)
    outline_x = np.concatenate([dates[:1], dates, dates[-1:]])
    outline_y = np.concatenate([[0.0], values, [0.0]])
    axes.fill(outline_x, outline_y, color=_SHORT, alpha=0.35, linewidth=0, gid="underwater")
    axes.plot(dates, values, color=_SHORT, linewidth=0.8)
    axes.set_title(f"Drawdown (max {_pct(result.metrics.max_drawdown)})")
    axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.set_ylim(top=0.0)
    _date_axis(axes)
    return figure


def _heat_norm(table: pd.DataFrame) -> mcolors.Normalize:
    values = table[list(range(1, 13))].to_numpy(dtype=np.float64)
    finite = np.abs(values[np.isfinite(values)])
    limit = float(finite.max()) if finite.size and finite.max() > 0 else 0.01
    return mcolors.Normalize(vmin=-limit, vmax=limit, clip=True)


def _heatmap_figure(table: pd.DataFrame) -> Figure:
    years = len(table)
    figure = Figure(figsize=(10, 1.0 + 0.26 * years), layout="constrained")
    axes = figure.add_subplot()
    norm = _heat_norm(table)
    values = table[[*range(1, 13), "year"]].to_numpy(dtype=np.float64)
    cells = np.ma.masked_invalid(values)
    colours = matplotlib.colormaps["RdYlGn"]
    # vector cells (an image would be embedded as a blurry bitmap)
    axes.pcolormesh(
        cells, cmap=colours, norm=norm, edgecolors="white", linewidth=0.5, gid="monthly-heatmap"
    )
    axes.axvline(12.0, color="white", linewidth=3)
    axes.set_xticks(np.arange(13) + 0.5, [*_MONTHS, "Year"])
    axes.set_yticks(np.arange(years) + 0.5, [str(year) for year in table.index])
    axes.set_ylim(years, 0)
    axes.tick_params(length=0)
    axes.grid(False)
    for spine in axes.spines.values():
        spine.set_visible(False)
    axes.xaxis.tick_top()
    if years <= 40:
        for row, column in zip(*np.nonzero(np.isfinite(values)), strict=True):
            value = float(values[row, column])
            dark = abs(float(norm(value)) - 0.5) > 0.35  # white text on the deepest shades
            axes.text(
                column + 0.5,
                row + 0.5,
                _percent_text(value),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if dark else "black",
            )
    axes.set_title("Monthly returns (%)", pad=18)
    return figure


@dataclass(frozen=True, slots=True)
class _TradePlot:
    symbol: str
    svg: Markup
    trades: int
    entries: int
    exits: int


def _close_series(prices: Mapping[str, Any] | None, symbol: str) -> pd.Series | None:
    if prices is None or symbol not in prices:
        return None
    data = prices[symbol]
    if isinstance(data, pd.DataFrame):
        lower = {str(column).lower(): column for column in data.columns}
        if "close" not in lower:
            raise ValidationError(
                "invalid prices",
                [Issue(f"prices[{symbol}]", "a frame needs a close column", "close")],
            )
        data = data[lower["close"]]
    if not isinstance(data, pd.Series) or not isinstance(data.index, pd.DatetimeIndex):
        raise ValidationError(
            "invalid prices",
            [Issue(f"prices[{symbol}]", "give closes as a Series or frame with a DatetimeIndex")],
        )
    return data.astype(np.float64).sort_index()


def _trade_figure(
    symbol: str, trades: pd.DataFrame, close: pd.Series | None
) -> tuple[Figure, int, int]:
    figure = Figure(figsize=(10, 2.8), layout="constrained")
    axes = figure.add_subplot()
    if close is not None:
        _line(axes, close, color=_BENCHMARK, linewidth=0.8)
    else:
        points = pd.concat(
            [
                trades[["entry_ts", "entry_price"]].set_axis(["ts", "price"], axis=1),
                trades[["exit_ts", "exit_price"]].set_axis(["ts", "price"], axis=1),
            ]
        ).dropna()
        points = points.sort_values("ts", kind="stable")
        axes.plot(
            _naive(pd.Index(points["ts"])),
            points["price"].to_numpy(dtype=np.float64),
            color=_BENCHMARK,
            linewidth=0.8,
        )
    counts = {"entry": 0, "exit": 0}
    for direction, colour, marker in (("long", _LONG, "^"), ("short", _SHORT, "v")):
        side = trades[trades["direction"] == direction]
        for kind, shape, width in (("entry", marker, 1.0), ("exit", "x", 1.4)):
            points = side[side[f"{kind}_ts"].notna()]
            if points.empty:
                continue
            axes.plot(
                _naive(pd.Index(points[f"{kind}_ts"])),
                points[f"{kind}_price"].to_numpy(dtype=np.float64),
                linestyle="none",
                marker=shape,
                markersize=6,
                markeredgewidth=width,
                color=colour,
                label=f"{direction} {kind}",
                gid=f"trade-{kind}-{direction}",
            )
            counts[kind] += len(points)
    axes.set_title(f"{symbol}: {len(trades):,d} trades")
    _date_axis(axes)
    axes.legend(loc="upper left", ncols=4)
    return figure, counts["entry"], counts["exit"]


def _trade_plots(
    result: BacktestResult, prices: Mapping[str, Any] | None
) -> tuple[list[_TradePlot], str | None]:
    trades = result.trades
    if trades.empty:
        return [], None
    counts = trades.groupby("symbol", sort=True).size()
    ranked = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
    shown = [str(symbol) for symbol, _ in ranked[:MAX_TRADE_SYMBOLS]]
    plots = []
    for number, symbol in enumerate(shown, start=1):
        own = trades[trades["symbol"] == symbol]
        figure, entries, exits = _trade_figure(symbol, own, _close_series(prices, symbol))
        label = f"Entries and exits of {symbol}"
        plots.append(
            _TradePlot(symbol, _svg(figure, f"t{number}", label), len(own), entries, exits)
        )
    notes = []
    if len(ranked) > len(shown):
        notes.append(
            f"Markers for the {len(shown)} most traded of {len(ranked)} traded symbols; "
            "the trades table covers all of them."
        )
    if any(_close_series(prices, symbol) is None for symbol in shown):
        notes.append("Where closes were not given, the grey line joins the trades' fill prices.")
    return plots, " ".join(notes) or None


# --- tables ------------------------------------------------------------------------------


def _quantity(value: Any) -> str:
    if _missing(value):
        return "—"
    number = float(value)
    return f"{number:,.0f}" if number.is_integer() else f"{number:,.4f}"


def _trade_rows(trades: pd.DataFrame) -> list[dict[str, str]]:
    rows = []
    for record in trades.to_dict("records"):
        pnl = record["pnl"]
        rows.append(
            {
                "symbol": str(record["symbol"]),
                "direction": str(record["direction"]),
                "quantity": _quantity(record["quantity"]),
                "entry": _stamp(record["entry_ts"]),
                "entry_price": _number(record["entry_price"]),
                "exit": "open" if _missing(record["exit_ts"]) else _stamp(record["exit_ts"]),
                "exit_price": _number(record["exit_price"]),
                "pnl": _number(pnl),
                "return": _pct(record["return"]),
                "fees": _number(record["fees"]),
                "outcome": "" if _missing(pnl) else ("win" if float(pnl) > 0 else "loss"),
            }
        )
    return rows


def _trades_section(trades: pd.DataFrame) -> dict[str, Any]:
    total = len(trades)
    if total <= 2 * TRADE_ROWS:
        return {"head": _trade_rows(trades), "tail": [], "note": None, "total": total}
    hidden = total - 2 * TRADE_ROWS
    return {
        "head": _trade_rows(trades.iloc[:TRADE_ROWS]),
        "tail": _trade_rows(trades.iloc[-TRADE_ROWS:]),
        "note": f"Showing the first and last {TRADE_ROWS} of {total:,d} trades "
        f"({hidden:,d} in between are not listed).",
        "total": total,
    }


def _percent_text(value: float) -> str:
    text = f"{value * 100:.1f}"
    return "0.0" if text == "-0.0" else text


def _monthly_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for year, values in table.iterrows():
        cells = []
        for column, value in values.items():
            number = float(value)
            finite = math.isfinite(number)
            cells.append(
                {
                    "month": str(column),
                    "value": repr(number) if finite else "",
                    "text": _percent_text(number) if finite else "",
                }
            )
        rows.append({"year": str(year), "cells": cells})
    return rows


def _spec_rows(spec: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(spec, dict) and spec:
        return [
            row
            for key, value in spec.items()
            for row in _spec_rows(value, f"{prefix}.{key}" if prefix else key)
        ]
    return [(prefix, _spec_text(spec))]


def _spec_text(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_spec_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_spec_text(v)}" for k, v in value.items()) + "}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, pd.Timestamp):
        return _stamp(value)
    return repr(value) if isinstance(value, float) else str(value)


def _period(result: BacktestResult) -> str:
    index = pd.DatetimeIndex(result.equity.index)
    years = (index[-1] - index[0]).days / 365.25
    return (
        f"{_stamp(index[0])} → {_stamp(index[-1])} "
        f"({len(index):,d} bar times, {len(result.daily_equity):,d} days, {years:.1f} years)"
    )


def _symbols_text(symbols: Sequence[str]) -> str:
    listed = ", ".join(symbols[:_SYMBOLS_LISTED])
    more = len(symbols) - _SYMBOLS_LISTED
    return listed + (f" and {more:,d} more" if more > 0 else "")


# --- the page ----------------------------------------------------------------------------

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="quantdesk backtest report">
<title>{{ title }}</title>
<style>
:root { --ink: #1d232b; --muted: #5c6670; --rule: #d8dde3; --long: #1a7f37; --short: #c62828; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
  sans-serif; color: var(--ink); margin: 0 auto; padding: 24px; max-width: 1120px; }
h1 { font-size: 24px; margin: 0 0 8px; overflow-wrap: anywhere; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--rule); }
.banner { background: #b00020; color: #fff; font-weight: 700; letter-spacing: .06em;
  padding: 10px 14px; margin-bottom: 16px; border-radius: 4px; text-align: center; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 6px 0; }
th, td { padding: 3px 8px; border-bottom: 1px solid var(--rule); text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; }
thead th { border-bottom: 2px solid var(--ink); }
tr.group th { text-align: left; background: #f3f5f7; }
table.monthly td { min-width: 44px; } table.monthly td.total { font-weight: 700; }
td.win { color: var(--long); } td.loss { color: var(--short); }
td.gap { text-align: center; color: var(--muted); }
code { overflow-wrap: anywhere; }
svg.plot { width: 100%; height: auto; display: block; }
figure { margin: 8px 0 16px; } figcaption, p.note { color: var(--muted); font-size: 13px; }
summary { cursor: pointer; color: var(--muted); margin: 4px 0; }
pre.log { background: #f6f8fa; padding: 8px; overflow-x: auto; font-size: 12px; }
@page { margin: 14mm; }
@media print {
  body { padding: 0; max-width: none; font-size: 11px; }
  .banner { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  details { display: none; }
  figure, table, tr, dl { break-inside: avoid; } h2 { break-after: avoid; }
}
</style>
</head>
<body>
{% if synthetic %}<div class="banner" role="alert" id="synthetic-banner">SYNTHETIC DATA
 — these results come from generated prices, not market history</div>
{% endif %}<header>
<h1>{{ title }}</h1>
<dl class="facts">
{% for label, value in facts %}<dt>{{ label }}</dt><dd>{{ value }}</dd>
{% endfor %}</dl>
</header>
{% if spec_rows %}<section id="spec">
<h2>Specification</h2>
<table class="spec"><tbody>
{% for key, value in spec_rows %}<tr><th scope="row">{{ key }}</th>\
<td class="text"><code>{{ value }}</code></td></tr>
{% endfor %}</tbody></table>
</section>
{% endif %}<section id="metrics">
<h2>Metrics</h2>
<table class="metrics">
<thead><tr><th scope="col">Metric</th><th scope="col">Strategy</th>\
{% if has_benchmark %}<th scope="col">Benchmark</th>{% endif %}</tr></thead>
<tbody>
{% for group, rows in metric_groups %}<tr class="group">\
<th colspan="{{ 3 if has_benchmark else 2 }}">{{ group }}</th></tr>
{% for row in rows %}<tr><th scope="row">{{ row.label }}</th>\
<td{% if row.strategy.key %} data-metric="{{ row.strategy.key }}"{% endif %}>\
{{ row.strategy.text }}</td>{% if has_benchmark %}<td\
{% if row.benchmark.key %} data-metric="{{ row.benchmark.key }}"{% endif %}>\
{{ row.benchmark.text }}</td>{% endif %}</tr>
{% endfor %}{% endfor %}</tbody>
</table>
</section>
<section id="equity">
<h2>Equity</h2>
<figure>{{ equity_svg }}
<figcaption>Daily equity (last value of each UTC date){% if benchmark_note %}; {{ benchmark_note }}\
{% endif %}.</figcaption></figure>
</section>
<section id="drawdown">
<h2>Drawdown</h2>
<figure>{{ drawdown_svg }}
<figcaption>Equity below its running peak (the initial capital is the first peak).</figcaption>
</figure>
</section>
<section id="monthly">
<h2>Monthly returns</h2>
<figure>{{ heatmap_svg }}
<figcaption>Returns in percent: month-end equity over the previous month-end (the initial
capital before the first month); the last column is the calendar year.</figcaption></figure>
<details>
<summary>Monthly returns as a table</summary>
<table class="monthly">
<thead><tr><th scope="col">Year</th>{% for month in months %}<th scope="col">{{ month }}</th>\
{% endfor %}<th scope="col">Year</th></tr></thead>
<tbody>
{% for row in monthly %}<tr><th scope="row">{{ row.year }}</th>{% for cell in row.cells %}\
<td data-year="{{ row.year }}" data-month="{{ cell.month }}"{% if cell.value %} \
data-value="{{ cell.value }}"{% endif %}\
{% if cell.month == "year" %} class="total"{% endif %}>{{ cell.text }}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table>
</details>
</section>
<section id="trades">
<h2>Trades</h2>
{% for plot in trade_plots %}<figure class="trades" data-symbol="{{ plot.symbol }}" \
data-trades="{{ plot.trades }}" data-entries="{{ plot.entries }}" data-exits="{{ plot.exits }}">\
{{ plot.svg }}
<figcaption>{{ plot.symbol }}: ▲ long entry, ▼ short entry, × exit (green long, red short).\
</figcaption></figure>
{% endfor %}{% if trade_note %}<p class="note">{{ trade_note }}</p>
{% endif %}{% if trades.total %}<table class="trades">
<thead><tr><th scope="col">Symbol</th><th scope="col">Side</th><th scope="col">Quantity</th>\
<th scope="col">Entry</th><th scope="col">Entry price</th><th scope="col">Exit</th>\
<th scope="col">Exit price</th><th scope="col">P&amp;L</th><th scope="col">Return</th>\
<th scope="col">Fees</th></tr></thead>
<tbody>
{% for part in [trades.head, trades.tail] %}{% if loop.index == 2 and part %}<tr>\
<td class="gap" colspan="10">…</td></tr>
{% endif %}{% for t in part %}<tr class="{{ t.direction }}"><td class="text">{{ t.symbol }}</td>\
<td class="text">{{ t.direction }}</td><td>{{ t.quantity }}</td><td>{{ t.entry }}</td>\
<td>{{ t.entry_price }}</td><td>{{ t.exit }}</td><td>{{ t.exit_price }}</td>\
<td class="{{ t.outcome }}">{{ t.pnl }}</td><td class="{{ t.outcome }}">{{ t.return }}</td>\
<td>{{ t.fees }}</td></tr>
{% endfor %}{% endfor %}</tbody>
</table>
{% if trades.note %}<p class="note">{{ trades.note }}</p>
{% endif %}{% else %}<p class="note">No trades.</p>
{% endif %}</section>
<section id="orders">
<h2>Orders</h2>
{% if order_counts %}<table class="orders">
<thead><tr><th scope="col">Status</th><th scope="col">Orders</th></tr></thead>
<tbody>
{% for status, count in order_counts %}<tr><td class="text" data-status="{{ status }}">\
{{ status }}</td><td>{{ count }}</td></tr>
{% endfor %}<tr><th scope="row">total</th><td>{{ order_total }}</td></tr>
</tbody></table>
{% else %}<p class="note">No orders.</p>
{% endif %}<p class="note">{{ fills_note }}</p>
</section>
{% if log_lines %}<section id="log">
<h2>Strategy log</h2>
<pre class="log">{% for line in log_lines %}{{ line }}
{% endfor %}</pre>
{% if log_note %}<p class="note">{{ log_note }}</p>{% endif %}
</section>
{% endif %}</body>
</html>
"""

_ENVIRONMENT = jinja2.Environment(
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    lstrip_blocks=False,
    trim_blocks=False,
)
_PAGE = _ENVIRONMENT.from_string(_TEMPLATE)


def render_report(
    result: BacktestResult,
    *,
    benchmark: pd.Series | None = None,
    title: str | None = None,
    spec: Mapping[str, Any] | None = None,
    synthetic: bool = False,
    prices: Mapping[str, pd.Series | pd.DataFrame] | None = None,
    periods_per_year: float = 252,
) -> str:
    """Return the tear sheet of ``result`` as one self-contained HTML document.

    Parameters
    ----------
    result
        The backtest result.
    benchmark
        Benchmark closes indexed by time (as given to the engine): drawn rebased to the
        initial capital and given a column of its own risk numbers.
    title
        Page title; default ``"<strategy> backtest"``.
    spec
        The run's specification (parameters, costs, capital, data), shown with its
        :func:`~quantdesk.backtest.artifacts.spec_hash`.
    synthetic
        Show a "SYNTHETIC DATA" banner (the prices were generated, not observed).
    prices
        Closes per traded symbol (Series, or frames with a ``close`` column) for the trade
        plots; without them the line joins the trades' fill prices.
    periods_per_year
        Annualisation of the benchmark's risk numbers (as given to the engine).

    Returns
    -------
    str
        The HTML page; the same inputs always give the same bytes.

    Raises
    ------
    ValidationError
        If the benchmark or the prices are invalid, or the spec holds values JSON cannot
        represent.
    """
    bench = _benchmark(result, benchmark, periods_per_year)
    metrics = _with_benchmark(result, bench, periods_per_year)
    groups, has_benchmark = _metric_groups(metrics, result.risk, bench)
    facts: list[tuple[str, str]] = [
        ("Strategy", result.strategy),
        ("Symbols", _symbols_text(result.symbols)),
        ("Period", _period(result)),
        ("Initial capital", _number(result.initial_cash)),
        ("Final equity", _number(result.final_equity)),
    ]
    spec_rows: list[tuple[str, str]] = []
    if spec is not None:
        plain = plain_json(spec, "spec")
        facts.append(("Spec hash", spec_hash(spec)))
        spec_rows = _spec_rows(plain)
    if synthetic:
        facts.append(("Data", "synthetic (generated prices)"))
    table = monthly_returns(result)
    with _matplotlib():
        label = f"Equity of {result.strategy}" + (" and the benchmark" if bench is not None else "")
        equity_svg = _svg(_equity_figure(result, bench), "eq", label)
        drawdown_svg = _svg(_drawdown_figure(result), "dd", "Drawdown of the equity")
        heatmap_svg = _svg(_heatmap_figure(table), "mo", "Monthly returns heatmap")
        trade_plots, trade_note = _trade_plots(result, prices)
    benchmark_note = None
    if bench is not None:
        benchmark_note = "benchmark rebased to the initial capital on the first date"
    elif result.metrics.benchmark_total_return is not None:
        benchmark_note = "the benchmark's closes were not given to the report, so it is not drawn"
    statuses = result.orders["status"].astype(str).value_counts().sort_index()
    fills = result.fills
    fills_note = (
        f"{len(fills):,d} fills; fees {_number(float(fills['fee'].sum()))}; "
        f"slippage {_number(float(fills['slippage'].sum()))}."
    )
    log = list(result.log)
    page = _PAGE.render(
        title=title if title is not None else f"{result.strategy} backtest",
        synthetic=synthetic,
        facts=facts,
        spec_rows=spec_rows,
        metric_groups=groups,
        has_benchmark=has_benchmark,
        equity_svg=equity_svg,
        benchmark_note=benchmark_note,
        drawdown_svg=drawdown_svg,
        heatmap_svg=heatmap_svg,
        months=_MONTHS,
        monthly=_monthly_rows(table),
        trade_plots=trade_plots,
        trade_note=trade_note,
        trades=_trades_section(result.trades),
        order_counts=[(str(status), f"{int(count):,d}") for status, count in statuses.items()],
        order_total=f"{len(result.orders):,d}",
        fills_note=fills_note,
        log_lines=log[:_LOG_LINES],
        log_note=(
            f"First {_LOG_LINES} of {len(log):,d} log lines." if len(log) > _LOG_LINES else None
        ),
    )
    return page


def write_report(
    path: str | os.PathLike[str],
    result: BacktestResult,
    *,
    benchmark: pd.Series | None = None,
    title: str | None = None,
    spec: Mapping[str, Any] | None = None,
    synthetic: bool = False,
    prices: Mapping[str, pd.Series | pd.DataFrame] | None = None,
    periods_per_year: float = 252,
) -> Path:
    """Render the report of ``result`` and write it to ``path`` atomically.

    The page goes to a temporary file in the target's directory (created if needed), is
    flushed to disk and then renamed over ``path``, so readers see the old page or the new
    one, never half of one, and a failed write leaves no temporary file behind.

    Parameters
    ----------
    path
        The HTML file to write.
    result, benchmark, title, spec, synthetic, prices, periods_per_year
        As in :func:`render_report`.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ValidationError
        As :func:`render_report`.
    """
    page = render_report(
        result,
        benchmark=benchmark,
        title=title,
        spec=spec,
        synthetic=synthetic,
        prices=prices,
        periods_per_year=periods_per_year,
    )
    target = Path(path)
    write_bytes_atomic(target, page.encode("utf-8"))
    return target
