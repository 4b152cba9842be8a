"""The HTML tear sheet: self-contained, escaped, deterministic, with the right numbers.

Real data: the SMA crossover on ``arch.data.sp500``. Monthly returns are checked against
``quantstats.stats.monthly_returns``, against pandas month-end resampling and against a
hand-worked equity curve; the spec hash against ``hashlib`` on hand-written canonical JSON;
the benchmark's total return against the raw closes. Trade markers are counted in the SVG.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import arch.data.sp500
import matplotlib
import numpy as np
import pandas as pd
import pytest
import quantstats as qs

from quantdesk.backtest import BacktestMetrics, BacktestResult, make_strategy, run_backtest
from quantdesk.backtest.report import (
    MAX_TRADE_SYMBOLS,
    TRADE_ROWS,
    monthly_returns,
    render_report,
    write_report,
)
from quantdesk.core.errors import ValidationError

CASH = 100_000.0
SPEC = {
    "strategy": "sma_cross",
    "params": {"fast": 20, "slow": 50},
    "costs": {"fee_bps": 0.0, "slippage_bps": 0.0},
    "capital": CASH,
    "data": "arch.data.sp500",
}


class Page(HTMLParser):
    """Collect every start tag with its attributes, the open-tag stack and the text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.uses: list[list[str]] = []  # for each <use>, the ids of its enclosing elements
        self.texts: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "use":
            self.uses.append([a.get("id") or "" for _, a in self.stack])
        self.stack.append((tag, attributes))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "use":
            self.uses.append([a.get("id") or "" for _, a in self.stack])

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                break

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attributes for name, attributes in self.tags if name == tag]

    def markers(self, suffix: str) -> int:
        return sum(1 for ids in self.uses if any(i.endswith(suffix) for i in ids))


def metric_cells(text: str) -> dict[str, str]:
    return dict(re.findall(r'<td data-metric="([^"]+)">([^<]*)</td>', text))


def monthly_cells(text: str) -> dict[tuple[int, str], float]:
    cells = re.findall(
        r'<td data-year="(\d+)" data-month="(\w+)" data-value="([^"]+)"', text, flags=re.DOTALL
    )
    return {(int(year), month): float(value) for year, month, value in cells}


@pytest.fixture(scope="module")
def sp500() -> pd.DataFrame:
    frame: pd.DataFrame = arch.data.sp500.load()
    frame.index = pd.DatetimeIndex(frame.index).tz_localize("UTC")
    return frame


@pytest.fixture(scope="module")
def result(sp500: pd.DataFrame) -> BacktestResult:
    strategy = make_strategy("sma_cross", fast=20, slow=50)
    return run_backtest(strategy, {"SPX": sp500}, cash=CASH, benchmark=sp500["Close"])


@pytest.fixture(scope="module")
def recent(sp500: pd.DataFrame) -> BacktestResult:
    """Three years only: for the checks that do not need the whole history (faster)."""
    frame = sp500.loc["2016":"2018"]
    strategy = make_strategy("sma_cross", fast=20, slow=50)
    return run_backtest(strategy, {"SPX": frame}, cash=CASH, benchmark=frame["Close"])


@pytest.fixture(scope="module")
def html(result: BacktestResult, sp500: pd.DataFrame) -> str:
    return render_report(result, benchmark=sp500["Close"], spec=SPEC, prices={"SPX": sp500})


@pytest.fixture(scope="module")
def page(html: str) -> Page:
    return Page(html)


def test_page_is_one_self_contained_document(html: str, page: Page) -> None:
    assert html.startswith("<!DOCTYPE html>")
    assert [name for name, _ in page.tags[:3]] == ["html", "head", "meta"]
    for banned in ("script", "link", "img", "iframe", "object", "embed"):
        assert page.all(banned) == [], banned
    for name, attributes in page.tags:
        assert "src" not in attributes, name
        for key in ("href", "xlink:href"):
            value = attributes.get(key)
            assert value is None or value.startswith("#"), (name, value)  # in-page refs only
    assert not re.search(r"url\((?!#)", html)  # CSS/SVG urls point inside the page
    assert "@import" not in html
    assert "@font-face" not in html
    ids = [attributes["id"] for _, attributes in page.tags if attributes.get("id")]
    assert len(ids) == len(set(ids))  # several inline SVGs, no id clashes
    references = set(re.findall(r'(?:url\(#|href="#)([^")]+)', html))
    assert references <= set(ids)  # every reference resolves inside the page


