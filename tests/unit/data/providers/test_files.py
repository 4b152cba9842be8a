"""Reading CSV and Parquet price files: columns, symbols, dates, time zones, adjustment, errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.data.ports import BarBatch, FetchRequest
from quantdesk.data.providers.files import FileMapping, FileProvider
from quantdesk.data.validation import validate_batch
from quantdesk.domain import AssetClass, Instrument, Interval


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def read(path: Path, **mapping: Any) -> BarBatch:
    return FileProvider([path], FileMapping(**mapping)).read(path)


def column(batch: BarBatch, name: str) -> list[Any]:
    return batch.bars.get_column(name).to_list()


def where(issues: tuple[Issue, ...]) -> list[tuple[str, str | None]]:
    return sorted((issue.location, issue.field) for issue in issues)


# --- columns ---------------------------------------------------------------------------------

YAHOO_ROWS = "2024-01-04,182.15,183.09,180.88,181.91,181.18,71983600\n"
YAHOO_ROWS += "2024-01-05,181.99,182.76,180.17,181.18,180.45,62303300\n"


@pytest.mark.parametrize(
    "header",
    [
        "Date,Open,High,Low,Close,Adj Close,Volume",
        "date,OPEN,high,LOW,close,adj_close,VOLUME",
        "DATE,Open,HIGH,low,CLOSE,AdjClose,vol",
        "Timestamp,o,h,l,c,Adjusted Close,v",
    ],
)
def test_columns_are_found_by_name_in_any_case(tmp_path: Path, header: str) -> None:
    path = write(tmp_path, "aapl.csv", header + "\n" + YAHOO_ROWS)

    batch = read(path)

    assert batch.source == "aapl.csv"
    assert batch.row_label == "line"
    assert batch.parse_issues == ()
    assert batch.bars.columns == [
        "symbol",
        "interval",
        "ts",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "row",
    ]
    assert column(batch, "symbol") == ["AAPL", "AAPL"]
    assert column(batch, "interval") == ["1d", "1d"]
    assert column(batch, "ts") == [utc(2024, 1, 4), utc(2024, 1, 5)]
    assert column(batch, "open") == [182.15, 181.99]
    assert column(batch, "high") == [183.09, 182.76]
    assert column(batch, "low") == [180.88, 180.17]
    # without adjust=True the published close is kept, not the adjusted one
    assert column(batch, "close") == [181.91, 181.18]
    assert column(batch, "volume") == [71983600.0, 62303300.0]
    assert column(batch, "row") == [2, 3]  # CSV lines: the header is line 1


def test_explicit_mapping_wins_over_names_found_by_alias(tmp_path: Path) -> None:
    # "Date" and "Close" would be found by alias; the mapping points elsewhere.
    path = write(
        tmp_path,
        "export.csv",
        "Date,TradeDate,Close,Last,Shares\n"
        "2023-12-29,2024-01-04,1.0,181.91,500\n"
        "2023-12-29,2024-01-05,2.0,181.18,600\n",
    )
    mapping = {"ts": "TradeDate", "close": "Last", "volume": "Shares"}

    batch = read(path, columns=mapping, symbol="AAPL")

    assert column(batch, "ts") == [utc(2024, 1, 4), utc(2024, 1, 5)]
    assert column(batch, "close") == [181.91, 181.18]
    assert column(batch, "volume") == [500.0, 600.0]
    assert "open" not in batch.bars.columns


def test_close_only_file_is_read_and_validates(tmp_path: Path) -> None:
    path = write(tmp_path, "spx.csv", "Date,Close\n2024-01-04,4688.68\n2024-01-05,4697.24\n")

    report = validate_batch(read(path))

    assert report.ok
    assert report.valid.get_column("close").to_list() == [4688.68, 4697.24]
    assert report.valid.get_column("open").to_list() == [None, None]
    assert report.valid.get_column("symbol").to_list() == ["SPX", "SPX"]


def test_other_delimiter(tmp_path: Path) -> None:
    path = write(tmp_path, "sap.csv", "Date;Close;Volume\n2024-01-05;182.5;1000\n")

    batch = read(path, delimiter=";")

    assert column(batch, "close") == [182.5]
    assert column(batch, "volume") == [1000.0]


# --- symbols ---------------------------------------------------------------------------------


def test_symbol_from_a_symbol_column_is_normalised(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "prices.csv",
        "Ticker,Date,Close\n msft ,2024-01-04,370.0\nbrk.b,2024-01-04,362.5\n",
    )

    # the column wins over a configured symbol, which is only for files without one
    batch = read(path, symbol="IBM")

    assert column(batch, "symbol") == ["MSFT", "BRK.B"]
    assert batch.parse_issues == ()


def test_symbol_from_the_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "prices.csv", "Date,Close\n2024-01-04,362.5\n")

    assert column(read(path, symbol="brk.b"), "symbol") == ["BRK.B"]


def test_symbol_from_the_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, "aapl.csv", "Date,Close\n2024-01-04,181.91\n2024-01-05,181.18\n")

    assert column(read(path), "symbol") == ["AAPL", "AAPL"]


def test_invalid_symbol_is_reported_on_each_of_its_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "prices.csv",
        "Symbol,Date,Close\n"
        "AAPL,2024-01-04,1\n"  # line 2
        "BAD SYMBOL!,2024-01-04,2\n"  # line 3
        "aapl,2024-01-05,3\n"  # line 4
        "BAD SYMBOL!,2024-01-05,4\n"  # line 5
        ",2024-01-08,5\n",  # line 6: no symbol at all, a validation matter
    )

    batch = read(path)

    assert where(batch.parse_issues) == [
        ("prices.csv line 3", "Symbol"),
        ("prices.csv line 5", "Symbol"),
    ]
    for issue in batch.parse_issues:
        assert "invalid symbol 'BAD SYMBOL!'" in issue.reason

    report = validate_batch(batch)

    # lines 3 and 5 once each (not again as "symbol is missing"), line 6 by the rule checks
    assert [(issue.row, issue.field) for issue in report.issues] == [
        (3, "Symbol"),
        (5, "Symbol"),
        (6, "symbol"),
    ]
    assert report.issues[2].location == "prices.csv line 6"
    assert report.issues[2].reason == "is missing"
    assert report.valid.get_column("symbol").to_list() == ["AAPL", "AAPL"]
    assert report.valid.get_column("close").to_list() == [1.0, 3.0]


def test_instruments_are_described_when_asked(tmp_path: Path) -> None:
    path = write(tmp_path, "prices.csv", "Symbol,Date,Close\nsap,2024-01-04,1\nSIE,2024-01-04,2\n")
    provider = FileProvider(
        [path], instrument={"currency": "eur", "exchange": "XETRA", "asset_class": "equity"}
    )

    batch = provider.read(path)

    assert batch.instruments == (
        Instrument(
            symbol="SAP",
            name="SAP",
            asset_class=AssetClass.EQUITY,
            currency="EUR",
            exchange="XETRA",
            source="csv",
        ),
        Instrument(symbol="SIE", name="SIE", currency="EUR", exchange="XETRA", source="csv"),
    )
    assert FileProvider([path]).read(path).instruments == ()


# --- dates -----------------------------------------------------------------------------------

# 2024-01-01 00:00 UTC is epoch second 1_704_067_200 (19_723 days * 86_400: 54 years of 365 days
# plus 13 leap days 1972..2020). 2024-01-05 = +4 days = 1_704_412_800;
# 09:30 that day = +34_200 s = 1_704_447_000; 2024-01-08 = +3 days = 1_704_672_000.
DATE_CASES = [
    ("iso-date", ("2024-01-05", "2024-01-08"), {}, Interval.D1, [(2024, 1, 5), (2024, 1, 8)]),
    (
        "iso-datetime-T",
        ("2024-01-05T09:30:00", "2024-01-05T09:31:00"),
        {},
        Interval.M1,
        [(2024, 1, 5, 9, 30), (2024, 1, 5, 9, 31)],
    ),
    (
        "iso-datetime-space-minutes",
        ("2024-01-05 09:30", "2024-01-05 09:31"),
        {},
        Interval.M1,
        [(2024, 1, 5, 9, 30), (2024, 1, 5, 9, 31)],
    ),
    (
        # 09:30 at UTC-5 is 14:30 UTC
        "iso-datetime-offset",
        ("2024-01-05T09:30:00-05:00", "2024-01-05T09:31:00-05:00"),
        {},
        Interval.M1,
        [(2024, 1, 5, 14, 30), (2024, 1, 5, 14, 31)],
    ),
    ("yyyymmdd", ("20240105", "20240108"), {}, Interval.D1, [(2024, 1, 5), (2024, 1, 8)]),
    ("us-slashes", ("01/05/2024", "01/08/2024"), {}, Interval.D1, [(2024, 1, 5), (2024, 1, 8)]),
    ("dotted", ("05.01.2024", "08.01.2024"), {}, Interval.D1, [(2024, 1, 5), (2024, 1, 8)]),
    (
        "epoch-seconds",
        ("1704447000", "1704447060"),
        {},
        Interval.M1,
        [(2024, 1, 5, 9, 30), (2024, 1, 5, 9, 31)],
    ),
    (
        "epoch-milliseconds",
        ("1704447000000", "1704447060000"),
        {},
        Interval.M1,
        [(2024, 1, 5, 9, 30), (2024, 1, 5, 9, 31)],
    ),
    (
        "epoch-seconds-daily",
        ("1704412800", "1704672000"),
        {},
        Interval.D1,
        [(2024, 1, 5), (2024, 1, 8)],
    ),
    (
        "explicit-day-first",
        ("05/01/2024", "08/01/2024"),
        {"date_format": "%d/%m/%Y"},
        Interval.D1,
        [(2024, 1, 5), (2024, 1, 8)],
    ),
    (
        "explicit-epoch",
        ("1704412800", "1704672000"),
        {"date_format": "epoch_s"},
        Interval.D1,
        [(2024, 1, 5), (2024, 1, 8)],
    ),
]


@pytest.mark.parametrize(
    ("values", "options", "interval", "expected"),
    [case[1:] for case in DATE_CASES],
    ids=[case[0] for case in DATE_CASES],
)
def test_date_formats(
    tmp_path: Path,
    values: tuple[str, str],
    options: dict[str, Any],
    interval: Interval,
    expected: list[tuple[int, ...]],
) -> None:
    path = write(tmp_path, "x.csv", f"Date,Close\n{values[0]},1\n{values[1]},2\n")

    batch = read(path, interval=interval, **options)

    assert batch.parse_issues == ()
    assert column(batch, "ts") == [utc(*parts) for parts in expected]
    assert batch.bars.schema["ts"] == pl.Datetime("us", "UTC")


def test_day_first_dates_need_an_explicit_format(tmp_path: Path) -> None:
    # Detection tries month-first: 05/01/2024 is May 1st unless told otherwise.
    path = write(tmp_path, "x.csv", "Date,Close\n05/01/2024,1\n08/01/2024,2\n")

    assert column(read(path), "ts") == [utc(2024, 5, 1), utc(2024, 8, 1)]


def test_unrecognisable_dates_raise_with_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "Date,Close\nyesterday,1\ntoday,2\n")

    with pytest.raises(
        ValidationError, match="could not recognise the dates in column 'Date'"
    ) as err:
        read(path)
    assert "first value 'yesterday'" in str(err.value)
    assert "--date-format" in str(err.value)


# --- time zones ------------------------------------------------------------------------------


def test_naive_intraday_times_are_read_in_the_zone_and_stored_in_utc(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "Date,Close\n2024-01-05 09:30,1\n2024-07-05 09:30,2\n")

    batch = read(path, interval=Interval.M1, timezone="America/New_York")

    # New York is UTC-5 in January (EST) and UTC-4 in July (EDT)
    assert column(batch, "ts") == [utc(2024, 1, 5, 14, 30), utc(2024, 7, 5, 13, 30)]


def test_intraday_times_with_an_offset_ignore_the_configured_zone(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "Date,Close\n2024-01-05T09:30:00-05:00,1\n")

    batch = read(path, interval=Interval.M1, timezone="Asia/Tokyo")

    assert column(batch, "ts") == [utc(2024, 1, 5, 14, 30)]


def test_daily_bars_keep_their_session_date(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "Date,Close\n2024-01-05,1\n2024-07-05,2\n")

    batch = read(path, timezone="America/New_York")

    # not 05:00 / 04:00 UTC: a daily bar is its date, at midnight UTC
    assert column(batch, "ts") == [utc(2024, 1, 5), utc(2024, 7, 5)]


def test_daily_bars_with_times_keep_the_date_as_written(tmp_path: Path) -> None:
    # 21:00 in New York is 02:00 UTC the next day; the session is still Jan 5
    path = write(tmp_path, "x.csv", "Date,Close\n2024-01-05 21:00:00,1\n")

    batch = read(path, timezone="America/New_York")

    assert column(batch, "ts") == [utc(2024, 1, 5)]


@pytest.mark.parametrize(
    "written",
    [
        "2024-01-05T00:00:00+09:00",  # Tokyo midnight is 15:00 UTC on Jan 4
        "2024-01-05T20:00:00-05:00",  # 20:00 New York is 01:00 UTC on Jan 6
    ],
)
def test_daily_bars_with_an_offset_keep_the_date_as_written(tmp_path: Path, written: str) -> None:
    # yfinance exports daily bars as local midnight with an offset; the session date counts.
    path = write(tmp_path, "x.csv", f"Date,Close\n{written},1\n")

    assert column(read(path), "ts") == [utc(2024, 1, 5)]


def test_daylight_saving_gaps_are_reported_and_overlaps_take_the_first(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x.csv",
        "Date,Close\n"
        "2024-03-10 02:30,1\n"  # line 2: clocks jump 02:00 -> 03:00, this time does not exist
        "2024-11-03 01:30,2\n",  # line 3: happens twice; the first is EDT (UTC-4)
    )

    batch = read(path, interval=Interval.M1, timezone="America/New_York")

    assert where(batch.parse_issues) == [("x.csv line 2", "Date")]
    assert "could not read '2024-03-10 02:30' as a date/time" in batch.parse_issues[0].reason
    assert column(batch, "ts") == [None, utc(2024, 11, 3, 5, 30)]


# --- numbers and adjustment ------------------------------------------------------------------


def test_adjusted_prices_scale_ohlc_and_keep_volume(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x.csv",
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-01-04,98,102,96,100,50,1000\n"  # factor 50/100 = 0.5
        "2024-01-05,196,204,192,200,150,2000\n",  # factor 150/200 = 0.75
    )

    batch = read(path, adjust=True)

    assert column(batch, "open") == [49.0, 147.0]  # 98*0.5, 196*0.75
    assert column(batch, "high") == [51.0, 153.0]  # 102*0.5, 204*0.75
    assert column(batch, "low") == [48.0, 144.0]  # 96*0.5, 192*0.75
    assert column(batch, "close") == [50.0, 150.0]  # the adjusted close itself
    assert column(batch, "volume") == [1000.0, 2000.0]
    assert validate_batch(batch).ok


def test_adjusted_prices_without_an_adjusted_column_raise_with_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "Date,Close\n2024-01-04,100\n")

    with pytest.raises(ValidationError) as err:
        read(path, adjust=True)
    message = str(err.value)
    assert message.startswith("x.csv: adjusted prices were requested")
    assert "adj_close=<column>" in message
    assert "turn adjustment off" in message


def test_thousands_separators_in_quoted_fields(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x.csv",
        'Date,Close,Volume\n2024-01-04,"1,234.5","1,000,000"\n2024-01-05," 12,345.25 ",900\n',
    )

    batch = read(path)

    assert batch.parse_issues == ()
    assert column(batch, "close") == [1234.5, 12345.25]
    assert column(batch, "volume") == [1_000_000.0, 900.0]


def test_decimal_comma_is_reported_not_misread(tmp_path: Path) -> None:
    # "1,5" is not a thousands-separated number; reading it as 15 would be silently wrong.
    path = write(tmp_path, "x.csv", 'Date,Close\n2024-01-04,"1,5"\n2024-01-05,"1,234"\n')

    batch = read(path)

    assert where(batch.parse_issues) == [("x.csv line 2", "Close")]
    assert batch.parse_issues[0].reason == "could not read '1,5' as a number"
    assert column(batch, "close") == [None, 1234.0]


def test_unreadable_values_are_reported_with_their_csv_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "prices.csv",
        "Date,Open,High,Low,Close,Volume\n"
        "2024-01-04,10,11,9,10.5,100\n"  # line 2
        "2024-01-05,10,11,9,n/a,100\n"  # line 3
        "not a date,10,11,9,10.5,100\n"  # line 4
        "2024-01-08,10,11,9,10.5,lots\n"  # line 5
        "2024-01-09,10,11,9,10.5,100\n",  # line 6
    )

    batch = read(path)

    by_line = {issue.row: issue for issue in batch.parse_issues}
    assert sorted(by_line) == [3, 4, 5]
    assert (by_line[3].location, by_line[3].field) == ("prices.csv line 3", "Close")
    assert by_line[3].reason == "could not read 'n/a' as a number"
    assert (by_line[4].location, by_line[4].field) == ("prices.csv line 4", "Date")
    assert by_line[4].reason == "could not read 'not a date' as a date/time (%Y-%m-%d)"
    assert (by_line[5].location, by_line[5].field) == ("prices.csv line 5", "Volume")
    assert by_line[5].reason == "could not read 'lots' as a number"

    report = validate_batch(batch)

    # each bad line once (no "close is missing" for line 3, no "timestamp missing" for line 4)
    assert [issue.row for issue in report.issues] == [3, 4, 5]
    assert report.rejected_rows == 3
    assert report.valid.get_column("ts").to_list() == [utc(2024, 1, 4), utc(2024, 1, 9)]


def test_empty_cells_are_not_parse_errors_but_fail_validation(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "prices.csv",
        "Date,Open,High,Low,Close,Volume\n"
        "2024-01-02,10,11,9,10.5,100\n"  # line 2
        "2024-01-03,10,9.5,9,10.5,100\n"  # line 3: high 9.5 below close 10.5
        "2024-01-04,10,11,9,,100\n"  # line 4: no close
        "2024-01-05,10,11,9,abc,100\n"  # line 5: unreadable close
        "2024-01-08,10,11,9,10.5,-7\n"  # line 6: negative volume
        "2024-01-09,10,11,,10.5,100\n",  # line 7: low missing, open and high given
    )

    batch = read(path)
    report = validate_batch(batch)

    assert where(batch.parse_issues) == [("prices.csv line 5", "Close")]
    assert [(issue.location, issue.field) for issue in report.issues] == [
        ("prices.csv line 3", "high"),
        ("prices.csv line 4", "close"),
        ("prices.csv line 5", "Close"),
        ("prices.csv line 6", "volume"),
        ("prices.csv line 7", "open/high/low"),
    ]
    assert report.issues[0].reason == "high 9.5 is below open 10.0, close 10.5 or low 9.0"
    assert report.valid.get_column("ts").to_list() == [utc(2024, 1, 2)]


# --- Parquet ---------------------------------------------------------------------------------


def test_parquet_problems_are_reported_by_row(tmp_path: Path) -> None:
    path = tmp_path / "prices.parquet"
    pl.DataFrame(
        {"Date": ["2024-01-04", "bad", "2024-01-08"], "Close": ["10.5", "11", "x"]}
    ).write_parquet(path)

    batch = read(path)

    assert batch.row_label == "row"
    assert column(batch, "row") == [1, 2, 3]
    assert where(batch.parse_issues) == [
        ("prices.parquet row 2", "Date"),
        ("prices.parquet row 3", "Close"),
    ]
    report = validate_batch(batch)
    assert [issue.location for issue in report.issues] == [
        "prices.parquet row 2",
        "prices.parquet row 3",
    ]
    assert report.valid.get_column("close").to_list() == [10.5]


def test_parquet_naive_datetimes_are_read_in_the_zone(tmp_path: Path) -> None:
    path = tmp_path / "spy.parquet"
    pl.DataFrame(
        {
            "ts": [datetime(2024, 1, 5, 9, 30), datetime(2024, 7, 5, 9, 30)],
            "close": [470.0, 550.0],
        }
    ).write_parquet(path)

    batch = read(path, interval=Interval.M1, timezone="America/New_York")

    assert column(batch, "ts") == [utc(2024, 1, 5, 14, 30), utc(2024, 7, 5, 13, 30)]
    assert column(batch, "symbol") == ["SPY", "SPY"]


def test_parquet_naive_datetime_in_a_daylight_saving_gap_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "spy.parquet"
    pl.DataFrame(
        {"ts": [datetime(2024, 3, 10, 2, 30), datetime(2024, 3, 10, 3, 30)], "close": [1.0, 2.0]}
    ).write_parquet(path)

    batch = read(path, interval=Interval.M1, timezone="America/New_York")

    assert where(batch.parse_issues) == [("spy.parquet row 1", "ts")]
    # 03:30 EDT (UTC-4) is 07:30 UTC
    assert column(batch, "ts") == [None, utc(2024, 3, 10, 7, 30)]


def test_parquet_tz_aware_datetimes_keep_their_zone(tmp_path: Path) -> None:
    path = tmp_path / "spy.parquet"
    local = pl.Series("ts", [datetime(2024, 1, 5, 9, 30)]).dt.replace_time_zone("America/New_York")
    pl.DataFrame({"ts": local, "close": [470.0]}).write_parquet(path)

    # the configured zone is for naive times only
    batch = read(path, interval=Interval.M1, timezone="Asia/Tokyo")

    assert column(batch, "ts") == [utc(2024, 1, 5, 14, 30)]


def test_parquet_tz_aware_daily_bars_keep_their_local_date(tmp_path: Path) -> None:
    path = tmp_path / "toyota.parquet"
    local = pl.Series("Date", [datetime(2024, 1, 5), datetime(2024, 1, 9)]).dt.replace_time_zone(
        "Asia/Tokyo"
    )
    pl.DataFrame({"Date": local, "Close": [2800.0, 2850.0]}).write_parquet(path)

    batch = read(path)

    # midnight in Tokyo is 15:00 UTC the day before; the session date is what counts
    assert column(batch, "ts") == [utc(2024, 1, 5), utc(2024, 1, 9)]


def test_parquet_date_column(tmp_path: Path) -> None:
    path = tmp_path / "aapl.parquet"
    pl.DataFrame(
        {"Date": [date(2024, 1, 4), date(2024, 1, 5)], "Close": [181.91, 181.18]}
    ).write_parquet(path)

    batch = read(path)

    assert column(batch, "ts") == [utc(2024, 1, 4), utc(2024, 1, 5)]
    assert column(batch, "close") == [181.91, 181.18]
    assert batch.parse_issues == ()


@pytest.mark.parametrize(
    ("values", "options", "interval", "expected"),
    [
        # epoch seconds and milliseconds (see DATE_CASES for the arithmetic)
        ([1704447000, 1704447060], {}, Interval.M1, [(2024, 1, 5, 9, 30), (2024, 1, 5, 9, 31)]),
        (
            [1704447000000, 1704447060000],
            {},
            Interval.M1,
            [(2024, 1, 5, 9, 30), (2024, 1, 5, 9, 31)],
        ),
        ([20240105, 20240108], {}, Interval.D1, [(2024, 1, 5), (2024, 1, 8)]),
        (
            [20240105, 20240108],
            {"date_format": "%Y%m%d"},
            Interval.D1,
            [(2024, 1, 5), (2024, 1, 8)],
        ),
    ],
    ids=["epoch-s", "epoch-ms", "yyyymmdd", "yyyymmdd-explicit"],
)
def test_parquet_integer_dates(
    tmp_path: Path,
    values: list[int],
    options: dict[str, Any],
    interval: Interval,
    expected: list[tuple[int, ...]],
) -> None:
    path = tmp_path / "x.parquet"
    pl.DataFrame({"ts": values, "close": [1.0, 2.0]}).write_parquet(path)

    batch = read(path, interval=interval, **options)

    assert batch.parse_issues == ()
    assert column(batch, "ts") == [utc(*parts) for parts in expected]


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "missing"),
    [("Date,Open,Volume", "close"), ("When,Close", "ts"), ("A,B", "ts, close")],
)
def test_missing_required_column_lists_the_columns_found(
    tmp_path: Path, header: str, missing: str
) -> None:
    path = write(tmp_path, "x.csv", header + "\n" + ",".join("1" * (header.count(",") + 1)) + "\n")

    with pytest.raises(ValidationError) as err:
        read(path)
    message = str(err.value)
    assert f"x.csv: no column found for {missing}; columns are {header.replace(',', ', ')}." in (
        message
    )
    assert "--map ts=TradeDate --map close=Last" in message


def test_mapping_to_a_missing_column_raises(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "Date,Close\n2024-01-04,1\n")

    with pytest.raises(ValidationError) as err:
        read(path, columns={"close": "Last"})
    assert str(err.value) == (
        "x.csv: column 'Last' mapped to close is not in the file; columns are Date, Close"
    )


def test_unknown_mapping_field_raises_value_error() -> None:
    with pytest.raises(ValueError, match=r"unknown field\(s\) in column mapping: price") as err:
        FileMapping(columns={"close": "Last", "price": "Close"})
    assert "map any of ts, open, high, low, close, adj_close, volume, symbol" in str(err.value)


def test_unknown_time_zone_raises_value_error() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        FileMapping(timezone="Mars/Olympus")


def test_bad_delimiter_raises_value_error() -> None:
    with pytest.raises(ValueError, match="single character"):
        FileMapping(delimiter="||")


def test_missing_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    provider = FileProvider([path])

    with pytest.raises(ValidationError, match=r"nope\.csv does not exist or is not a file"):
        provider.read(path)
    with pytest.raises(ValidationError, match="does not exist"):
        list(provider.fetch(FetchRequest()))


def test_unknown_file_type_raises(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"cannot tell the format of prices\.xlsx"):
        FileProvider([tmp_path / "prices.xlsx"])
    with pytest.raises(ValueError, match="at least one file"):
        FileProvider([])


# --- fetch -----------------------------------------------------------------------------------


def test_fetch_filters_by_symbol_and_half_open_time_range(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "prices.csv",
        "Symbol,Date,Close\n"
        "AAPL,2024-01-02,1\n"  # line 2
        "MSFT,2024-01-02,2\n"  # line 3  kept (start is inclusive)
        "AAPL,2024-01-03,3\n"  # line 4
        "MSFT,2024-01-03,4\n"  # line 5  kept
        "MSFT,2024-01-04,x\n"  # line 6  kept, unreadable close
        "MSFT,2024-01-05,6\n"  # line 7  dropped (end is exclusive)
        "AAPL,2024-01-04,y\n"  # line 8  dropped (other symbol), unreadable close
        "MSFT,garbage,8\n"  # line 9  kept: no time, so it cannot be filtered out
        "MSFT,2023-12-29,9\n",  # line 10 dropped (before start)
    )
    request = FetchRequest(symbols=("MSFT",), start=utc(2024, 1, 2), end=utc(2024, 1, 5))

    (batch,) = FileProvider([path]).fetch(request)

    assert column(batch, "row") == [3, 5, 6, 9]
    assert column(batch, "symbol") == ["MSFT"] * 4
    # only the problems of the lines in the batch; line 8 belongs to AAPL
    assert where(batch.parse_issues) == [
        ("prices.csv line 6", "Close"),
        ("prices.csv line 9", "Date"),
    ]

    report = validate_batch(batch)

    assert [issue.row for issue in report.issues] == [6, 9]
    assert report.valid.get_column("ts").to_list() == [utc(2024, 1, 2), utc(2024, 1, 3)]
    assert report.valid.get_column("close").to_list() == [2.0, 4.0]


def test_fetch_without_filters_yields_one_batch_per_file(tmp_path: Path) -> None:
    first = write(tmp_path, "aapl.csv", "Date,Close\n2024-01-04,1\n2024-01-05,2\n")
    second = tmp_path / "msft.parquet"
    pl.DataFrame({"Date": [date(2024, 1, 4)], "Close": [3.0]}).write_parquet(second)

    batches = list(FileProvider([first, second]).fetch(FetchRequest()))

    assert [b.source for b in batches] == ["aapl.csv", "msft.parquet"]
    assert [b.row_label for b in batches] == ["line", "row"]
    assert column(batches[0], "close") == [1.0, 2.0]
    assert column(batches[1], "symbol") == ["MSFT"]


def test_fetch_with_only_a_start(tmp_path: Path) -> None:
    path = write(tmp_path, "aapl.csv", "Date,Close\n2024-01-04,1\n2024-01-05,2\n2024-01-08,3\n")

    (batch,) = FileProvider([path]).fetch(FetchRequest(start=utc(2024, 1, 5)))

    assert column(batch, "close") == [2.0, 3.0]


def test_iso_timestamps_with_z_suffix_are_utc(tmp_path: Path) -> None:
    path = tmp_path / "z.csv"
    path.write_text("ts,close\n2024-01-05T14:31:00Z,10\n2024-01-05T14:32:00Z,11\n")
    provider = FileProvider(
        [path], FileMapping(symbol="Z", interval=Interval.M1, timezone="America/New_York")
    )
    batch = provider.read(path)
    assert batch.parse_issues == ()
    # "Z" means UTC: the New York default zone for naive times must not shift these.
    assert batch.bars.get_column("ts").to_list() == [
        datetime(2024, 1, 5, 14, 31, tzinfo=UTC),
        datetime(2024, 1, 5, 14, 32, tzinfo=UTC),
    ]
