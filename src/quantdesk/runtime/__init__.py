"""Composition root: turns :class:`~quantdesk.config.Settings` into a wired object graph."""

from __future__ import annotations

from quantdesk.runtime.bootstrap import (
    Runtime,
    build_bar_store,
    build_runtime,
    database_revision,
    migrate,
)
from quantdesk.runtime.demo import DEMO_ADMIN_EMAIL, ensure_demo_admin, load_demo
from quantdesk.runtime.logging import configure_logging

__all__ = [
    "DEMO_ADMIN_EMAIL",
    "Runtime",
    "build_bar_store",
    "build_runtime",
    "configure_logging",
    "database_revision",
    "ensure_demo_admin",
    "load_demo",
    "migrate",
]
