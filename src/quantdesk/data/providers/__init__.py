"""Market-data providers: files, bundled real datasets, the synthetic market and HTTP APIs."""

from __future__ import annotations
