"""Typed settings, read from ``QUANTDESK_*`` environment variables."""

from __future__ import annotations

from quantdesk.config.settings import (
    ApiSettings,
    DatabaseSettings,
    LoggingSettings,
    ProviderSettings,
    Settings,
    StorageSettings,
)

__all__ = [
    "ApiSettings",
    "DatabaseSettings",
    "LoggingSettings",
    "ProviderSettings",
    "Settings",
    "StorageSettings",
]