def test_has_the_four_plots(page: Page) -> None:
    svgs = page.all("svg")
    assert len(svgs) >= 4
    assert all(svg.get("viewbox") for svg in svgs)
    ids = {attributes.get("id") or "" for _, attributes in page.tags}
    for gid in ("eq-equity-strategy", "eq-equity-benchmark", "dd-underwater", "mo-monthly-heatmap"):
        assert any(i.startswith(gid) for i in ids), gid


def test_header_shows_strategy_symbols_period_spec_and_its_hash(
    html: str, result: BacktestResult
) -> None:
    assert f"<dt>Strategy</dt><dd>{result.strategy}</dd>" in html
    assert "<dt>Symbols</dt><dd>SPX</dd>" in html
    assert "1999-01-04 → 2018-12-31" in html
    canonical = json.dumps(SPEC, sort_keys=True, separators=(",", ":"))
    assert f"<dd>{hashlib.sha256(canonical.encode()).hexdigest()}</dd>" in html
    assert '<th scope="row">params.fast</th><td class="text"><code>20</code>' in html
    assert '<th scope="row">costs.fee_bps</th><td class="text"><code>0.0</code>' in html
    assert "SYNTHETIC DATA" not in html


def test_metrics_table_has_every_field_formatted(
    html: str, result: BacktestResult, sp500: pd.DataFrame
) -> None:
    cells = metric_cells(html)
    for field in dataclasses.fields(BacktestMetrics):
        assert field.name in cells, field.name
    total = float(result.equity.iloc[-1]) / CASH - 1.0
    assert cells["total_return"] == f"{total * 100:.2f}%"
    assert cells["trades"] == str(int(result.trades["exit_ts"].notna().sum()))
    wins = (result.trades["pnl"] > 0).sum() / result.trades["pnl"].notna().sum()
    assert cells["win_rate"] == f"{wins * 100:.2f}%"
    assert cells["fees"] == "0.00"
    assert cells["max_drawdown_duration"].endswith(" d")
    # the benchmark column: buy and hold from the first to the last backtest date
    closes = sp500["Close"]
    bench = float(closes.iloc[-1]) / float(closes.iloc[0]) - 1.0
    assert cells["benchmark_total_return"] == f"{bench * 100:,.2f}%"
    assert '<th scope="col">Benchmark</th>' in html


def test_monthly_returns_match_quantstats_and_pandas(html: str, result: BacktestResult) -> None:
    reference = qs.stats.monthly_returns(result.returns, eoy=True, compounded=True)
    cells = monthly_cells(html)
    assert len(cells) == 20 * 13  # 1999-2018, twelve months and the year
    months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    for year in reference.index:
        for number, name in enumerate(months, start=1):
            assert cells[(int(year), str(number))] == pytest.approx(
                reference.loc[year, name], abs=1e-12
            )
        assert cells[(int(year), "year")] == pytest.approx(reference.loc[year, "EOY"], abs=1e-12)
    # and by hand: month-end equity over the previous month-end, starting from the cash
    ends = result.daily_equity.resample("ME").last()
    by_hand = pd.concat([pd.Series([CASH]), pd.Series(ends.to_numpy())]).pct_change().iloc[1:]
    for stamp, value in zip(ends.index, by_hand, strict=True):
        assert cells[(stamp.year, str(stamp.month))] == pytest.approx(value, rel=1e-12)


def test_monthly_returns_of_a_hand_made_curve(recent: BacktestResult) -> None:
    days = pd.DatetimeIndex(
        ["2019-12-30", "2019-12-31", "2020-01-31", "2020-02-03", "2020-02-28", "2020-03-02"],
        tz="UTC",
        name="date",
    )
    equity = pd.Series([90.0, 80.0, 100.0, 150.0, 120.0, 60.0], index=days, name="equity")
    made = dataclasses.replace(recent, initial_cash=100.0, daily_equity=equity, equity=equity)
    table = monthly_returns(made)
    # Dec 2019: 80/100 - 1; Jan: 100/80 - 1; Feb: 120/100 - 1; Mar: 60/120 - 1
    assert table.loc[2019, 12] == pytest.approx(-0.20)
    assert table.loc[2020, 1] == pytest.approx(0.25)
    assert table.loc[2020, 2] == pytest.approx(0.20)
    assert table.loc[2020, 3] == pytest.approx(-0.50)
    assert table.loc[2019, "year"] == pytest.approx(-0.20)
    assert table.loc[2020, "year"] == pytest.approx(-0.25)  # 60 / 80 - 1
    assert np.isnan(table.loc[2019, 1])
    assert np.isnan(table.loc[2020, 4])
    cells = monthly_cells(render_report(made))
    assert cells == {
        (2019, "12"): pytest.approx(-0.20),
        (2019, "year"): pytest.approx(-0.20),
        (2020, "1"): pytest.approx(0.25),
        (2020, "2"): pytest.approx(0.20),
        (2020, "3"): pytest.approx(-0.50),
        (2020, "year"): pytest.approx(-0.25),
    }


