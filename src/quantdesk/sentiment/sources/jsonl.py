"""JSON Lines files as a news source: one article per line.

Each non-blank line is a JSON object::

    {"title": "Acme beats estimates", "published_at": "2024-05-07T13:30:00Z",
     "source": "Example Wire", "summary": "...", "url": "https://...",
     "symbols": ["ACME"], "id": "wire-123"}

``title`` and ``published_at`` (ISO 8601 with a UTC offset or ``Z``) are required; ``source``
defaults to the source's name; ``summary``, ``url``, ``symbols`` and ``id`` are optional
(``null`` counts as absent). Other keys are ignored. A line that breaks these rules is
reported with its line number in a :class:`~quantdesk.core.errors.ValidationError`; the good
lines are kept.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.sentiment.articles import Article, deduplicate

__all__ = ["JsonlContent", "JsonlSource", "parse_jsonl"]

logger = logging.getLogger("quantdesk.sentiment.sources")

_OPTIONAL_TEXT = ("source", "summary", "url", "id")


@dataclass(frozen=True, slots=True)
class JsonlContent:
    """The articles read from JSON Lines and the issues of the lines that were rejected."""

    articles: tuple[Article, ...]
    issues: tuple[Issue, ...]

    def error(self, origin: str) -> ValidationError | None:
        """Return a :class:`ValidationError` listing the rejected lines, or None if none were."""
        if not self.issues:
            return None
        count = len({issue.row for issue in self.issues})
        plural = "" if count == 1 else "s"
        return ValidationError(f"{origin}: {count} line{plural} rejected", self.issues)


def _article(record: Any, *, line: int, default_source: str, symbols: Sequence[str]) -> Article:
    """Build one article or raise ValidationError with the line's issues."""
    location = f"line {line}"
    if not isinstance(record, dict):
        raise ValidationError(
            location, [Issue(location, "expected a JSON object per line", None, line)]
        )
    issues: list[Issue] = []
    title = record.get("title")
    if not isinstance(title, str) or not title.strip():
        issues.append(
            Issue(location, "title is missing or empty; write the headline", "title", line)
        )
    published: datetime | None = None
    raw_time = record.get("published_at")
    if not isinstance(raw_time, str):
        issues.append(
            Issue(
                location,
                "published_at is missing; give an ISO 8601 time such as 2024-05-07T13:30:00Z",
                "published_at",
                line,
            )
        )
    else:
        try:
            published = datetime.fromisoformat(raw_time.strip())
        except ValueError:
            issues.append(
                Issue(
                    location,
                    f"published_at {raw_time!r} is not an ISO 8601 time; use e.g. "
                    "2024-05-07T13:30:00Z",
                    "published_at",
                    line,
                )
            )
        else:
            if published.tzinfo is None:
                issues.append(
                    Issue(
                        location,
                        f"published_at {raw_time!r} has no UTC offset; append Z or +HH:MM",
                        "published_at",
                        line,
                    )
                )
    text_fields: dict[str, str] = {}
    for field in _OPTIONAL_TEXT:
        value = record.get(field)
        if value is None:
            continue
        if not isinstance(value, str):
            issues.append(Issue(location, f"{field} must be a string", field, line))
        else:
            text_fields[field] = value
    tags = record.get("symbols")
    tagged: list[str] = []
    if tags is not None:
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            issues.append(Issue(location, "symbols must be a list of strings", "symbols", line))
        else:
            tagged = tags
    if issues or not isinstance(title, str) or published is None:
        raise ValidationError(location, issues)
    return Article(
        source=text_fields.get("source", "").strip() or default_source,
        published_at=published,
        title=title,
        summary=text_fields.get("summary", ""),
        url=text_fields.get("url", ""),
        symbols=(*symbols, *tagged),
        id=text_fields.get("id", ""),
    )


def parse_jsonl(
    lines: Iterable[str | bytes], *, source: str = "jsonl", symbols: Sequence[str] = ()
) -> JsonlContent:
    """Read articles from JSON Lines, keeping the good lines and reporting the bad ones.

    Parameters
    ----------
    lines
        The lines (1-based numbering in issues); blank lines are skipped.
    source
        Source name for records without ``source``.
    symbols
        Symbols to tag every article with, on top of each record's own.

    Returns
    -------
    JsonlContent
        Articles in line order, and one or more issues per rejected line (``row`` is the line
        number). A second record with an ``id`` already used is rejected too.
    """
    articles: list[Article] = []
    issues: list[Issue] = []
    seen_ids: dict[str, int] = {}
    for line_number, raw in enumerate(lines, start=1):
        location = f"line {line_number}"
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError as exc:
            issues.append(Issue(location, f"not UTF-8 text ({exc.reason})", None, line_number))
            continue
        text = text.removeprefix("\ufeff")
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            issues.append(
                Issue(location, f"invalid JSON: {exc.msg} at column {exc.colno}", None, line_number)
            )
            continue
        try:
            article = _article(record, line=line_number, default_source=source, symbols=symbols)
        except ValidationError as exc:
            issues.extend(exc.issues)
            continue
        except ValueError as exc:
            issues.append(Issue(location, str(exc), None, line_number))
            continue
        first = seen_ids.get(article.id)
        if first is not None:
            issues.append(
                Issue(
                    location,
                    f"id {article.id!r} was already used on line {first}; ids must be unique",
                    "id",
                    line_number,
                )
            )
            continue
        seen_ids[article.id] = line_number
        articles.append(article)
    return JsonlContent(tuple(articles), tuple(issues))


class JsonlSource:
    """A news source reading a JSON Lines file (format in the module docstring).

    :meth:`fetch` re-reads the file on every call. Rejected lines are logged, kept in
    :attr:`last_error` (None when every line was good) and, with ``strict=True``, raised.

    Parameters
    ----------
    path
        The ``.jsonl`` file.
    name
        Source name (and default ``source`` of records); the file stem when None.
    symbols
        Symbols to tag every article with.
    strict
        Raise the :class:`ValidationError` of rejected lines instead of returning the good ones.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        symbols: Sequence[str] = (),
        strict: bool = False,
    ) -> None:
        self.path = Path(path)
        self.name = name or self.path.stem
        self.symbols = tuple(symbols)
        self.strict = strict
        self.last_error: ValidationError | None = None

    def __repr__(self) -> str:
        return f"JsonlSource({self.path.as_posix()!r}, name={self.name!r})"

    def fetch(self, since: datetime | None = None) -> list[Article]:
        """Return the file's articles published at or after ``since``, oldest first.

        Parameters
        ----------
        since
            Timezone-aware inclusive lower bound; None returns every article.

        Returns
        -------
        list[Article]
            The articles of the good lines, de-duplicated.

        Raises
        ------
        ValueError
            If ``since`` is naive.
        ValidationError
            If the file cannot be read, or (``strict=True``) a line was rejected.
        """
        if since is not None and since.tzinfo is None:
            raise ValueError("since must be timezone-aware (UTC)")
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise ValidationError(
                f"cannot read news file {self.path}",
                [Issue(str(self.path), f"{exc.strerror or exc}; check the path")],
            ) from None
        content = parse_jsonl(data.splitlines(), source=self.name, symbols=self.symbols)
        self.last_error = content.error(self.path.as_posix())
        if self.last_error is not None:
            if self.strict:
                raise self.last_error
            logger.warning("%s", self.last_error.message)
        articles = [
            article
            for article in content.articles
            if since is None or article.published_at >= since
        ]
        return deduplicate(articles)
