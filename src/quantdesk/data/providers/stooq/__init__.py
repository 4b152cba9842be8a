"""Stooq CSV-download adapter."""

from __future__ import annotations

from quantdesk.data.providers.stooq.client import StooqProvider

__all__ = ["StooqProvider"]
