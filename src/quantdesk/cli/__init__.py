"""Command-line interface (Typer + Rich)."""

from __future__ import annotations