def test_trade_markers_count_the_trades(page: Page, result: BacktestResult) -> None:
    trades = result.trades
    assert (trades["direction"] == "long").all()
    assert page.markers("trade-entry-long") == len(trades) == 57
    assert page.markers("trade-exit-long") == int(trades["exit_ts"].notna().sum())
    assert page.markers("trade-entry-short") == page.markers("trade-exit-short") == 0
    figure = page.all("figure")
    traded = [f for f in figure if f.get("data-symbol")]
    assert [(f["data-symbol"], f["data-entries"]) for f in traded] == [("SPX", "57")]


def test_long_and_short_markers_and_the_symbol_cap(recent: BacktestResult) -> None:
    stamps = pd.date_range("2005-01-03", periods=40, freq="7D", tz="UTC")
    rows = []
    for number in range(MAX_TRADE_SYMBOLS + 2):  # two symbols more than the cap
        symbol = f"S{number}"
        for k in range(number + 1):  # S{n} has n + 1 trades: S0 is the least traded
            direction = "short" if k % 2 else "long"
            still_open = number == 7 and k == number
            rows.append(
                {
                    "symbol": symbol,
                    "direction": direction,
                    "quantity": 10.0,
                    "entry_ts": stamps[k * 2],
                    "entry_price": 100.0 + k,
                    "exit_ts": pd.NaT if still_open else stamps[k * 2 + 1],
                    "exit_price": math.nan if still_open else 101.0 + k,
                    "pnl": math.nan if still_open else 10.0,
                    "return": math.nan if still_open else 0.01,
                    "fees": 0.0,
                }
            )
    trades = pd.DataFrame(rows)
    made = dataclasses.replace(recent, trades=trades)
    text = render_report(made)
    page = Page(text)
    shown = [f for f in page.all("figure") if f.get("data-symbol")]
    assert [f["data-symbol"] for f in shown] == ["S7", "S6", "S5", "S4", "S3", "S2"]
    assert f"Markers for the {MAX_TRADE_SYMBOLS} most traded of 8 traded symbols" in text
    plotted = trades[trades["symbol"].isin(["S7", "S6", "S5", "S4", "S3", "S2"])]
    closed = plotted[plotted["exit_ts"].notna()]
    long, short = plotted["direction"] == "long", plotted["direction"] == "short"
    assert page.markers("trade-entry-long") == int(long.sum())
    assert page.markers("trade-entry-short") == int(short.sum()) > 0
    assert page.markers("trade-exit-long") == int((closed["direction"] == "long").sum())
    assert page.markers("trade-exit-short") == int((closed["direction"] == "short").sum())
    assert "the grey line joins the trades&#39; fill prices" in text
    assert "open</td>" in text  # the open trade has no exit


def test_trades_table_is_cut_with_a_note(page: Page, html: str, result: BacktestResult) -> None:
    total = len(result.trades)
    assert total > 2 * TRADE_ROWS
    rows = re.findall(r'<tr class="(?:long|short)">', html)
    assert len(rows) == 2 * TRADE_ROWS
    assert f"Showing the first and last {TRADE_ROWS} of {total} trades" in html
    first = result.trades.iloc[0]
    assert f"<td>{first['entry_ts']:%Y-%m-%d}</td>" in html


def test_orders_status_counts(html: str, result: BacktestResult) -> None:
    fills = len(result.fills)
    assert fills == 2 * 57  # every round trip is one buy and one sell, all filled
    assert f'<td class="text" data-status="filled">filled</td><td>{fills}</td>' in html
    assert f"{fills} fills; fees 0.00" in html


def test_benchmark_only_when_given(recent: BacktestResult) -> None:
    without = dataclasses.replace(
        recent,
        metrics=dataclasses.replace(
            recent.metrics,
            benchmark_total_return=None,
            benchmark_annual_return=None,
            alpha=None,
            beta=None,
            information_ratio=None,
            tracking_error=None,
        ),
    )
    text = render_report(without)
    assert "Benchmark</th>" not in text
    assert "equity-benchmark" not in text
    assert "alpha" not in metric_cells(text)
    # the run's benchmark metrics without the closes: the column stays, the line is absent
    text = render_report(recent)
    assert "Benchmark</th>" in text
    assert "equity-benchmark" not in text
    assert "closes were not given to the report" in text


