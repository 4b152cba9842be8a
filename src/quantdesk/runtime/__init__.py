"""Composition root: turns :class:`~quantdesk.config.Settings` into a wired object graph."""

from __future__ import annotations

from quantdesk.runtime.bootstrap import (
    Runtime,
    build_bar_store,
    build_runtime,
    database_revision,
    migrate,
)
from quantdesk.runtime.demo import load_demo
from quantdesk.runtime.logging import configure_logging

__all__ = [
    "Runtime",
    "build_bar_store",
    "build_runtime",
    "configure_logging",
    "database_revision",
    "load_demo",
    "migrate",
]
