"""Yahoo Finance chart-API adapter."""

from __future__ import annotations

from quantdesk.data.providers.yahoo.client import YahooProvider

__all__ = ["YahooProvider"]
