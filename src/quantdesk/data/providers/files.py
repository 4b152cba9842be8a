"""CSV and Parquet files as a market-data source.

Columns are found by name (``Date``/``Datetime``/``Timestamp``, ``Open``, ``High``, ``Low``,
``Close``, ``Adj Close``, ``Volume``, ``Symbol``/``Ticker``, any case) or mapped explicitly.
Dates are read with an explicit ``date_format`` or the common format most values fit (ISO 8601,
``YYYYMMDD``, ``MM/DD/YYYY``, ``DD.MM.YYYY``, epoch seconds or milliseconds). Naive intraday
timestamps are read in ``timezone`` and stored in UTC; daily and coarser bars keep their
session date. With ``adjust=True`` open, high, low and close are scaled by
``adjusted close / close`` (split and dividend adjustment); volume is left as published.

Every value that cannot be read is reported with its file, line (CSV, header is line 1) or row
(Parquet) and field, never silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.data.frames import ROW_COLUMN, TS_TYPE
from quantdesk.data.ports import BarBatch, FetchRequest
from quantdesk.domain import AssetClass, Instrument, Interval, normalize_symbol

FileFormat = Literal["csv", "parquet"]

_ALIASES: dict[str, tuple[str, ...]] = {
    "ts": ("date", "datetime", "timestamp", "time", "ts", "tradedate", "day"),
    "open": ("open", "o", "openprice"),
    "high": ("high", "h", "highprice"),
    "low": ("low", "l", "lowprice"),
    "close": ("close", "c", "closeprice", "last", "price"),
    "adj_close": ("adjclose", "adjustedclose", "adjcloseprice", "closeadj"),
    "volume": ("volume", "vol", "v"),
    "symbol": ("symbol", "ticker", "code", "instrument"),
}
_CANONICAL = tuple(_ALIASES)
_NUMERIC = ("open", "high", "low", "close", "adj_close", "volume")
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y%m%d",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M",
)
EPOCH_FORMATS = ("epoch_s", "epoch_ms")


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


@dataclass(frozen=True, slots=True)
class FileMapping:
    """How to read a price file.

    Parameters
    ----------
    columns
        Explicit mapping from quantdesk field (``ts, open, high, low, close, adj_close,
        volume, symbol``) to the file's column name; unmapped fields are found by name.
    symbol
        Symbol for files without a symbol column; defaults to the file name (``AAPL.csv``).
    interval
        Interval of the bars in the file.
    date_format
        A strftime-style format (``%d/%m/%Y``), ``epoch_s`` or ``epoch_ms``; detected when
        ``None``.
    timezone
        IANA zone of naive intraday timestamps (``America/New_York``).
    adjust
        Scale OHLC by adjusted close / close; needs an adjusted-close column.
    delimiter
        CSV field separator.
    """

    columns: Mapping[str, str] = field(default_factory=dict)
    symbol: str | None = None
    interval: Interval = Interval.D1
    date_format: str | None = None
    timezone: str = "UTC"
    adjust: bool = False
    delimiter: str = ","

    def __post_init__(self) -> None:
        unknown = sorted(set(self.columns) - set(_CANONICAL))
        if unknown:
            raise ValueError(
                f"unknown field(s) in column mapping: {', '.join(unknown)}; "
                f"map any of {', '.join(_CANONICAL)}"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {self.timezone!r}; use an IANA name like America/New_York"
            ) from None
        if len(self.delimiter) != 1:
            raise ValueError("delimiter must be a single character")


class FileProvider:
    """Read bars from CSV or Parquet files, one batch per file."""

    def __init__(
        self,
        paths: Sequence[Path | str],
        mapping: FileMapping | None = None,
        *,
        file_format: FileFormat | None = None,
        instrument: Mapping[str, str] | None = None,
    ) -> None:
        if not paths:
            raise ValueError("give at least one file to read")
        self._paths = [Path(p) for p in paths]
        self._mapping = mapping or FileMapping()
        self._format = file_format
        self._instrument = dict(instrument or {})
        self.name: str = file_format or _format_of(self._paths[0])

    def fetch(self, request: FetchRequest) -> Iterator[BarBatch]:
        """Yield one batch per file, filtered to the request's symbols and time range."""
        for path in self._paths:
            batch = self.read(path)
            frame = batch.bars
            if request.symbols:
                frame = frame.filter(pl.col("symbol").is_in(list(request.symbols)))
            if request.start is not None:
                frame = frame.filter(pl.col("ts").is_null() | (pl.col("ts") >= request.start))
            if request.end is not None:
                frame = frame.filter(pl.col("ts").is_null() | (pl.col("ts") < request.end))
            # Only the problems of rows still in the batch: a bad line of another symbol or
            # outside the range is not part of this request.
            kept = set(frame.get_column(ROW_COLUMN).to_list())
            yield BarBatch(
                source=batch.source,
                bars=frame,
                instruments=batch.instruments,
                row_label=batch.row_label,
                parse_issues=tuple(
                    issue for issue in batch.parse_issues if issue.row is None or issue.row in kept
                ),
            )

    def read(self, path: Path) -> BarBatch:
        """Read one file into an unvalidated batch."""
        if not path.is_file():
            raise ValidationError(f"{path} does not exist or is not a file")
        file_format = self._format or _format_of(path)
        label = "line" if file_format == "csv" else "row"
        first_row = 2 if file_format == "csv" else 1
        raw = _read_raw(path, file_format, self._mapping.delimiter)
        raw = raw.with_row_index(ROW_COLUMN, offset=first_row).with_columns(
            pl.col(ROW_COLUMN).cast(pl.Int64)
        )
        columns = _resolve_columns(path, raw.columns, self._mapping)
        source = path.name
        issues: list[Issue] = []

        def issue(row: int, field_name: str, reason: str) -> None:
            issues.append(
                Issue(location=f"{source} {label} {row}", field=field_name, row=row, reason=reason)
            )

        exprs: list[pl.Expr] = [pl.col(ROW_COLUMN)]
        for name in _NUMERIC:
            if name in columns:
                exprs.append(_number(raw, columns[name]).alias(name))
        ts_expr, ts_format = _timestamp(raw, columns["ts"], self._mapping, path)
        exprs.append(ts_expr.alias("ts"))
        if "symbol" in columns:
            exprs.append(pl.col(columns["symbol"]).cast(pl.String).str.strip_chars().alias("sym"))
        else:
            exprs.append(pl.lit(self._mapping.symbol or path.stem).alias("sym"))
        parsed = raw.select(exprs)

        for name in (*_NUMERIC, "ts"):
            if name not in columns:
                continue
            source_col = columns[name]
            bad = raw.select(ROW_COLUMN, pl.col(source_col).alias("raw")).filter(
                parsed.get_column(name).is_null()
                & pl.col("raw").is_not_null()
                & (pl.col("raw").cast(pl.String).str.strip_chars() != "")
            )
            for row, value in bad.iter_rows():
                what = "a number" if name != "ts" else f"a date/time ({ts_format})"
                issue(row, source_col, f"could not read {value!r} as {what}")

        symbols: dict[str, str] = {}
        for raw_symbol in parsed.get_column("sym").drop_nulls().unique().to_list():
            try:
                symbols[raw_symbol] = normalize_symbol(raw_symbol)
            except ValueError as exc:
                symbols[raw_symbol] = ""
                for row in parsed.filter(pl.col("sym") == raw_symbol).get_column(ROW_COLUMN):
                    issue(row, columns.get("symbol", "symbol"), str(exc))
        parsed = parsed.with_columns(
            pl.col("sym").replace_strict(symbols, default=None, return_dtype=pl.String)
        )

        if self._mapping.adjust:
            if "adj_close" not in columns:
                raise ValidationError(
                    f"{source}: adjusted prices were requested but the file has no adjusted "
                    "close column; map one (adj_close=<column>) or turn adjustment off"
                )
            factor = pl.col("adj_close") / pl.col("close")
            parsed = parsed.with_columns(
                [
                    (pl.col(c) * factor).alias(c)
                    for c in ("open", "high", "low", "close")
                    if c in parsed.columns
                ]
            )

        bars = parsed.select(
            pl.col("sym").alias("symbol"),
            pl.lit(self._mapping.interval.value).alias("interval"),
            "ts",
            *[pl.col(c) for c in ("open", "high", "low", "close", "volume") if c in parsed.columns],
            ROW_COLUMN,
        )
        instruments = (
            tuple(self._instrument_for(s) for s in sorted(set(symbols.values()) - {""}))
            if self._instrument
            else ()
        )
        return BarBatch(
            source=source,
            bars=bars,
            instruments=instruments,
            row_label=label,
            parse_issues=tuple(issues),
        )

    def _instrument_for(self, symbol: str) -> Instrument:
        fields = self._instrument
        return Instrument(
            symbol=symbol,
            name=fields.get("name", symbol),
            asset_class=AssetClass(fields.get("asset_class", AssetClass.EQUITY.value)),
            currency=fields.get("currency", "USD"),
            exchange=fields.get("exchange"),
            sector=fields.get("sector"),
            source=fields.get("source", self.name),
        )


