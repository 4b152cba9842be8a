"""Build market-data providers from settings and command-line options.

Interfaces (CLI, API) get their providers here rather than importing adapters directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from quantdesk.config import Settings
from quantdesk.core.errors import ConfigError
from quantdesk.data.ports import MarketDataProvider
from quantdesk.data.providers.bundled import (
    DATASETS,
    BundledDatasetProvider,
    dataset_fingerprint,
)
from quantdesk.data.providers.files import FileFormat, FileMapping, FileProvider
from quantdesk.data.providers.synthetic import SyntheticMarketConfig, SyntheticMarketProvider

__all__ = [
    "DATASETS",
    "FileMapping",
    "SyntheticMarketConfig",
    "bundled_provider",
    "dataset_fingerprint",
    "file_provider",
    "http_provider",
    "synthetic_provider",
]


def file_provider(
    paths: Sequence[Path | str],
    mapping: FileMapping,
    file_format: FileFormat,
    instrument: Mapping[str, str] | None = None,
) -> MarketDataProvider:
    """Return a provider reading CSV or Parquet files."""
    return FileProvider(paths, mapping, file_format=file_format, instrument=instrument)


def bundled_provider(*datasets: str) -> MarketDataProvider:
    """Return a provider of the named bundled datasets."""
    return BundledDatasetProvider(tuple(datasets))


def synthetic_provider(config: SyntheticMarketConfig) -> MarketDataProvider:
    """Return the synthetic market, every interval it serves."""
    from quantdesk.runtime.demo import SyntheticAllIntervals

    return SyntheticAllIntervals(SyntheticMarketProvider(config))


def http_provider(kind: str, settings: Settings) -> MarketDataProvider:
    """Return the HTTP provider ``kind`` (yahoo, alphavantage, stooq) configured by settings."""
    options = settings.providers
    if kind == "yahoo":
        from quantdesk.data.providers.yahoo import YahooProvider

        return YahooProvider(
            base_url=options.yahoo_base_url,
            timeout=options.timeout_seconds,
            max_retries=options.max_retries,
            backoff=options.backoff_seconds,
        )
    if kind == "alphavantage":
        from quantdesk.data.providers.alphavantage import AlphaVantageProvider

        key = options.alphavantage_api_key
        return AlphaVantageProvider(
            base_url=options.alphavantage_base_url,
            api_key=None if key is None else key.get_secret_value(),
            timeout=options.timeout_seconds,
            max_retries=options.max_retries,
            backoff=options.backoff_seconds,
        )
    if kind == "stooq":
        from quantdesk.data.providers.stooq import StooqProvider

        return StooqProvider(
            base_url=options.stooq_base_url,
            timeout=options.timeout_seconds,
            max_retries=options.max_retries,
            backoff=options.backoff_seconds,
        )
    raise ConfigError(f"unknown provider {kind!r}; use yahoo, alphavantage or stooq")
