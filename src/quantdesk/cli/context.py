"""Shared state of one CLI invocation: settings and the lazily built runtime."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pydantic

from quantdesk.config import Settings
from quantdesk.core.errors import ConfigError
from quantdesk.runtime import Runtime, build_runtime, configure_logging


def load_settings() -> Settings:
    """Return settings from the environment, or raise ``ConfigError`` saying what is wrong."""
    try:
        settings = Settings()
    except pydantic.ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid QUANTDESK_* settings: {details}") from None
    configure_logging(settings.logging)
    return settings


@contextmanager
def open_runtime(settings: Settings | None = None) -> Iterator[Runtime]:
    """Build the runtime for one command and close it afterwards."""
    runtime = build_runtime(settings or load_settings())
    try:
        yield runtime
    finally:
        runtime.close()
