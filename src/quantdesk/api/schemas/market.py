"""Market-data wire models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from quantdesk.data.ports import SymbolSummary
from quantdesk.data.service import QuoteSnapshot, SymbolInfo
from quantdesk.domain import Instrument, normalize_symbol


class InstrumentPublic(BaseModel):
    """An instrument as the API shows it."""

    symbol: str
    name: str
    asset_class: str
    currency: str
    exchange: str | None
    sector: str | None
    synthetic: bool = Field(description="True when prices come from the synthetic market")
    source: str | None

    @classmethod
    def of(cls, instrument: Instrument) -> InstrumentPublic:
        """Return the wire model of ``instrument``."""
        return cls(
            symbol=instrument.symbol,
            name=instrument.name,
            asset_class=instrument.asset_class.value,
            currency=instrument.currency,
            exchange=instrument.exchange,
            sector=instrument.sector,
            synthetic=instrument.synthetic,
            source=instrument.source,
        )


class QuotePublic(BaseModel):
    """Latest price of an instrument, from its freshest stored bar."""

    symbol: str
    name: str
    currency: str
    synthetic: bool
    interval: str = Field(description="Interval of the bar the price comes from")
    ts: datetime
    price: float
    open: float | None
    high: float | None
    low: float | None
    volume: float | None
    previous_close: float | None
    change: float | None
    change_pct: float | None
    close_only: bool = Field(description="True when the series carries closes only")

    @classmethod
    def of(cls, quote: QuoteSnapshot) -> QuotePublic:
        """Return the wire model of ``quote``."""
        instrument = quote.instrument
        return cls(
            symbol=instrument.symbol,
            name=instrument.name,
            currency=instrument.currency,
            synthetic=instrument.synthetic,
            interval=quote.interval.value,
            ts=quote.ts,
            price=quote.price,
            open=quote.open,
            high=quote.high,
            low=quote.low,
            volume=quote.volume,
            previous_close=quote.previous_close,
            change=quote.change,
            change_pct=quote.change_pct,
            close_only=quote.close_only,
        )


class QuotesPublic(BaseModel):
    """Several quotes plus the symbols that are not known."""

    data: list[QuotePublic]
    count: int
    missing: list[str]


class BatchQuotesRequest(BaseModel):
    """Symbols to quote."""

    symbols: Annotated[list[str], Field(min_length=1, max_length=200)]

    @field_validator("symbols")
    @classmethod
    def _normalize(cls, symbols: list[str]) -> list[str]:
        return [normalize_symbol(s) for s in symbols]


class BarPublic(BaseModel):
    """One OHLCV bar; open/high/low are null for close-only series."""

    ts: datetime
    open: float | None
    high: float | None
    low: float | None
    close: float
    volume: float | None


class HistoryPublic(BaseModel):
    """A page of bars."""

    symbol: str
    interval: str
    source_interval: str = Field(description="Stored interval the bars were built from")
    synthetic: bool
    count: int
    bars: list[BarPublic]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page")


class SeriesPublic(BaseModel):
    """A stored series of one symbol."""

    interval: str
    first_ts: datetime
    last_ts: datetime
    bar_count: int

    @classmethod
    def of(cls, summary: SymbolSummary) -> SeriesPublic:
        """Return the wire model of ``summary``."""
        return cls(
            interval=summary.interval.value,
            first_ts=summary.first_ts,
            last_ts=summary.last_ts,
            bar_count=summary.bar_count,
        )


class SymbolPublic(InstrumentPublic):
    """An instrument and its stored series."""

    series: list[SeriesPublic]

    @classmethod
    def of_info(cls, info: SymbolInfo) -> SymbolPublic:
        """Return the wire model of ``info``."""
        base = InstrumentPublic.of(info.instrument).model_dump()
        return cls(**base, series=[SeriesPublic.of(s) for s in info.series])


class SymbolsPublic(BaseModel):
    """Symbols matching a search."""

    data: list[SymbolPublic]
    count: int