def test_benchmark_given_to_the_report_only(sp500: pd.DataFrame) -> None:
    strategy = make_strategy("sma_cross", fast=20, slow=50)
    plain = run_backtest(strategy, {"SPX": sp500}, cash=CASH)
    assert plain.metrics.beta is None
    cells = metric_cells(render_report(plain, benchmark=sp500["Close"]))
    closes = sp500["Close"].to_numpy()
    growth = closes[-1] / closes[0]
    assert cells["benchmark_total_return"] == f"{growth - 1:.2%}"
    assert cells["benchmark_annual_return"] == f"{growth ** (252 / len(closes)) - 1:.2%}"
    # beta by hand: cov / var of daily returns on the days both have one
    strategy_returns = plain.returns.to_numpy()[1:]
    bench_returns = np.diff(closes) / closes[:-1]
    beta = np.cov(strategy_returns, bench_returns)[0, 1] / np.var(bench_returns, ddof=1)
    assert cells["beta"] == f"{beta:,.2f}"


def test_synthetic_banner(recent: BacktestResult) -> None:
    page = Page(render_report(recent, synthetic=True))
    banners = [a for a in page.all("div") if a.get("id") == "synthetic-banner"]
    assert len(banners) == 1
    assert "SYNTHETIC DATA" in "".join(page.texts)


def test_names_are_escaped(recent: BacktestResult) -> None:
    hostile = '<script>alert("x")</script>&'
    made = dataclasses.replace(recent, strategy=hostile)
    text = render_report(made, title=hostile, spec={"note": hostile, hostile: 1})
    assert "<script" not in text.lower()
    page = Page(text)
    assert page.all("script") == []
    assert "&lt;script&gt;" in text
    assert hostile in "".join(page.texts)  # shown to the reader as written


def test_dollar_signs_are_not_math(recent: BacktestResult) -> None:
    made = dataclasses.replace(recent, strategy="$cash$ carry $")
    assert "$cash$ carry $" in render_report(made)


def test_rendering_is_deterministic(result: BacktestResult, sp500: pd.DataFrame, html: str) -> None:
    kwargs = {"benchmark": sp500["Close"], "spec": SPEC, "prices": {"SPX": sp500}}
    with matplotlib.rc_context({"svg.hashsalt": None, "font.size": 20, "svg.fonttype": "path"}):
        again = render_report(result, **kwargs)  # the caller's settings do not leak in
    assert again == html
    assert render_report(result, **kwargs) == html


def test_no_trades_renders_without_trade_plots(sp500: pd.DataFrame) -> None:
    strategy = make_strategy("sma_cross", fast=20, slow=50)
    short = run_backtest(strategy, {"SPX": sp500.iloc[:30]}, cash=CASH)
    assert short.trades.empty
    text = render_report(short)
    page = Page(text)
    assert len(page.all("svg")) == 3
    assert "No trades." in text
    cells = metric_cells(text)
    assert cells["win_rate"] == "—"
    assert cells["trades"] == "0"


def test_bad_prices_are_refused(result: BacktestResult, sp500: pd.DataFrame) -> None:
    with pytest.raises(ValidationError, match=r"prices\[SPX\]"):
        render_report(result, prices={"SPX": sp500[["Open"]]})


def test_write_report_is_atomic(
    tmp_path: Path, recent: BacktestResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out" / "report.html"
    assert write_report(target, recent) == target
    first = target.read_text(encoding="utf-8")
    assert first == render_report(recent)
    assert os.listdir(target.parent) == ["report.html"]

    def fail(source: object, destination: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("quantdesk.backtest.artifacts.os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_report(target, recent, synthetic=True)
    assert target.read_text(encoding="utf-8") == first  # the old page is intact
    assert os.listdir(target.parent) == ["report.html"]  # and no temp file is left


def test_status_counts_cover_every_status(recent: BacktestResult) -> None:
    orders = recent.orders.copy()
    orders.loc[orders.index[:3], "status"] = "cancelled"
    text = render_report(dataclasses.replace(recent, orders=orders))
    counts = Counter(dict(re.findall(r'data-status="(\w+)">\w+</td><td>(\d+)</td>', text)))
    assert counts == Counter({"cancelled": "3", "filled": str(len(orders) - 3)})
