"""CSV import: the generic layout and the Schwab preset, with row-level issues."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from quantdesk.core.errors import ValidationError
from quantdesk.domain.portfolio import Transaction, TransactionType, quantize_money
from quantdesk.portfolio import ImportPreset, parse_transactions_csv, replay, validate

D = Decimal
T = TransactionType
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "imports"


def _read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_generic_good_file_parses() -> None:
    preview = parse_transactions_csv(_read("generic_good.csv"))
    assert preview.preset is ImportPreset.GENERIC
    assert preview.issues == ()
    assert preview.committable
    assert (preview.rows_read, preview.rows_ok, preview.rows_bad, preview.rows_ignored) == (
        10,
        10,
        0,
        0,
    )
    assert preview.row_numbers == tuple(range(2, 12))
    rows = preview.transactions
    assert rows[0] == Transaction(T.DEPOSIT, date(2024, 1, 2), None, D(10000), D(1), D(0),
                                  "USD", "initial funding")  # fmt: skip
    assert rows[1] == Transaction(T.BUY, date(2024, 1, 3), "AAPL", D(10), D("185.64"), D(1))
    assert rows[2].note == "Xetra, limit order"
    assert (rows[2].currency, rows[2].fees) == ("EUR", D("2.50"))
    assert rows[3].amount == D("2.40")  # 10 shares x 0.24
    assert (rows[4].type, rows[4].ratio, rows[4].price) == (T.SPLIT, 2, 0)
    assert (rows[5].quantity, rows[5].price) == (1, D("4.12"))  # empty quantity means 1
    assert rows[9].type is T.TRANSFER_IN
    assert rows[9].currency == "USD"
    state = replay(preview.to_commit())
    # AAPL: 10 bought, split to 20, 8 sold
    assert state.positions["AAPL"].quantity == 12
    # USD cash: 10000 - 1857.40 + (2.40 - 0.36) + 4.12 + (1360.80 - 1) - 15 - 500 = 8993.56
    assert state.cash["USD"] == D("8993.56")
    assert state.cash["EUR"] == D("-698.50")  # -(5 x 139.20 + 2.50)


def test_generic_bad_rows_are_reported_by_file_row() -> None:
    preview = parse_transactions_csv(_read("generic_bad.csv"))
    # line 1 header; 7-8 one quoted record over two lines; line 10 blank
    found = [(issue.row, issue.field) for issue in preview.issues]
    assert found == [
        (3, "date"),
        (4, "type"),
        (5, "symbol"),
        (6, "quantity"),
        (6, "currency"),
        (9, "price"),
        (11, "quantity"),
        (12, "price"),
    ]
    assert all(issue.location == f"row {issue.row}" for issue in preview.issues)
    reasons = {(issue.row, issue.field): issue.reason for issue in preview.issues}
    assert "use YYYY-MM-DD" in reasons[(3, "date")]
    assert "'purchase' is not a transaction type" in reasons[(4, "type")]
    assert "'1O1' is not a number" in reasons[(12, "price")]
    assert "enter the amount" in reasons[(11, "quantity")]
    assert preview.row_numbers == (2, 7)
    assert preview.transactions[1].note == "a note\nspanning two lines"
    assert (preview.rows_read, preview.rows_ok, preview.rows_bad) == (9, 2, 7)
    assert not preview.committable
    with pytest.raises(ValidationError, match="7 of 9 rows cannot be imported") as caught:
        preview.to_commit()
    assert len(caught.value.issues) == 8


def test_skip_bad_rows_commits_the_good_ones() -> None:
    preview = parse_transactions_csv(_read("generic_bad.csv"), skip_bad_rows=True)
    assert preview.committable
    assert len(preview.issues) == 8  # still reported
    assert [tx.type for tx in preview.to_commit()] == [T.DEPOSIT, T.BUY]


def test_context_checks_and_validate_with_file_rows() -> None:
    text = (
        "date,type,symbol,quantity,price,currency\n"
        "2024-01-02,buy,AAPL,1,100,USD\n"
        "2024-01-03,buy,ZZZZ,1,100,USD\n"
        "2030-01-01,buy,AAPL,1,100,\n"
        "2024-01-04,sell,AAPL,5,100,USD\n"
    )
    preview = parse_transactions_csv(text, as_of=date(2024, 6, 1), known_symbols={"AAPL"},
                                     currency="usd")  # fmt: skip
    assert [(issue.row, issue.field) for issue in preview.issues] == [
        (3, "symbol"),
        (4, "trade_date"),
    ]
    # holdings are checked against the stored ledger by validate, labelled by file row
    with pytest.raises(ValidationError) as caught:
        validate(
            preview.transactions,
            [],
            as_of=date(2024, 6, 1),
            known_symbols=None,
            row_numbers=preview.row_numbers,
        )
    (issue,) = caught.value.issues
    assert (issue.location, issue.row, issue.field) == ("row 5", 5, "quantity")


def test_file_level_problems_raise() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_transactions_csv("date,kind,symbol,qty,price,currency\n")
    assert {issue.field for issue in caught.value.issues} == {"type", "quantity"}
    assert caught.value.issues[0].location == "row 1"
    with pytest.raises(ValidationError, match="not UTF-8"):
        parse_transactions_csv(b"date,type\n\xff\xfe")
    with pytest.raises(ValidationError, match="no header"):
        parse_transactions_csv("\n\n")
    with pytest.raises(ValueError, match="xls"):
        parse_transactions_csv("a", preset="xls")


def test_schwab_sample_parses_to_the_expected_transactions() -> None:
    preview = parse_transactions_csv(_read("schwab_transactions.csv"), preset="schwab")
    assert preview.issues == ()
    # line 1 title, line 2 header, lines 3-13 transactions, line 14 the totals row
    assert preview.row_numbers == tuple(range(3, 14))
    assert (preview.rows_read, preview.rows_ok, preview.rows_ignored) == (12, 11, 1)
    usd = "USD"
    expected = [
        Transaction(T.INTEREST, date(2024, 6, 28), None, D(1), D("1.37"), D(0), usd,
                    "SCHWAB1 INT 05/30-06/27"),
        Transaction(T.SELL, date(2024, 6, 13), "MSFT", D(5), D("441.58"), D("0.03"), usd,
                    "MICROSOFT CORP (posted 06/14/2024)"),
        Transaction(T.DIVIDEND, date(2024, 5, 16), "AAPL", D(1), D("5.00"), D(0), usd,
                    "APPLE INC"),
        Transaction(T.FEE, date(2024, 5, 16), "AAPL", D(1), D("0.75"), D(0), usd, "APPLE INC"),
        Transaction(T.BUY, date(2024, 4, 2), "SCHD", D("0.4213"), D("78.41"), D(0), usd,
                    "SCHWAB US DIVIDEND EQUITY ETF"),
        Transaction(T.DIVIDEND, date(2024, 3, 27), "SCHD", D(1), D("33.03"), D(0), usd,
                    "SCHWAB US DIVIDEND EQUITY ETF"),
        Transaction(T.BUY, date(2024, 2, 12), "MSFT", D(10), D("415.26"), D(0), usd,
                    "MICROSOFT CORP"),
        Transaction(T.FEE, date(2024, 1, 31), None, D(1), D("2.00"), D(0), usd, "ADR MGMT FEE"),
        Transaction(T.BUY, date(2024, 1, 5), "SCHD", D(100), D("76.18"), D(0), usd,
                    "SCHWAB US DIVIDEND EQUITY ETF"),
        Transaction(T.BUY, date(2024, 1, 3), "AAPL", D(20), D("184.25"), D("0.00"), usd,
                    "APPLE INC"),
        Transaction(T.DEPOSIT, date(2024, 1, 2), None, D(1), D("20000.00"), D(0), usd,
                    "Tfr JPMORGAN CHASE BA, JANE DOE"),
    ]  # fmt: skip
    assert list(preview.transactions) == expected
    state = replay(preview.transactions)
    # the broker's own "Transactions Total" row: $6,755.89 (the reinvested 0.4213 x 78.41 =
    # 33.034133 is shown as 33.03; the ledger keeps full precision and rounds when shown)
    assert quantize_money(state.cash["USD"], "USD") == D("6755.89")
    assert state.positions["SCHD"].quantity == D("100.4213")


def test_schwab_rows_that_cannot_be_imported_say_why() -> None:
    header = '"Date","Action","Symbol","Description","Quantity","Price","Fees & Comm","Amount"\n'
    rows = [
        '"03/18/2024","Sell to Open","SMCI 03/22/2024 1010.00 C","CALL","1","$55.50","","$55"',
        '"06/10/2024","Stock Split","NVDA","NVIDIA CORP","90","","",""',
        '"06/11/2024","Mystery","","?","","","","$1.00"',
        '"06/12/2024","Buy","AAPL","APPLE INC","10","$100.00","$1.00","-$1000.00"',
        '"13/40/2024","Buy","AAPL","APPLE INC","1","$1.00","","-$1.00"',
        '"06/13/2024","Cash Dividend","AAPL","REVERSAL","","","","-$5.00"',
        '"06/14/2024","Sell Short","TSLA","TESLA","2","$180.00","$0.01","$359.99"',
        '"06/17/2024","Margin Interest","","MARGIN","","","","-$3.10"',
        '"06/18/2024","NRA Tax Adj","AAPL","REFUND","","","","$0.40"',
    ]
    preview = parse_transactions_csv(header + "\n".join(rows) + "\n", preset=ImportPreset.SCHWAB)
    found = {issue.row: (issue.field, issue.reason) for issue in preview.issues}
    assert sorted(found) == [2, 3, 4, 5, 6, 7]
    assert found[2][0] == "Action"
    assert "options are not supported" in found[2][1]
    assert "shares after / shares before" in found[3][1]
    assert "not a supported Schwab action" in found[4][1]
    assert found[5][0] == "Amount"
    assert "does not match" in found[5][1]  # 10 x 100 + 1 = 1001, not 1000
    assert found[6][0] == "Date"
    assert "reversal" in found[7][1]
    kinds = [(tx.type, tx.symbol, tx.amount) for tx in preview.transactions]
    assert kinds == [
        (T.SELL, "TSLA", D("360.00")),
        (T.FEE, None, D("3.10")),
        (T.DIVIDEND, "AAPL", D("0.40")),  # a refunded withholding adds to the dividend
    ]
    assert preview.row_numbers == (8, 9, 10)
