"""Alpha Vantage time-series adapter."""

from __future__ import annotations

from quantdesk.data.providers.alphavantage.client import AlphaVantageProvider

__all__ = ["AlphaVantageProvider"]
