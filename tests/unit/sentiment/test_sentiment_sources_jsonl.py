"""JSON Lines news files: good lines kept, bad lines reported by line number."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from quantdesk.core.errors import ValidationError
from quantdesk.sentiment.sources import JsonlSource, parse_jsonl

FIXTURES = Path(__file__).parents[2] / "fixtures" / "news"
FILE = FIXTURES / "articles.jsonl"


def test_good_lines_become_articles() -> None:
    source = JsonlSource(FILE)

    articles = source.fetch()

    assert [(a.title, a.published_at) for a in articles] == [
        ("Borealis Foods names new chief executive", datetime(2024, 5, 6, 13, 30, tzinfo=UTC)),
        # line 2: 09:15 at UTC-4
        ("Acme Robotics wins warehouse automation order", datetime(2024, 5, 7, 13, 15, tzinfo=UTC)),
        (
            "Crestline Energy shares fall after deal announcement",
            datetime(2024, 5, 7, 21, 45, tzinfo=UTC),
        ),
    ]
    first, second, third = articles
    assert (first.id, first.source, first.symbols) == ("desk-0001", "Example Desk", ("BORF",))
    assert first.summary == "The board appointed its finance chief to the top job."
    assert second.source == "articles"  # default: the file stem
    assert second.symbols == ("ACMR",)
    assert (third.source, third.summary, third.id) == ("articles", "", "desk-0003")


def test_bad_lines_are_reported_with_line_numbers(caplog: pytest.LogCaptureFixture) -> None:
    source = JsonlSource(FILE, name="desk")

    with caplog.at_level(logging.WARNING, logger="quantdesk.sentiment.sources"):
        source.fetch()

    error = source.last_error
    assert isinstance(error, ValidationError)
    assert error.message.startswith(f"{FILE.as_posix()}: 7 lines rejected")
    by_line = {issue.row: issue for issue in error.issues}
    assert sorted(by_line) == [4, 5, 6, 7, 8, 9, 11]
    assert "invalid JSON" in by_line[4].reason
    assert by_line[5].field == "published_at"
    assert "no UTC offset" in by_line[5].reason
    assert by_line[6].field == "title"
    assert by_line[7].field == "symbols"
    assert by_line[8].field == "id"
    assert "line 1" in by_line[8].reason
    assert "JSON object" in by_line[9].reason
    assert by_line[11].field == "published_at"
    assert "ISO 8601" in by_line[11].reason
    assert all(issue.location == f"line {issue.row}" for issue in error.issues)
    assert "7 lines rejected" in caplog.text


def test_strict_mode_raises() -> None:
    with pytest.raises(ValidationError, match="7 lines rejected") as caught:
        JsonlSource(FILE, strict=True).fetch()
    assert len(caught.value.issues) == 7


def test_clean_file_has_no_error(tmp_path: Path) -> None:
    path = tmp_path / "clean.jsonl"
    path.write_text(
        '\ufeff{"title": "A", "published_at": "2024-01-02T03:04:05Z"}\r\n\r\n', encoding="utf-8"
    )
    source = JsonlSource(path, strict=True)

    articles = source.fetch()

    assert [a.title for a in articles] == ["A"]
    assert source.last_error is None
    assert source.name == "clean"


def test_since_filter_is_inclusive() -> None:
    articles = JsonlSource(FILE).fetch(since=datetime(2024, 5, 7, 13, 15, tzinfo=UTC))
    assert [a.id for a in articles][-1] == "desk-0003"
    assert len(articles) == 2


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot read news file"):
        JsonlSource(tmp_path / "nope.jsonl").fetch()


def test_parse_jsonl_from_strings_and_bytes() -> None:
    content = parse_jsonl(
        [
            '{"title": "One", "published_at": "2024-01-01T00:00:00+00:00", "symbols": ["x"]}',
            b'{"title": "Two", "published_at": "2024-01-01T01:00:00Z"}',
            b"\xff\xfe",
            '{"title": "Three", "published_at": "2024-01-01T02:00:00Z", "url": 5}',
        ],
        source="test",
        symbols=("base",),
    )
    assert [a.title for a in content.articles] == ["One", "Two"]
    assert content.articles[0].symbols == ("BASE", "X")
    assert [(i.row, i.field) for i in content.issues] == [(3, None), (4, "url")]
    error = content.error("memory")
    assert error is not None
    assert error.message.startswith("memory: 2 lines rejected")
    assert parse_jsonl([]).error("x") is None


def test_naive_since_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        JsonlSource(FILE).fetch(since=datetime(2024, 5, 7))
