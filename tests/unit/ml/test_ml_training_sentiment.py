"""The training service joins stored daily sentiment to the features only when it overlaps."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from quantdesk.config import Settings
from quantdesk.core.clock import SystemClock
from quantdesk.ml.registry import MlflowModelRegistry
from quantdesk.ml.training import MLService
from quantdesk.runtime import Runtime, build_runtime
from quantdesk.runtime.providers import bundled_provider


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    home: Path = tmp_path_factory.mktemp("qd-ml-sentiment")
    built = build_runtime(Settings(home=home))
    built.market.ingest(bundled_provider("sp500-index"))
    return built


def _service(runtime: Runtime, frame: pl.DataFrame | None) -> MLService:
    home = runtime.settings.home_dir
    registry = MlflowModelRegistry(f"sqlite:///{home / 'mlflow.db'}", home / "art", "t")
    return MLService(runtime.market, registry, SystemClock(), lambda _symbol: frame)


def _daily(start: str, days: int) -> pl.DataFrame:
    """A made-up (synthetic) daily sentiment series: one row per calendar day."""
    first = date.fromisoformat(start)
    return pl.DataFrame(
        {
            "symbol": ["SPX"] * days,
            "date": [first + timedelta(days=i) for i in range(days)],
            "mean": np.sin(np.arange(days) / 7.0),
            "count": [3] * days,
            "dispersion": [0.1] * days,
        }
    )


def test_overlapping_sentiment_becomes_features(runtime: Runtime) -> None:
    service = _service(runtime, _daily("2010-01-01", 3000))
    outcome = service.train("SPX", "trend", 5)
    assert outcome.version.params["sentiment"] == "True"
    assert any(name.startswith("sent_") for name in outcome.features)
    prediction = service.predict("SPX", "trend", 5)
    assert 0.0 <= prediction.values["probability_up"] <= 1.0


def test_sentiment_outside_the_bars_is_left_out(runtime: Runtime) -> None:
    service = _service(runtime, _daily("2024-01-01", 30))
    outcome = service.train("SPX", "price", 5, model="ridge")
    assert outcome.version.params["sentiment"] == "False"
    assert not any(name.startswith("sent_") for name in outcome.features)
