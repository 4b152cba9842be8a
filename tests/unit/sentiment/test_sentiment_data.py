"""The shipped training headlines and the evaluation headlines never overlap."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from rapidfuzz import fuzz, process

from quantdesk.sentiment import load_training_headlines, normalized_title

REPO = Path(__file__).resolve().parents[3]
EVALUATION_CSV = REPO / "tests" / "data" / "financial_headlines.csv"


def evaluation() -> tuple[list[str], list[str]]:
    with EVALUATION_CSV.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [row["text"] for row in rows], [row["label"] for row in rows]


def test_training_set_size_and_balance() -> None:
    texts, labels = load_training_headlines()
    counts = Counter(labels)
    assert len(texts) >= 450
    assert min(counts.values()) / len(labels) > 0.3
    assert len({normalized_title(text) for text in texts}) == len(texts)


def test_no_overlap_after_normalisation() -> None:
    train, _ = load_training_headlines()
    held_out, _ = evaluation()
    assert len({normalized_title(t) for t in held_out}) == len(held_out)
    assert not {normalized_title(t) for t in train} & {normalized_title(t) for t in held_out}


def test_no_near_duplicates_across_the_split() -> None:
    train = [normalized_title(t) for t in load_training_headlines()[0]]
    for text in evaluation()[0]:
        match = process.extractOne(normalized_title(text), train, scorer=fuzz.ratio)
        assert match is not None
        assert match[1] < 90, (text, match[0], match[1])


def test_evaluation_readme_states_the_labelling_rule() -> None:
    readme = (REPO / "tests" / "data" / "README.md").read_text(encoding="utf-8")
    assert "financial_headlines.csv" in readme
    assert "neutral" in readme
