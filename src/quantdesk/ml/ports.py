"""What the ML service needs from a model registry: tracked runs, versions and stages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

__all__ = ["ModelRegistry", "ModelVersion", "Stage"]


class Stage(StrEnum):
    """Where a model version stands: every new version is a ``candidate``; one version per
    model may be ``production`` (the one predictions use)."""

    CANDIDATE = "candidate"
    PRODUCTION = "production"


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One trained version of a registered model.

    ``params`` are the training parameters (text, as tracked), ``metrics`` the out-of-sample
    numbers of the model and of each baseline on the same rows, ``tags`` the descriptive
    metadata (task, symbol, horizon, data window, features, code version...).
    """

    name: str
    version: int
    stage: Stage
    run_id: str
    created_at: datetime
    params: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


class ModelRegistry(Protocol):
    """Tracked training runs and versioned models (MLflow in the runtime)."""

    def register(
        self,
        name: str,
        model: Any,
        *,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        tags: Mapping[str, str],
        documents: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """Track a run with ``params``/``metrics``/``tags``, store ``model`` (pickled) and
        ``documents`` (JSON files) as its artifacts and register a new ``candidate`` version."""

    def versions(self, name: str | None = None) -> Sequence[ModelVersion]:
        """Return the versions of ``name`` (every model's when ``None``), newest first."""

    def get(self, name: str, version: int | None = None) -> ModelVersion:
        """Return version ``version`` of ``name``; without one, the production version, else
        the newest. Raises ``NotFound`` naming what is missing."""

    def load(self, version: ModelVersion) -> Any:
        """Return the stored model object of ``version``."""

    def document(self, version: ModelVersion, name: str) -> Any:
        """Return the JSON document ``name`` stored with ``version``."""

    def set_stage(self, name: str, version: int, stage: Stage) -> ModelVersion:
        """Move ``version`` to ``stage`` (the previous production version becomes a
        candidate) and return it."""
