"""Market data: ports, validation, providers, stores and the market-data service."""

from __future__ import annotations
