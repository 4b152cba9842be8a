"""CLI command groups."""

from __future__ import annotations
