"""Immutable value objects shared by every layer: instruments and market data."""

from __future__ import annotations

from quantdesk.domain.instruments import AssetClass, Instrument, normalize_symbol
from quantdesk.domain.market_data import Bar, Interval, Quote, Trade, TradeSide

__all__ = [
    "AssetClass",
    "Bar",
    "Instrument",
    "Interval",
    "Quote",
    "Trade",
    "TradeSide",
    "normalize_symbol",
]
