"""Shared fixtures of the sentiment tests: one embedding scorer per session (model load ~20 s)."""

from __future__ import annotations

import pytest

from quantdesk.sentiment import EmbeddingScorer


@pytest.fixture(scope="session")
def embedding_scorer() -> EmbeddingScorer:
    """Return an embedding scorer whose model and head are loaded once per test session."""
    pytest.importorskip("sentence_transformers", reason="needs the nlp extra")
    scorer = EmbeddingScorer()
    _ = scorer.head
    return scorer
