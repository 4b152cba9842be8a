"""Real market history that ships inside installed packages, for demos and tests.

========================  ==========================================  ===================
dataset                   contents                                    source package
========================  ==========================================  ===================
``sp500-index``           S&P 500 index (``SPX``), daily OHLCV         ``arch.data.sp500``
                          1999-2018
``nasdaq-index``          NASDAQ Composite (``IXIC``), daily OHLCV     ``arch.data.nasdaq``
                          1999-2018
``bokeh-stocks``          GOOG, IBM and FB daily OHLCV 2000-2013,      ``bokeh_sampledata``
                          split/dividend adjusted
``sp500-20``              20 S&P 500 stocks, adjusted daily closes     ``skfolio.datasets``
                          1990-2022, **close-only**
========================  ==========================================  ===================

``bokeh_sampledata`` also ships AAPL and MSFT; quantdesk takes those two tickers from the
longer ``sp500-20`` history instead, so one symbol never mixes two adjustment bases. The
``sp500-20`` bars carry only closes: open, high and low stay empty rather than invented.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

import polars as pl

from quantdesk.core.errors import NotFound
from quantdesk.data.frames import ROW_COLUMN
from quantdesk.data.ports import BarBatch, FetchRequest
from quantdesk.domain import AssetClass, Instrument, Interval


@dataclass(frozen=True, slots=True)
class _Dataset:
    name: str
    package: str
    description: str
    instruments: tuple[Instrument, ...]
    load: Callable[[], pl.DataFrame]


def _equity(symbol: str, name: str, sector: str, exchange: str, source: str) -> Instrument:
    return Instrument(
        symbol=symbol,
        name=name,
        asset_class=AssetClass.EQUITY,
        currency="USD",
        exchange=exchange,
        sector=sector,
        source=source,
    )


def _arch_index(module: str, symbol: str) -> Callable[[], pl.DataFrame]:
    def load() -> pl.DataFrame:
        import importlib

        frame = importlib.import_module(f"arch.data.{module}").load()
        data: pl.DataFrame = pl.from_pandas(frame.reset_index())
        return data.select(
            pl.lit(symbol).alias("symbol"),
            pl.col("Date").alias("ts"),
            pl.col("Open").alias("open"),
            pl.col("High").alias("high"),
            pl.col("Low").alias("low"),
            pl.col("Close").alias("close"),
            pl.col("Volume").cast(pl.Float64).alias("volume"),
        )

    return load


def _bokeh_stocks() -> pl.DataFrame:
    from bokeh_sampledata import stocks

    frames = []
    for symbol in _BOKEH_SYMBOLS:
        data = pl.DataFrame(getattr(stocks, symbol))
        factor = pl.col("adj_close") / pl.col("close")
        frames.append(
            data.select(
                pl.lit(symbol).alias("symbol"),
                pl.col("date").str.to_date("%Y-%m-%d").alias("ts"),
                (pl.col("open") * factor).alias("open"),
                (pl.col("high") * factor).alias("high"),
                (pl.col("low") * factor).alias("low"),
                (pl.col("close") * factor).alias("close"),
                pl.col("volume").cast(pl.Float64).alias("volume"),
            )
        )
    return pl.concat(frames)


def _sp500_20() -> pl.DataFrame:
    from skfolio.datasets import load_sp500_dataset

    prices: pl.DataFrame = pl.from_pandas(load_sp500_dataset().reset_index())
    return (
        prices.unpivot(index="Date", variable_name="symbol", value_name="close")
        .select("symbol", pl.col("Date").alias("ts"), pl.col("close").cast(pl.Float64))
        .drop_nulls("close")
    )


_BOKEH_SYMBOLS = ("GOOG", "IBM", "FB")

_SP500_20 = (
    ("AAPL", "Apple Inc.", "Information Technology", "NASDAQ"),
    ("AMD", "Advanced Micro Devices, Inc.", "Information Technology", "NASDAQ"),
    ("BAC", "Bank of America Corporation", "Financials", "NYSE"),
    ("BBY", "Best Buy Co., Inc.", "Consumer Discretionary", "NYSE"),
    ("CVX", "Chevron Corporation", "Energy", "NYSE"),
    ("GE", "General Electric Company", "Industrials", "NYSE"),
    ("HD", "The Home Depot, Inc.", "Consumer Discretionary", "NYSE"),
    ("JNJ", "Johnson & Johnson", "Health Care", "NYSE"),
    ("JPM", "JPMorgan Chase & Co.", "Financials", "NYSE"),
    ("KO", "The Coca-Cola Company", "Consumer Staples", "NYSE"),
    ("LLY", "Eli Lilly and Company", "Health Care", "NYSE"),
    ("MRK", "Merck & Co., Inc.", "Health Care", "NYSE"),
    ("MSFT", "Microsoft Corporation", "Information Technology", "NASDAQ"),
    ("PEP", "PepsiCo, Inc.", "Consumer Staples", "NASDAQ"),
    ("PFE", "Pfizer Inc.", "Health Care", "NYSE"),
    ("PG", "The Procter & Gamble Company", "Consumer Staples", "NYSE"),
    ("RRC", "Range Resources Corporation", "Energy", "NYSE"),
    ("UNH", "UnitedHealth Group Incorporated", "Health Care", "NYSE"),
    ("WMT", "Walmart Inc.", "Consumer Staples", "NYSE"),
    ("XOM", "Exxon Mobil Corporation", "Energy", "NYSE"),
)

DATASETS: dict[str, _Dataset] = {
    dataset.name: dataset
    for dataset in (
        _Dataset(
            name="sp500-index",
            package="arch",
            description="S&P 500 index daily OHLCV, 1999-2018",
            instruments=(
                Instrument(
                    "SPX",
                    "S&P 500 Index",
                    AssetClass.INDEX,
                    "USD",
                    "INDEX",
                    None,
                    source="sp500-index",
                ),
            ),
            load=_arch_index("sp500", "SPX"),
        ),
        _Dataset(
            name="nasdaq-index",
            package="arch",
            description="NASDAQ Composite index daily OHLCV, 1999-2018",
            instruments=(
                Instrument(
                    "IXIC",
                    "NASDAQ Composite Index",
                    AssetClass.INDEX,
                    "USD",
                    "INDEX",
                    None,
                    source="nasdaq-index",
                ),
            ),
            load=_arch_index("nasdaq", "IXIC"),
        ),
        _Dataset(
            name="bokeh-stocks",
            package="bokeh_sampledata",
            description="GOOG, IBM, FB adjusted daily OHLCV, 2000-2013",
            instruments=(
                _equity(
                    "GOOG",
                    "Alphabet Inc. (Google)",
                    "Communication Services",
                    "NASDAQ",
                    "bokeh-stocks",
                ),
                _equity(
                    "IBM",
                    "International Business Machines Corporation",
                    "Information Technology",
                    "NYSE",
                    "bokeh-stocks",
                ),
                _equity(
                    "FB",
                    "Meta Platforms, Inc. (Facebook)",
                    "Communication Services",
                    "NASDAQ",
                    "bokeh-stocks",
                ),
            ),
            load=_bokeh_stocks,
        ),
        _Dataset(
            name="sp500-20",
            package="skfolio",
            description="20 S&P 500 stocks, adjusted daily closes (close-only), 1990-2022",
            instruments=tuple(
                _equity(symbol, name, sector, exchange, "sp500-20")
                for symbol, name, sector, exchange in _SP500_20
            ),
            load=_sp500_20,
        ),
    )
}

DEMO_DATASETS: tuple[str, ...] = tuple(DATASETS)


def dataset_fingerprint(name: str) -> str:
    """Return a fingerprint that changes when the dataset or its package version changes."""
    dataset = _dataset(name)
    try:
        package_version = version(dataset.package)
    except PackageNotFoundError:
        package_version = "unknown"
    symbols = ",".join(i.symbol for i in dataset.instruments)
    text = f"{dataset.name}|{dataset.package}=={package_version}|{symbols}|v1"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _dataset(name: str) -> _Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise NotFound(
            f"unknown bundled dataset {name!r}; available: {', '.join(DATASETS)}"
        ) from None


class BundledDatasetProvider:
    """Yield the bars of bundled real datasets, one batch per dataset."""

    name = "bundled"

    def __init__(self, datasets: tuple[str, ...] = DEMO_DATASETS) -> None:
        self._datasets = tuple(_dataset(name) for name in datasets)

    def instruments(self) -> tuple[Instrument, ...]:
        """Return the instruments of the selected datasets."""
        return tuple(i for dataset in self._datasets for i in dataset.instruments)

    def fetch(self, request: FetchRequest) -> Iterator[BarBatch]:
        """Yield one batch per dataset (daily bars only)."""
        if request.interval != Interval.D1:
            raise ValueError(
                f"bundled datasets hold daily bars only; asked for {request.interval.value}"
            )
        for dataset in self._datasets:
            frame = dataset.load().with_columns(
                pl.col("ts").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
                pl.lit(Interval.D1.value).alias("interval"),
            )
            instruments = dataset.instruments
            if request.symbols:
                frame = frame.filter(pl.col("symbol").is_in(list(request.symbols)))
                instruments = tuple(i for i in instruments if i.symbol in request.symbols)
            if request.start is not None:
                frame = frame.filter(pl.col("ts") >= request.start)
            if request.end is not None:
                frame = frame.filter(pl.col("ts") < request.end)
            if frame.is_empty() and not instruments:
                continue
            yield BarBatch(
                source=f"{dataset.name} ({dataset.package})",
                bars=frame.with_row_index(ROW_COLUMN, offset=1),
                instruments=instruments,
            )
