"""Foundations shared by every layer: the error tree, clocks and identifiers."""

from __future__ import annotations

from quantdesk.core.clock import Clock, SimClock, SystemClock
from quantdesk.core.errors import (
    ConfigError,
    DataError,
    NotFound,
    ProviderError,
    QuantdeskError,
    RateLimited,
    StorageError,
    ValidationError,
)
from quantdesk.core.ids import new_id

__all__ = [
    "Clock",
    "ConfigError",
    "DataError",
    "NotFound",
    "ProviderError",
    "QuantdeskError",
    "RateLimited",
    "SimClock",
    "StorageError",
    "SystemClock",
    "ValidationError",
    "new_id",
]
