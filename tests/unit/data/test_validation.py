"""Row-level rules of ``validate_batch``: what is rejected, where it is reported, what survives."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from quantdesk.core.errors import Issue
from quantdesk.data.frames import BAR_SCHEMA, ROW_COLUMN
from quantdesk.data.ports import BarBatch
from quantdesk.data.validation import ValidationReport, validate_batch

SOURCE = "prices.csv"
T0 = datetime(2024, 1, 2, tzinfo=UTC)
PRICE_FIELDS = ("open", "high", "low", "close")


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def bar(
    n: int,
    *,
    symbol: str | None = "AAPL",
    interval: str = "1d",
    open: float | None = 10.0,
    high: float | None = 11.0,
    low: float | None = 9.0,
    close: float | None = 10.5,
    volume: float | None = 1000.0,
    ts: datetime | str | None = "auto",
) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "interval": interval,
        "ts": day(n) if ts == "auto" else ts,
        "open": open,
        "high": high,
        "low": low,
        "close": close,
        "volume": volume,
    }


def lines(rows: list[dict[str, Any]], *, first: int = 2) -> pl.DataFrame:
    """Return ``rows`` as a bar frame numbered like CSV lines (header is line 1)."""
    frame = pl.DataFrame(rows, schema=BAR_SCHEMA)
    return frame.with_columns(pl.int_range(first, first + len(rows), dtype=pl.Int64).alias("row"))


def check(rows: list[dict[str, Any]], *, parse_issues: tuple[Issue, ...] = ()) -> ValidationReport:
    """Validate ``rows`` as lines 2.. of ``prices.csv``."""
    batch = BarBatch(source=SOURCE, bars=lines(rows), row_label="line", parse_issues=parse_issues)
    return validate_batch(batch)


def where(report: ValidationReport) -> list[tuple[int | None, str | None]]:
    return [(issue.row, issue.field) for issue in report.issues]


def only_issue(report: ValidationReport) -> Issue:
    assert len(report.issues) == 1, report.issues
    return report.issues[0]


def valid_days(report: ValidationReport) -> list[datetime]:
    return report.valid.get_column("ts").to_list()


def good_rows_kept(report: ValidationReport, rows: list[dict[str, Any]]) -> None:
    """Assert ``report.valid`` holds exactly ``rows`` (any order in, sorted out), values intact."""
    expected = pl.DataFrame(rows, schema=BAR_SCHEMA).sort(["symbol", "interval", "ts"])
    assert_frame_equal(report.valid, expected)


# --- a clean batch ---------------------------------------------------------------------------


def test_clean_batch_has_no_issues_and_keeps_every_value() -> None:
    rows = [bar(0), bar(1, open=10.5, high=12.25, low=10.0, close=12.0, volume=0.0), bar(2)]

    report = check(rows)

    assert report.ok
    assert report.issues == ()
    assert report.rejected_rows == 0
    good_rows_kept(report, rows)
    assert report.valid.columns == list(BAR_SCHEMA)  # the row number column is dropped


def test_empty_batch_is_ok() -> None:
    report = check([])

    assert report.ok
    assert report.valid.height == 0
    assert report.valid.schema == pl.Schema(BAR_SCHEMA)


def test_rows_are_numbered_from_one_when_the_batch_has_no_row_column() -> None:
    frame = pl.DataFrame([bar(0), bar(1), bar(2, close=-3.0, low=-4.0)], schema=BAR_SCHEMA)
    assert ROW_COLUMN not in frame.columns

    report = validate_batch(BarBatch(source="vendor", bars=frame))

    assert {issue.row for issue in report.issues} == {3}
    assert report.issues[0].location == "vendor row 3"


def test_row_label_and_source_name_the_location() -> None:
    rows = [bar(n) for n in range(6)]
    rows[5] = bar(5, volume=-1.0)  # sixth data row = line 7 of the file

    issue = only_issue(check(rows))

    assert issue.location == "prices.csv line 7"
    assert issue.row == 7
    assert issue.field == "volume"
    assert str(issue) == "prices.csv line 7, field 'volume': volume -1.0 is negative"


# --- required values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "field", "fragment"),
    [
        ({"symbol": None}, "symbol", "is missing"),
        ({"symbol": ""}, "symbol", "is missing"),
        ({"ts": None}, "ts", "timestamp is missing or could not be parsed"),
        ({"close": None}, "close", "is missing"),
    ],
    ids=["symbol-null", "symbol-empty", "ts", "close"],
)
def test_missing_required_value_is_reported_at_its_line(
    override: dict[str, Any], field: str, fragment: str
) -> None:
    rows = [bar(0), bar(1, **override), bar(2)]

    report = check(rows)

    issue = only_issue(report)
    assert (issue.row, issue.field) == (3, field)
    assert fragment in issue.reason
    assert issue.location == "prices.csv line 3"
    assert report.rejected_rows == 1
    good_rows_kept(report, [rows[0], rows[2]])


# --- NaN, infinity, sign ---------------------------------------------------------------------


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("field", [*PRICE_FIELDS, "volume"])
def test_nan_or_infinite_value_is_reported(field: str, value: float) -> None:
    rows = [bar(0), bar(1), bar(2, **{field: value}), bar(3)]

    report = check(rows)

    # An infinite price may also break the OHLC or sign rules, but only on its own line.
    assert {issue.row for issue in report.issues} == {4}
    nan_issues = [i for i in report.issues if i.field == field and "NaN or infinite" in i.reason]
    assert len(nan_issues) == 1
    assert nan_issues[0].location == "prices.csv line 4"
    assert report.rejected_rows == 1
    good_rows_kept(report, [rows[0], rows[1], rows[3]])


@pytest.mark.parametrize(
    ("override", "field", "shown"),
    [
        # low 0 <= open 0 keeps the low rule quiet; the sign rule names the first bad field
        ({"open": 0.0, "low": 0.0}, "open", "0.0"),
        # high -2.5 also breaks the high rule (below open 10), on the same line
        ({"high": -2.5}, "high", "-2.5"),
        ({"low": 0.0}, "low", "0.0"),
        ({"close": -1.25, "open": None, "high": None, "low": None}, "close", "-1.25"),
    ],
    ids=["open", "high", "low", "close-only"],
)
def test_non_positive_price_is_reported(override: dict[str, Any], field: str, shown: str) -> None:
    rows = [bar(0), bar(1, **override), bar(2)]

    report = check(rows)

    assert {issue.row for issue in report.issues} == {3}
    reasons = {i.reason for i in report.issues if i.field == field}
    assert f"price {shown} is not positive; prices must be > 0" in reasons
    good_rows_kept(report, [rows[0], rows[2]])


def test_every_non_positive_price_of_a_row_is_checked_in_field_order() -> None:
    # open, high, low, close all negative: the sign rule names the first offending field.
    rows = [bar(0), bar(1, open=-2.0, high=-1.0, low=-3.0, close=-2.0)]

    report = check(rows)

    assert where(report) == [(3, "open")]
    assert "price -2.0 is not positive" in report.issues[0].reason


def test_negative_volume_is_reported_and_zero_volume_is_valid() -> None:
    rows = [bar(0, volume=0.0), bar(1, volume=-5.0), bar(2, volume=None)]

    report = check(rows)

    issue = only_issue(report)
    assert (issue.row, issue.field) == (3, "volume")
    assert issue.reason == "volume -5.0 is negative"
    good_rows_kept(report, [rows[0], rows[2]])


# --- open/high/low ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given_fields",
    [("open",), ("high",), ("low",), ("open", "high"), ("open", "low"), ("high", "low")],
)
def test_partial_open_high_low_is_reported(given_fields: tuple[str, ...]) -> None:
    partial = {name: None for name in ("open", "high", "low") if name not in given_fields}
    rows = [bar(0), bar(1, **partial), bar(2)]

    report = check(rows)

    issue = only_issue(report)
    assert (issue.row, issue.field) == (3, "open/high/low")
    assert "must all be given, or all be empty for close-only data" in issue.reason
    good_rows_kept(report, [rows[0], rows[2]])


def test_close_only_rows_are_valid() -> None:
    rows = [
        bar(0, open=None, high=None, low=None, close=101.5, volume=None),
        bar(1, open=None, high=None, low=None, close=99.0, volume=12.0),
    ]

    report = check(rows)

    assert report.ok
    good_rows_kept(report, rows)
    assert report.valid.get_column("open").null_count() == 2


@pytest.mark.parametrize(
    ("ohlc", "reason"),
    [
        # max(open 10, close 10.5, low 9) = 10.5 > high 10.2
        ((10.0, 10.2, 9.0, 10.5), "high 10.2 is below open 10.0, close 10.5 or low 9.0"),
        # max(open 11, close 10.5, low 9) = 11 > high 10.8
        ((11.0, 10.8, 9.0, 10.5), "high 10.8 is below open 11.0, close 10.5 or low 9.0"),
    ],
    ids=["below-close", "below-open"],
)
def test_high_below_open_or_close_is_reported(
    ohlc: tuple[float, float, float, float], reason: str
) -> None:
    open_, high, low, close = ohlc
    rows = [bar(0), bar(1, open=open_, high=high, low=low, close=close), bar(2)]

    report = check(rows)

    issue = only_issue(report)
    assert (issue.row, issue.field) == (3, "high")
    assert issue.reason == reason
    good_rows_kept(report, [rows[0], rows[2]])


def test_low_above_high_breaks_both_ohlc_rules_on_one_line() -> None:
    # low 12 > high 11 (open 10.5, close 10.5): high breaks max(open, close, low) = 12 and low
    # breaks min(open, close) = 10.5, both on the same line.
    rows = [bar(0), bar(1, open=10.5, high=11.0, low=12.0, close=10.5)]

    report = check(rows)

    assert where(report) == [(3, "high"), (3, "low")]
    assert report.issues[0].reason == "high 11.0 is below open 10.5, close 10.5 or low 12.0"
    assert report.rejected_rows == 1
    good_rows_kept(report, [rows[0]])


@pytest.mark.parametrize(
    ("ohlc", "reason"),
    [
        # min(open 10, close 10.5) = 10 < low 10.2
        ((10.0, 11.0, 10.2, 10.5), "low 10.2 is above open 10.0 or close 10.5"),
        # min(open 10.8, close 10.1) = 10.1 < low 10.3
        ((10.8, 11.0, 10.3, 10.1), "low 10.3 is above open 10.8 or close 10.1"),
    ],
    ids=["above-open", "above-close"],
)
def test_low_above_open_or_close_is_reported(
    ohlc: tuple[float, float, float, float], reason: str
) -> None:
    open_, high, low, close = ohlc
    rows = [bar(0), bar(1, open=open_, high=high, low=low, close=close), bar(2)]

    report = check(rows)

    issue = only_issue(report)
    assert (issue.row, issue.field) == (3, "low")
    assert issue.reason == reason
    good_rows_kept(report, [rows[0], rows[2]])


def test_ohlc_equal_everywhere_is_valid() -> None:
    rows = [bar(0, open=5.0, high=5.0, low=5.0, close=5.0)]

    assert check(rows).ok


def test_relative_tolerance_lets_rounding_noise_pass_but_not_real_errors() -> None:
    close = 123.456
    rows = [
        # 1e-12 relative below close: inside the 1e-9 tolerance
        bar(0, open=120.0, high=close * (1 - 1e-12), low=119.0, close=close),
        # 1e-12 relative above min(open, close) = open 120: inside the tolerance
        bar(1, open=120.0, high=close, low=120.0 * (1 + 1e-12), close=close),
        # 1e-6 relative below close: an error (123.456 * (1 - 1e-6) = 123.455877 to 6 places)
        bar(2, open=120.0, high=close * (1 - 1e-6), low=119.0, close=close),
        # 1e-6 relative above open 120: an error (120 * (1 + 1e-6) = 120.00012)
        bar(3, open=120.0, high=close, low=120.0 * (1 + 1e-6), close=close),
    ]

    report = check(rows)

    assert where(report) == [(4, "high"), (5, "low")]
    assert report.issues[0].reason.startswith("high 123.455877 is below")
    assert report.issues[1].reason.startswith("low 120.00012 is above")
    good_rows_kept(report, rows[:2])


# --- duplicates and order --------------------------------------------------------------------


def test_duplicate_timestamp_is_reported_against_the_first_row() -> None:
    rows = [bar(0, close=10.1), bar(1, close=10.2), bar(1, close=10.3), bar(2), bar(1, close=10.4)]

    report = check(rows)

    # line 4 repeats line 3's timestamp; line 6 repeats it too, and is also out of order
    dup = [i for i in report.issues if "duplicate" in i.reason]
    assert [(i.row, i.field) for i in dup] == [(4, "ts"), (6, "ts")]
    for issue in dup:
        assert issue.reason == "duplicate timestamp 2024-01-03T00:00:00Z (first given at line 3)"
    assert {issue.row for issue in report.issues} == {4, 6}
    # the first occurrence (close 10.2) is the one kept
    good_rows_kept(report, [rows[0], rows[1], rows[3]])


def test_same_timestamp_for_another_symbol_or_interval_is_not_a_duplicate() -> None:
    rows = [bar(0), bar(0, symbol="MSFT"), bar(0, interval="1w"), bar(1), bar(1, symbol="MSFT")]

    report = check(rows)

    assert report.ok
    good_rows_kept(report, rows)


def test_out_of_order_timestamp_is_reported_at_the_row_that_goes_back() -> None:
    rows = [bar(0), bar(1), bar(3), bar(2, close=10.25), bar(4)]

    report = check(rows)

    issue = only_issue(report)
    assert (issue.row, issue.field) == (5, "ts")
    assert issue.reason == (
        "timestamp 2024-01-04T00:00:00Z is out of order; sort each symbol's rows by time"
    )
    good_rows_kept(report, [rows[0], rows[1], rows[2], rows[4]])


def test_newest_first_file_is_accepted_and_returned_oldest_first() -> None:
    closes = {4: 10.4, 3: 10.3, 2: 10.2, 1: 10.1, 0: 10.0}
    rows = [bar(n, close=close) for n, close in closes.items()]

    report = check(rows)

    assert report.ok
    assert valid_days(report) == [day(n) for n in range(5)]
    assert report.valid.get_column("close").to_list() == [10.0, 10.1, 10.2, 10.3, 10.4]


def test_order_is_judged_per_symbol_so_interleaved_symbols_are_fine() -> None:
    # AAPL ascending, MSFT descending, interleaved line by line
    rows = [bar(0), bar(9, symbol="MSFT"), bar(1), bar(8, symbol="MSFT"), bar(2)]

    report = check(rows)

    assert report.ok
    good_rows_kept(report, rows)


def test_newest_first_file_with_one_row_out_of_place_reports_that_row() -> None:
    rows = [bar(5), bar(4), bar(6), bar(3), bar(2)]

    report = check(rows)

    assert where(report) == [(4, "ts")]
    assert "2024-01-08T00:00:00Z is out of order" in report.issues[0].reason


def test_one_misplaced_row_at_the_start_does_not_reject_the_rest_of_the_file() -> None:
    # Lines 2, 3 are swapped; the other 4 steps go forward, so the file is ascending and only
    # line 3 (going back in time) is out of order. Regression: the first step used to set the
    # direction, which rejected every later line.
    rows = [bar(1), bar(0), bar(2), bar(3), bar(4), bar(5)]

    report = check(rows)

    assert where(report) == [(3, "ts")]
    assert "2024-01-02T00:00:00Z is out of order" in report.issues[0].reason
    assert report.rejected_rows == 1
    good_rows_kept(report, [rows[0], *rows[2:]])


def test_row_without_timestamp_does_not_hide_the_order_of_its_neighbours() -> None:
    # line 4 has no timestamp; line 5 (day 1) still comes after line 3 (day 2)
    rows = [bar(0), bar(2), bar(5, ts=None), bar(1), bar(3)]

    report = check(rows)

    assert where(report) == [(4, "ts"), (5, "ts")]
    assert "missing" in report.issues[0].reason
    assert "2024-01-03T00:00:00Z is out of order" in report.issues[1].reason
    good_rows_kept(report, [rows[0], rows[1], rows[4]])


# --- several problems, parse issues ----------------------------------------------------------


def test_every_problem_of_a_batch_is_reported_in_row_order_in_one_pass() -> None:
    rows = [
        bar(0),
        bar(1, close=None),  # line 3
        bar(2),
        bar(3, open=12.0, high=11.0),  # line 5: high 11 < open 12
        bar(4, volume=-1.0),  # line 6
        bar(5, low=None),  # line 7
        bar(6),
    ]

    report = check(rows)

    assert where(report) == [(3, "close"), (5, "high"), (6, "volume"), (7, "open/high/low")]
    assert report.rejected_rows == 4
    assert not report.ok
    good_rows_kept(report, [rows[0], rows[2], rows[6]])


def test_one_row_breaking_several_rules_is_rejected_once() -> None:
    rows = [bar(0), bar(1, high=8.0, low=10.2, volume=-3.0)]

    report = check(rows)

    # high 8 < max(10, 10.5, 10.2); low 10.2 > min(10, 10.5) = 10; volume < 0
    assert where(report) == [(3, "high"), (3, "low"), (3, "volume")]
    assert report.rejected_rows == 1


def test_parse_issues_are_reported_once_and_their_rows_rejected() -> None:
    # The provider could not read line 3's close (so it is null) nor line 5's date (null ts);
    # line 4 parsed but the provider flagged it (e.g. an invalid symbol it blanked).
    parse_issues = (
        Issue(location="prices.csv line 3", field="Close", row=3, reason="could not read 'x'"),
        Issue(location="prices.csv line 4", field="Symbol", row=4, reason="invalid symbol '$'"),
        Issue(location="prices.csv line 5", field="Date", row=5, reason="could not read 'y'"),
    )
    rows = [
        bar(0),
        bar(1, close=None),
        bar(2, symbol=""),
        bar(3, ts=None),
        bar(4, volume=-1.0),
        bar(5),
    ]

    report = check(rows, parse_issues=parse_issues)

    # The rule checks would call lines 3-5 "missing"; only the provider's issues are listed.
    assert report.issues[:3] == parse_issues
    assert where(report) == [(3, "Close"), (4, "Symbol"), (5, "Date"), (6, "volume")]
    assert report.rejected_rows == 4
    good_rows_kept(report, [rows[0], rows[5]])


def test_parse_issue_rejects_a_row_whose_parsed_values_look_fine() -> None:
    issue = Issue(location="prices.csv line 3", field="Volume", row=3, reason="unreadable")
    rows = [bar(0), bar(1), bar(2)]

    report = check(rows, parse_issues=(issue,))

    assert report.issues == (issue,)
    assert report.rejected_rows == 1
    good_rows_kept(report, [rows[0], rows[2]])


# --- properties ------------------------------------------------------------------------------

prices = st.floats(min_value=1e-4, max_value=1e6, allow_nan=False, allow_infinity=False)
volumes = st.floats(min_value=0.0, max_value=1e12, allow_nan=False, allow_infinity=False)


@st.composite
def consistent_ohlcv(draw: st.DrawFn) -> dict[str, float | None]:
    if draw(st.integers(0, 9)) == 0:  # about one row in ten is close-only
        return {"open": None, "high": None, "low": None, "close": draw(prices), "volume": None}
    low, first, second, high = sorted(draw(st.lists(prices, min_size=4, max_size=4)))
    if draw(st.booleans()):
        first, second = second, first
    return {"open": first, "high": high, "low": low, "close": second, "volume": draw(volumes)}


@st.composite
def consistent_rows(
    draw: st.DrawFn, *, symbols: tuple[str, ...], min_size: int
) -> list[dict[str, Any]]:
    """Rows of strictly increasing time per symbol, at least a minute apart."""
    minutes = sorted(
        draw(st.lists(st.integers(0, 500_000), min_size=min_size, max_size=40, unique=True))
    )
    rows = []
    for minute in minutes:
        rows.append(
            {
                "symbol": draw(st.sampled_from(symbols)),
                "interval": "1m",
                "ts": T0 + timedelta(minutes=minute),
                **draw(consistent_ohlcv()),
            }
        )
    return rows


@settings(max_examples=50, deadline=None)
@given(
    rows=consistent_rows(symbols=("AAPL", "MSFT", "BRK.B"), min_size=0), newest_first=st.booleans()
)
def test_consistent_bars_produce_no_issues_and_come_back_sorted(
    rows: list[dict[str, Any]], newest_first: bool
) -> None:
    if newest_first:
        rows = rows[::-1]

    report = check(rows)

    assert report.issues == ()
    assert report.rejected_rows == 0
    good_rows_kept(report, rows)


# kind -> (field reported, whether it needs a previous row)
CORRUPTIONS: dict[str, tuple[str, bool]] = {
    "missing_symbol": ("symbol", False),
    "missing_ts": ("ts", False),
    "missing_close": ("close", False),
    **{f"nan_{c}": (c, False) for c in (*PRICE_FIELDS, "volume")},
    **{f"inf_{c}": (c, False) for c in (*PRICE_FIELDS, "volume")},
    **{f"nonpositive_{c}": (c, False) for c in PRICE_FIELDS},
    "partial": ("open/high/low", False),
    "high_below": ("high", False),
    "low_above": ("low", False),
    "negative_volume": ("volume", False),
    "duplicate_ts": ("ts", True),
    "out_of_order": ("ts", True),
}


NEEDS_OHLC = {"partial", "high_below", "low_above"} | {
    f"{kind}_{name}" for kind in ("nan", "inf", "nonpositive") for name in ("open", "high", "low")
}


def corrupt(rows: list[dict[str, Any]], index: int, kind: str) -> None:
    row = rows[index]
    if row["open"] is None and kind in NEEDS_OHLC:
        # close-only row: give it a full, consistent OHLC first so the corruption applies
        row.update(open=row["close"], high=row["close"] * 2, low=row["close"] / 2)
    if kind == "missing_symbol":
        row["symbol"] = None
    elif kind == "missing_ts":
        row["ts"] = None
    elif kind == "missing_close":
        row["close"] = None
    elif kind.startswith(("nan_", "inf_")):
        row[kind[4:]] = math.nan if kind.startswith("nan") else math.inf
    elif kind.startswith("nonpositive_"):
        row[kind.removeprefix("nonpositive_")] = -1.0
    elif kind == "partial":
        row["open"] = None
    elif kind == "high_below":
        row["high"] = max(row["open"], row["close"], row["low"]) * 0.99
    elif kind == "low_above":
        row["low"] = min(row["open"], row["close"]) * 1.01
    elif kind == "negative_volume":
        row["volume"] = -((row["volume"] or 0.0) + 1.0)
    elif kind == "duplicate_ts":
        row["ts"] = rows[index - 1]["ts"]
    elif kind == "out_of_order":
        # a second before the previous row, still after the one before it (rows are >= 1 min
        # apart), so exactly one step goes back in time
        row["ts"] = rows[index - 1]["ts"] - timedelta(seconds=1)
    else:  # pragma: no cover - the kinds are listed above
        raise AssertionError(kind)


@settings(max_examples=50, deadline=None)
@given(
    rows=consistent_rows(symbols=("AAPL",), min_size=3),
    kind=st.sampled_from(sorted(CORRUPTIONS)),
    data=st.data(),
)
def test_one_corrupted_row_is_reported_at_exactly_that_row(
    rows: list[dict[str, Any]], kind: str, data: st.DataObject
) -> None:
    field, needs_previous = CORRUPTIONS[kind]
    index = data.draw(st.integers(1 if needs_previous else 0, len(rows) - 1), label="index")
    good = [dict(row) for i, row in enumerate(rows) if i != index]
    corrupt(rows, index, kind)
    line = index + 2

    report = check(rows)

    assert {issue.row for issue in report.issues} == {line}
    assert field in {issue.field for issue in report.issues}
    assert all(issue.location == f"prices.csv line {line}" for issue in report.issues)
    assert report.rejected_rows == 1
    good_rows_kept(report, good)
