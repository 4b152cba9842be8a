"""Row-level validation of incoming bars.

Every rule runs vectorised over the whole batch and reports each offending row with its source,
row number, field and reason, so a user can fix a 10-million-row file in one pass:

- required values present: symbol, timestamp, close;
- no NaN or infinite prices or volumes; prices strictly positive; volume not negative;
- open, high and low all present or all absent (close-only data);
- OHLC consistent: ``high >= max(open, close, low)`` and ``low <= min(open, close)`` (to a
  relative 1e-9, so rounding noise from price adjustment is not an error);
- no duplicate ``(symbol, interval, timestamp)``;
- timestamps of each symbol in order (ascending, or descending throughout for newest-first
  exports; anything else is out of order).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from quantdesk.core.errors import Issue
from quantdesk.data.frames import PRICE_COLUMNS, ROW_COLUMN, conform
from quantdesk.data.ports import BarBatch


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Valid bars (sorted by symbol, interval and time) and every issue found."""

    valid: pl.DataFrame
    issues: tuple[Issue, ...]
    rejected_rows: int

    @property
    def ok(self) -> bool:
        """Return whether no row was rejected."""
        return not self.issues


def validate_batch(batch: BarBatch) -> ValidationReport:
    """Check every row of ``batch`` and split it into valid bars and issues."""
    frame = batch.bars
    if ROW_COLUMN not in frame.columns:
        frame = frame.with_row_index(ROW_COLUMN, offset=1)
    frame = conform(frame, keep_row=True).sort(ROW_COLUMN)
    # Forward-fill so a row without a timestamp does not hide the order of its neighbours.
    step_frame = frame.with_columns(
        pl.col("ts")
        .forward_fill()
        .diff()
        .over(["symbol", "interval"])
        .dt.total_microseconds()
        .alias("_step")
    )
    checks = _rule_columns(batch.row_label)
    flagged = step_frame.with_columns(checks).filter(
        pl.any_horizontal([pl.col(name).is_not_null() for name in _RULE_NAMES])
    )
    unparsed = {issue.row for issue in batch.parse_issues if issue.row is not None}
    issues: list[Issue] = list(batch.parse_issues)
    rows = flagged.get_column(ROW_COLUMN).to_list()
    for rule in _RULE_NAMES:
        for row, message in zip(rows, flagged.get_column(rule).to_list(), strict=True):
            if message is not None and row not in unparsed:
                field, reason = message.split("\x1f", 1)
                issues.append(
                    Issue(
                        location=f"{batch.source} {batch.row_label} {row}",
                        field=field or None,
                        row=row,
                        reason=reason,
                    )
                )
    issues.sort(key=lambda issue: (issue.row or 0, issue.field or ""))
    bad_rows = set(rows) | unparsed
    valid = (
        frame.filter(~pl.col(ROW_COLUMN).is_in(list(bad_rows)))
        .sort(["symbol", "interval", "ts"])
        .drop(ROW_COLUMN)
    )
    return ValidationReport(valid=valid, issues=tuple(issues), rejected_rows=len(bad_rows))


#: Relative slack for OHLC comparisons, so float noise from price adjustment is not an error.
_TOLERANCE = 1e-9

_RULE_NAMES = (
    "_missing",
    "_nan",
    "_positive",
    "_partial",
    "_high",
    "_low",
    "_volume",
    "_duplicate",
    "_order",
)


def _msg(field: str, reason: pl.Expr | str) -> pl.Expr:
    reason_expr = pl.lit(reason) if isinstance(reason, str) else reason
    return pl.concat_str([pl.lit(field + "\x1f"), reason_expr])


def _first_match(conditions: list[tuple[pl.Expr, pl.Expr]]) -> pl.Expr:
    expr: pl.Expr | None = None
    for condition, message in reversed(conditions):
        base = pl.lit(None, dtype=pl.String) if expr is None else expr
        expr = pl.when(condition).then(message).otherwise(base)
    assert expr is not None
    return expr


def _fmt_ts() -> pl.Expr:
    return pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _fmt(column: str) -> pl.Expr:
    return pl.col(column).round(6).cast(pl.String)


def _rule_columns(row_label: str) -> list[pl.Expr]:
    ohl = ("open", "high", "low")
    group = ["symbol", "interval"]
    step = pl.col("_step")
    # The direction most steps take, so one misplaced row near the start of a file does not turn
    # every later row into an "out of order" one; ties count as ascending.
    direction = pl.when(step.sign().sum().over(group) < 0).then(-1).otherwise(1)
    first_row_of_ts = pl.col(ROW_COLUMN).min().over([*group, "ts"])

    missing = _first_match(
        [
            (pl.col("symbol").is_null() | (pl.col("symbol") == ""), _msg("symbol", "is missing")),
            (pl.col("ts").is_null(), _msg("ts", "timestamp is missing or could not be parsed")),
            (pl.col("close").is_null(), _msg("close", "is missing")),
        ]
    )
    nan = _first_match(
        [
            (pl.col(c).is_nan() | pl.col(c).is_infinite(), _msg(c, "is NaN or infinite"))
            for c in (*PRICE_COLUMNS, "volume")
        ]
    )
    positive = _first_match(
        [
            (
                pl.col(c) <= 0,
                _msg(c, pl.format("price {} is not positive; prices must be > 0", _fmt(c))),
            )
            for c in PRICE_COLUMNS
        ]
    )
    present = [pl.col(c).is_not_null() for c in ohl]
    partial = _first_match(
        [
            (
                pl.any_horizontal(present) & ~pl.all_horizontal(present),
                _msg(
                    "open/high/low",
                    "open, high and low must all be given, or all be empty for close-only data",
                ),
            )
        ]
    )
    high = _first_match(
        [
            (
                pl.col("high") < pl.max_horizontal("open", "close", "low") * (1 - _TOLERANCE),
                _msg(
                    "high",
                    pl.format(
                        "high {} is below open {}, close {} or low {}",
                        _fmt("high"),
                        _fmt("open"),
                        _fmt("close"),
                        _fmt("low"),
                    ),
                ),
            )
        ]
    )
    low = _first_match(
        [
            (
                pl.col("low") > pl.min_horizontal("open", "close") * (1 + _TOLERANCE),
                _msg(
                    "low",
                    pl.format(
                        "low {} is above open {} or close {}",
                        _fmt("low"),
                        _fmt("open"),
                        _fmt("close"),
                    ),
                ),
            )
        ]
    )
    volume = _first_match(
        [
            (
                pl.col("volume") < 0,
                _msg("volume", pl.format("volume {} is negative", _fmt("volume"))),
            )
        ]
    )
    duplicate = _first_match(
        [
            (
                pl.col("ts").is_not_null() & (pl.col(ROW_COLUMN) != first_row_of_ts),
                _msg(
                    "ts",
                    pl.format(
                        "duplicate timestamp {} (first given at " + row_label + " {})",
                        _fmt_ts(),
                        first_row_of_ts.cast(pl.String),
                    ),
                ),
            )
        ]
    )
    order = _first_match(
        [
            (
                (step != 0) & (step.sign() != direction),
                _msg(
                    "ts",
                    pl.format(
                        "timestamp {} is out of order; sort each symbol's rows by time",
                        _fmt_ts(),
                    ),
                ),
            )
        ]
    )
    return [
        missing.alias("_missing"),
        nan.alias("_nan"),
        positive.alias("_positive"),
        partial.alias("_partial"),
        high.alias("_high"),
        low.alias("_low"),
        volume.alias("_volume"),
        duplicate.alias("_duplicate"),
        order.alias("_order"),
    ]
