"""Order execution: the simulation core shared by backtests and paper trading (:mod:`.sim`)."""

from __future__ import annotations

__all__: list[str] = []