def _format_of(path: Path) -> FileFormat:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".csv", ".txt", ".tsv", ".gz"):
        return "csv"
    raise ValidationError(
        f"cannot tell the format of {path.name}; name it .csv or .parquet or give the format"
    )


def _read_raw(path: Path, file_format: FileFormat, delimiter: str) -> pl.DataFrame:
    try:
        if file_format == "parquet":
            return pl.read_parquet(path)
        return pl.read_csv(
            path,
            infer_schema=False,
            separator=delimiter,
            truncate_ragged_lines=False,
            raise_if_empty=False,
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ValidationError(f"{path.name} could not be read as {file_format}: {exc}") from exc


def _resolve_columns(path: Path, available: Sequence[str], mapping: FileMapping) -> dict[str, str]:
    by_key = {_key(c): c for c in available if c != ROW_COLUMN}
    resolved: dict[str, str] = {}
    for name in _CANONICAL:
        explicit = mapping.columns.get(name)
        if explicit is not None:
            if explicit not in available:
                raise ValidationError(
                    f"{path.name}: column {explicit!r} mapped to {name} is not in the file; "
                    f"columns are {', '.join(c for c in available if c != ROW_COLUMN)}"
                )
            resolved[name] = explicit
            continue
        for alias in _ALIASES[name]:
            if alias in by_key:
                resolved[name] = by_key[alias]
                break
    missing = [name for name in ("ts", "close") if name not in resolved]
    if missing:
        raise ValidationError(
            f"{path.name}: no column found for {', '.join(missing)}; columns are "
            f"{', '.join(c for c in available if c != ROW_COLUMN)}. Map them explicitly, "
            "e.g. --map ts=TradeDate --map close=Last"
        )
    return resolved


def _number(raw: pl.DataFrame, column: str) -> pl.Expr:
    dtype = raw.schema[column]
    if dtype == pl.String:
        text = pl.col(column).str.strip_chars()
        # Only commas between groups of three digits are thousands separators; a decimal comma
        # ("1,5") must be reported as unreadable, not read as 15.
        grouped = text.str.contains(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
        return (
            pl.when(grouped)
            .then(text.str.replace_all(",", ""))
            .otherwise(text)
            .cast(pl.Float64, strict=False)
        )
    return pl.col(column).cast(pl.Float64, strict=False)


def _timestamp(
    raw: pl.DataFrame, column: str, mapping: FileMapping, path: Path
) -> tuple[pl.Expr, str]:
    dtype = raw.schema[column]
    daily = not mapping.interval.is_intraday
    if isinstance(dtype, pl.Date):
        return pl.col(column).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"), "date"
    if isinstance(dtype, pl.Datetime):
        expr = pl.col(column).dt.cast_time_unit("us")
        if dtype.time_zone is None:
            expr = expr.dt.replace_time_zone(
                "UTC" if daily else mapping.timezone, ambiguous="earliest", non_existent="null"
            )
        return _finish(expr, daily), "datetime"
    if dtype.is_integer() or dtype.is_float():
        # Numbers are recognised like text: 13 digits are epoch ms, 8 digits YYYYMMDD.
        values = pl.col(column).cast(pl.Int64, strict=False).cast(pl.String)
    else:
        values = pl.col(column).cast(pl.String)
    # A trailing "Z" (ISO 8601 for UTC) reads as an explicit +00:00 offset.
    text = values.str.strip_chars().str.replace(r"(\d)Z$", "${1}+00:00")
    fmt = mapping.date_format or _detect_format(raw.select(text).to_series(), path, column)
    if fmt in EPOCH_FORMATS:
        return _epoch(text.cast(pl.Int64, strict=False), fmt, daily), fmt
    if "%z" in fmt and not daily:
        parsed = text.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC")
    else:
        if "%z" in fmt:
            # A daily bar is its session date as written, whatever the offset (+09:00 in Tokyo).
            text = text.str.replace(r"[+-]\d{2}:?\d{2}$", "")
        naive_fmt = fmt.replace("%z", "")
        parsed = text.str.to_datetime(naive_fmt, strict=False, time_unit="us").dt.replace_time_zone(
            "UTC" if daily else mapping.timezone, ambiguous="earliest", non_existent="null"
        )
    return _finish(parsed, daily), fmt


def _epoch(values: pl.Expr, unit: str, daily: bool) -> pl.Expr:
    scale: Literal["ms", "s"] = "ms" if unit == "epoch_ms" else "s"
    return _finish(pl.from_epoch(values, time_unit=scale).dt.replace_time_zone("UTC"), daily)


def _finish(expr: pl.Expr, daily: bool) -> pl.Expr:
    if daily:
        # A daily bar is its session date; keep the date as written in the file.
        return expr.dt.replace_time_zone(None).dt.truncate("1d").dt.replace_time_zone("UTC")
    return expr.dt.convert_time_zone("UTC").cast(TS_TYPE)


def _detect_format(values: pl.Series, path: Path, column: str) -> str:
    sample = values.drop_nulls().cast(pl.String).str.strip_chars()
    sample = sample.filter(sample != "").head(50)
    if sample.is_empty():
        return _DATE_FORMATS[0]
    # The format that reads the most values wins (ties: the earlier one), so one bad date is
    # reported on its own line instead of making the whole file unreadable.
    readable = {
        "epoch_ms": int(sample.str.contains(r"^\d{13}$").sum()),
        "epoch_s": int(sample.str.contains(r"^\d{9,10}$").sum()),
    }
    for fmt in _DATE_FORMATS:
        parsed = sample.str.to_datetime(fmt, strict=False, time_unit="us")
        readable[fmt] = len(sample) - parsed.null_count()
    best = max(readable, key=readable.__getitem__)
    if readable[best] > 0:
        return best
    raise ValidationError(
        f"{path.name}: could not recognise the dates in column {column!r} "
        f"(first value {sample[0]!r}); give the format, e.g. --date-format %d/%m/%Y"
    )
