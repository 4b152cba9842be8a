"""Bar-store adapters: DuckDB (embedded default) and PostgreSQL/TimescaleDB (scale-out)."""

from __future__ import annotations
