"""The model registry on MLflow: runs in a tracking store, versions with stage aliases.

Each :meth:`MlflowModelRegistry.register` call is one MLflow run in the configured experiment
(parameters, metrics and tags as given), with the pickled model under ``model/model.pkl`` and
JSON documents under ``documents/``; the run's ``model`` directory becomes a new version of the
registered model. Stages are MLflow aliases: ``production`` points at one version and every
version carries a ``stage`` tag. The default store is SQLite under ``QUANTDESK_HOME`` (set
``QUANTDESK_ML__TRACKING_URI`` for a remote tracking server), so ``mlflow ui
--backend-store-uri sqlite:///$QUANTDESK_HOME/mlflow.db`` shows everything quantdesk trained.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import tempfile
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quantdesk.core.errors import NotFound, StorageError
from quantdesk.ml.ports import ModelVersion, Stage

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["MlflowModelRegistry"]

_MODEL_FILE = "model.pkl"
_UNSAFE = re.compile(r"[^0-9A-Za-z_\-. :/]")
_STAGE_TAG = "stage"


def _key(name: str) -> str:
    """Return ``name`` with the characters MLflow refuses in keys replaced by ``_``."""
    return _UNSAFE.sub("_", name)


class MlflowModelRegistry:
    """:class:`~quantdesk.ml.ports.ModelRegistry` on an MLflow tracking store.

    Parameters
    ----------
    tracking_uri
        MLflow tracking and registry URI (``sqlite:///...``, ``postgresql://...``,
        ``http://...``).
    artifacts_dir
        Artifact root of a new experiment (a local directory; remote servers pick their own).
    experiment
        Experiment name of the training runs.
    """

    def __init__(self, tracking_uri: str, artifacts_dir: Path, experiment: str) -> None:
        self._uri = tracking_uri
        self._artifacts = artifacts_dir
        self._experiment_name = experiment
        self._client: MlflowClient | None = None
        self._experiment_id: str | None = None
        self._lock = threading.Lock()

    def _open(self) -> tuple[MlflowClient, str]:
        with self._lock:
            if self._client is None or self._experiment_id is None:
                # no terminal progress bars from a server process
                os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
                from mlflow import MlflowClient

                try:
                    client = MlflowClient(tracking_uri=self._uri, registry_uri=self._uri)
                    found = client.get_experiment_by_name(self._experiment_name)
                    if found is None:
                        self._artifacts.mkdir(parents=True, exist_ok=True)
                        experiment_id = client.create_experiment(
                            self._experiment_name, artifact_location=self._artifacts.as_uri()
                        )
                    else:
                        experiment_id = found.experiment_id
                except Exception as exc:
                    raise StorageError(f"the model registry is unavailable: {exc}") from exc
                self._client, self._experiment_id = client, experiment_id
            return self._client, self._experiment_id

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
        """Track a run and register its model as a new ``candidate`` version of ``name``."""
        from mlflow.entities import Metric, Param, RunTag

        client, experiment_id = self._open()
        run = client.create_run(experiment_id, run_name=name, tags={"model": name, **tags})
        run_id = run.info.run_id
        try:
            stamp = int(datetime.now(UTC).timestamp() * 1000)
            client.log_batch(
                run_id,
                metrics=[Metric(_key(k), float(v), stamp, 0) for k, v in sorted(metrics.items())],
                params=[Param(_key(k), str(v)[:6000]) for k, v in sorted(params.items())],
                tags=[RunTag(_key(k), str(v)[:5000]) for k, v in sorted(tags.items())],
            )
            with tempfile.TemporaryDirectory(prefix="quantdesk-model-") as scratch:
                folder = Path(scratch)
                model_path = folder / _MODEL_FILE
                model_path.write_bytes(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
                client.log_artifact(run_id, str(model_path), artifact_path="model")
                for doc_name, content in (documents or {}).items():
                    doc_path = folder / f"{doc_name}.json"
                    doc_path.write_text(json.dumps(content, allow_nan=False), encoding="utf-8")
                    client.log_artifact(run_id, str(doc_path), artifact_path="documents")
            client.set_terminated(run_id, status="FINISHED")
            if not client.search_registered_models(filter_string=f"name = '{name}'"):
                client.create_registered_model(name)
            created = client.create_model_version(
                name, f"{run.info.artifact_uri}/model", run_id=run_id
            )
            client.set_model_version_tag(name, created.version, _STAGE_TAG, Stage.CANDIDATE)
        except Exception:
            client.set_terminated(run_id, status="FAILED")
            raise
        return self.get(name, int(created.version))

    def _version(self, client: MlflowClient, raw: Any, production: str | None) -> ModelVersion:
        run = client.get_run(raw.run_id)
        stage = Stage.PRODUCTION if str(raw.version) == production else Stage.CANDIDATE
        return ModelVersion(
            name=raw.name,
            version=int(raw.version),
            stage=stage,
            run_id=raw.run_id,
            created_at=datetime.fromtimestamp(raw.creation_timestamp / 1000, tz=UTC),
            params=dict(run.data.params),
            metrics={k: float(v) for k, v in run.data.metrics.items()},
            tags={k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
        )

    def _production(self, client: MlflowClient, name: str) -> str | None:
        try:
            return str(client.get_model_version_by_alias(name, Stage.PRODUCTION).version)
        except Exception:
            return None

    def versions(self, name: str | None = None) -> Sequence[ModelVersion]:
        """Return the versions of ``name`` (every model's when ``None``), newest first."""
        client, _ = self._open()
        query = "" if name is None else f"name = '{name}'"
        found = client.search_model_versions(query)
        production = {
            model: self._production(client, model) for model in {raw.name for raw in found}
        }
        versions = [self._version(client, raw, production[raw.name]) for raw in found]
        return sorted(versions, key=lambda v: (v.name, -v.version))

    def get(self, name: str, version: int | None = None) -> ModelVersion:
        """Return version ``version`` of ``name``; without one the production version, else
        the newest.

        Raises
        ------
        NotFound
            For an unknown model or version.
        """
        client, _ = self._open()
        production = self._production(client, name)
        if version is None:
            candidates = self.versions(name)
            if not candidates:
                raise NotFound(f"no model named {name!r} has been trained")
            chosen = [v for v in candidates if v.stage is Stage.PRODUCTION] or candidates
            return chosen[0]
        try:
            raw = client.get_model_version(name, str(version))
        except Exception:
            raise NotFound(f"model {name!r} has no version {version}") from None
        return self._version(client, raw, production)

    def load(self, version: ModelVersion) -> Any:
        """Return the stored model object of ``version``."""
        client, _ = self._open()
        with tempfile.TemporaryDirectory(prefix="quantdesk-model-") as scratch:
            path = client.download_artifacts(version.run_id, f"model/{_MODEL_FILE}", scratch)
            return pickle.loads(Path(path).read_bytes())  # our own artifact

    def document(self, version: ModelVersion, name: str) -> Any:
        """Return the JSON document ``name`` stored with ``version``."""
        client, _ = self._open()
        with tempfile.TemporaryDirectory(prefix="quantdesk-doc-") as scratch:
            try:
                path = client.download_artifacts(version.run_id, f"documents/{name}.json", scratch)
            except Exception:
                raise NotFound(f"{version.name} v{version.version} has no {name!r}") from None
            return json.loads(Path(path).read_text(encoding="utf-8"))

    def set_stage(self, name: str, version: int, stage: Stage) -> ModelVersion:
        """Move ``version`` to ``stage``; the previous production version becomes a candidate."""
        client, _ = self._open()
        self.get(name, version)  # NotFound for an unknown version
        previous = self._production(client, name)
        if stage is Stage.PRODUCTION:
            if previous is not None and previous != str(version):
                client.set_model_version_tag(name, previous, _STAGE_TAG, Stage.CANDIDATE)
            client.set_registered_model_alias(name, Stage.PRODUCTION, str(version))
        elif previous == str(version):
            client.delete_registered_model_alias(name, Stage.PRODUCTION)
        client.set_model_version_tag(name, str(version), _STAGE_TAG, stage)
        return self.get(name, version)
