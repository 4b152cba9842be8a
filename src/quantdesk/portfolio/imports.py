"""Import transactions from CSV: a generic layout and Charles Schwab's transaction export.

:func:`parse_transactions_csv` takes the file's text or bytes (UTF-8, a byte-order mark is
fine) and returns an :class:`ImportPreview`; it writes nothing. The caller stores
:meth:`ImportPreview.to_commit` in one transaction, after
``quantdesk.portfolio.validate(preview.transactions, existing, ...,
row_numbers=preview.row_numbers)`` has checked them against the stored ledger.

**Row numbers** are the file's line numbers, counting from 1 at the first line of the file
(the header line is row 1 when the file starts with it), i.e. the row a spreadsheet shows. A
quoted field spanning several lines is numbered by its first line. Issues are located
``row N`` with ``Issue.row = N`` and name the column in ``field``.

Preset ``generic``
    A header naming the columns, in any order and any case: ``date``, ``type``, ``symbol``,
    ``quantity``, ``price``, ``currency`` (required columns) and ``fees``, ``note``, ``id``
    (optional); other columns are ignored. ``date`` is ``YYYY-MM-DD``; ``type`` is one of
    ``buy sell dividend interest fee deposit withdrawal split transfer_in transfer_out``
    (spaces or hyphens for the underscore are fine); numbers are plain decimals with a dot and
    no thousands separators or currency signs, all positive (the type sets the sign, see
    :mod:`quantdesk.domain.portfolio`). ``fees`` may be empty (0). ``currency`` may be empty to
    use the ``currency`` argument. ``symbol`` is empty for deposits and withdrawals. For
    payments (dividend, interest, fee, deposit, withdrawal) and cash transfers the amount is
    ``quantity * price``, and either cell may be empty, meaning 1: ``deposit,,1000,,USD`` and
    ``deposit,,,1000,USD`` both deposit 1000. A split puts the ratio (new/old) in ``quantity``
    and leaves ``price`` empty or 0.

Preset ``schwab``
    Charles Schwab brokerage "Transactions" export: header
    ``"Date","Action","Symbol","Description","Quantity","Price","Fees & Comm","Amount"``
    (lines before it, such as an old-style title line, are skipped; a final
    ``Transactions Total`` row is ignored). Rows are usually newest first; order does not
    matter. Conventions:

    - ``Date`` is ``MM/DD/YYYY`` or ``MM/DD/YYYY as of MM/DD/YYYY``; the *as of* date is the
      trade date and the posting date goes into the note, with the ``Description``.
    - ``Quantity`` and ``Price`` are unsigned (``"1,000"``, ``$27.00``); ``Fees & Comm`` is an
      unsigned charge; ``Amount`` is the signed cash effect (``-$1,500.00`` for a purchase,
      ``$799.98`` for a sale) with ``$``, thousands commas and a minus sign or parentheses.
    - Every amount is in the account currency (the ``currency`` argument, USD by default).
    - ``Buy``, ``Reinvest Shares``, ``Buy to Cover`` become buys and ``Sell``, ``Sell Short``
      sells (quantity, price and fees from their columns). Their ``Amount`` must match
      ``-(quantity * price + fees)`` or ``quantity * price - fees`` within one cent plus
      $0.00005 per share (Schwab shows prices to 4 decimals), or the row gets an issue.
    - Dividends and capital gain distributions (``Cash Dividend``, ``Qualified Dividend``,
      ``Non-Qualified Div``, ``Reinvest Dividend``, ``Qual Div Reinvest``, ``Special
      Dividend``, ``Pr Yr ...``, ``Long Term Cap Gain``, ...) become dividends of ``|Amount|``
      (the net amount Schwab paid). Interest actions become interest (``Margin Interest``, a
      charge, becomes a fee). Fees and taxes (``Service Fee``, ``ADR Mgmt Fee``, ``Foreign Tax
      Paid``, ``NRA Tax Adj``, ...) become fees of ``|Amount|``; a positive amount on such a
      row is a refund and becomes a dividend of the symbol (interest without a symbol).
    - Money movements (``MoneyLink Transfer``, ``MoneyLink Deposit``, ``Wire Funds``,
      ``Wire Received``, ``Wire Sent``, ``Funds Received``, ``Journal``, ``Bank Transfer``)
      become a deposit when ``Amount`` is positive and a withdrawal when negative.
    - Options (``Buy to Open``, ``Sell to Close``, ``Expired``, ``Assigned``, ...), corporate
      actions reported as share deltas (``Stock Split``, ``Reverse Split``, ``Spin-off``,
      ``Stock Merger``, ``Cash In Lieu``), security transfers and any other action get a row
      issue saying how to record them with the generic preset.
"""

from __future__ import annotations

import csv
import io
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.domain.portfolio import (
    ONE,
    PAYMENT_TYPES,
    ZERO,
    Transaction,
    TransactionType,
)
from quantdesk.portfolio.ledger import KnownSymbols, check_transaction


class ImportPreset(StrEnum):
    """Supported CSV layouts."""

    GENERIC = "generic"
    SCHWAB = "schwab"


@dataclass(frozen=True, slots=True)
class ImportPreview:
    """What a CSV import would store, and what is wrong with it.

    ``transactions`` holds the rows that parsed cleanly, in file order, with their file rows
    in ``row_numbers``. ``issues`` lists every problem of the other rows. ``rows_read`` counts
    the data rows after the header (blank lines excluded), ``rows_ignored`` those that carry no
    transaction by design (a totals row).
    """

    preset: ImportPreset
    transactions: tuple[Transaction, ...]
    row_numbers: tuple[int, ...]
    issues: tuple[Issue, ...]
    rows_read: int
    rows_ignored: int
    skip_bad_rows: bool

    @property
    def rows_ok(self) -> int:
        """Return how many rows became transactions."""
        return len(self.transactions)

    @property
    def rows_bad(self) -> int:
        """Return how many rows have at least one issue."""
        return len({issue.row for issue in self.issues})

    @property
    def committable(self) -> bool:
        """Return whether storing may go ahead: no issues, or bad rows are to be skipped."""
        return not self.issues or self.skip_bad_rows

    def to_commit(self) -> tuple[Transaction, ...]:
        """Return the transactions to store.

        Raises
        ------
        ValidationError
            Listing the row issues when there are some and ``skip_bad_rows`` is off.
        """
        if not self.committable:
            raise ValidationError(
                f"{self.rows_bad} of {self.rows_read} rows cannot be imported "
                "(fix them or skip bad rows)",
                self.issues,
            )
        return self.transactions


def parse_transactions_csv(
    data: str | bytes,
    *,
    preset: ImportPreset | str = ImportPreset.GENERIC,
    skip_bad_rows: bool = False,
    currency: str = "USD",
    as_of: date | None = None,
    known_symbols: KnownSymbols | None = None,
) -> ImportPreview:
    """Parse a transactions CSV into an :class:`ImportPreview` (see the module docstring).

    Parameters
    ----------
    data
        The file content; bytes are decoded as UTF-8 (with or without a byte-order mark).
    preset
        ``"generic"`` or ``"schwab"``.
    skip_bad_rows
        Whether :meth:`ImportPreview.to_commit` may store the good rows and skip the bad ones.
    currency
        Generic: the currency of rows whose ``currency`` cell is empty. Schwab: the account's
        currency.
    as_of, known_symbols
        When given, rows dated after ``as_of`` or naming unknown symbols get issues.

    Raises
    ------
    ValidationError
        When the file as a whole cannot be read: not UTF-8, no header, required columns missing.
    """
    kind = ImportPreset(preset)
    text = _decode(data)
    records = _records(text)
    if kind is ImportPreset.GENERIC:
        parser: _RowParser = _GenericParser(records, currency)
    else:
        parser = _SchwabParser(records, currency.strip().upper())
    transactions: list[Transaction] = []
    row_numbers: list[int] = []
    issues: list[Issue] = []
    read = ignored = 0
    for line, cells in parser.rows():
        if not any(cell.strip() for cell in cells):
            continue
        read += 1
        location = f"row {line}"
        result = parser.parse(cells, line)
        if result is None:
            ignored += 1
            continue
        if isinstance(result, Transaction):
            own = check_transaction(
                result, as_of=as_of, known_symbols=known_symbols, location=location, row=line
            )
        else:
            own = result
        if own:
            issues.extend(own)
        else:
            assert isinstance(result, Transaction)
            transactions.append(result)
            row_numbers.append(line)
    return ImportPreview(
        preset=kind,
        transactions=tuple(transactions),
        row_numbers=tuple(row_numbers),
        issues=tuple(issues),
        rows_read=read,
        rows_ignored=ignored,
        skip_bad_rows=skip_bad_rows,
    )


def _decode(data: str | bytes) -> str:
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            "the file is not UTF-8 text",
            [Issue("file", f"byte {exc.start} cannot be decoded; save the file as UTF-8 CSV")],
        ) from None


def _records(text: str) -> list[tuple[int, list[str]]]:
    """Return (first line number, cells) per CSV record."""
    reader = csv.reader(io.StringIO(text, newline=""))
    out: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            out.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ValidationError(
            "the file is not valid CSV", [Issue(f"row {start}", f"{exc}; check the quoting")]
        ) from None
    return out


# A parser returns a Transaction, a list of issues, or None for a row ignored by design.
_Parsed = Transaction | list[Issue] | None


class _RowParser(ABC):
    """Shared header detection and cell access; each preset implements :meth:`parse`."""

    def __init__(self, records: list[tuple[int, list[str]]]) -> None:
        self._records = records
        self._columns: dict[str, int] = {}
        self._body: list[tuple[int, list[str]]] = []

    def rows(self) -> list[tuple[int, list[str]]]:
        return self._body

    @abstractmethod
    def parse(self, cells: list[str], line: int) -> _Parsed:
        """Return the row's transaction, its issues, or ``None`` for a row ignored by design."""

    def _cell(self, cells: list[str], name: str) -> str:
        index = self._columns.get(name)
        if index is None or index >= len(cells):
            return ""
        return cells[index].strip()

    def _header(
        self,
        is_header: Callable[[list[str]], bool],
        required: Sequence[str],
        normalise: Callable[[str], str],
        what: str,
    ) -> None:
        for position, (line, cells) in enumerate(self._records):
            if not is_header(cells):
                continue
            columns = {normalise(cell): i for i, cell in enumerate(cells)}
            missing = [name for name in required if name not in columns]
            if missing:
                raise ValidationError(
                    "required columns missing",
                    [
                        Issue(
                            f"row {line}", f"the header has no {name!r} column; {what}", field=name
                        )
                        for name in missing
                    ],
                )
            self._columns = columns
            self._body = self._records[position + 1 :]
            return
        raise ValidationError("no header row", [Issue("file", f"no header row found; {what}")])


_GENERIC_REQUIRED = ("date", "type", "symbol", "quantity", "price", "currency")
_GENERIC_HELP = (
    "the generic layout needs a header with date,type,symbol,quantity,price,currency "
    "(and optionally fees,note,id)"
)


class _GenericParser(_RowParser):
    def __init__(self, records: list[tuple[int, list[str]]], currency: str) -> None:
        super().__init__(records)
        self._currency = currency.strip().upper()
        self._header(
            lambda cells: any(cell.strip() for cell in cells),
            _GENERIC_REQUIRED,
            lambda cell: cell.strip().lower(),
            _GENERIC_HELP,
        )

    def parse(self, cells: list[str], line: int) -> _Parsed:
        location = f"row {line}"
        issues: list[Issue] = []

        def issue(field: str, reason: str) -> None:
            issues.append(Issue(location, reason, field=field, row=line))

        raw_date = self._cell(cells, "date")
        trade_date: date | None = None
        try:
            trade_date = date.fromisoformat(raw_date)
        except ValueError:
            issue("date", f"{raw_date!r} is not a date; use YYYY-MM-DD")
        raw_type = self._cell(cells, "type")
        kind: TransactionType | None = None
        try:
            kind = TransactionType(re.sub(r"[\s\-]+", "_", raw_type.lower()))
        except ValueError:
            valid = ", ".join(t.value for t in TransactionType)
            issue("type", f"{raw_type!r} is not a transaction type; use one of {valid}")
        symbol = self._cell(cells, "symbol") or None
        cash_like = kind in PAYMENT_TYPES or (
            kind in (TransactionType.TRANSFER_IN, TransactionType.TRANSFER_OUT) and symbol is None
        )
        quantity = _number(
            self._cell(cells, "quantity"), "quantity", issue, ONE if cash_like else None
        )
        default_price = ONE if cash_like else (ZERO if kind is TransactionType.SPLIT else None)
        price = _number(self._cell(cells, "price"), "price", issue, default_price)
        fees = _number(self._cell(cells, "fees"), "fees", issue, ZERO)
        if cash_like and not self._cell(cells, "quantity") and not self._cell(cells, "price"):
            issue("quantity", "enter the amount in quantity or price")
        currency = self._cell(cells, "currency").upper() or self._currency
        if issues or trade_date is None or kind is None:
            return issues
        assert quantity is not None
        assert price is not None
        assert fees is not None
        return Transaction(
            kind,
            trade_date,
            symbol,
            quantity,
            price,
            fees,
            currency,
            self._cell(cells, "note"),
            self._cell(cells, "id") or None,
        )


def _number(
    text: str,
    field: str,
    issue: Callable[[str, str], None],
    default: Decimal | None,
    *,
    money: bool = False,
) -> Decimal | None:
    """Parse a decimal; ``money`` also strips ``$``, commas and reads ``(1.00)`` as negative."""
    cleaned = text.strip()
    if money:
        negative = cleaned.startswith("(") and cleaned.endswith(")")
        cleaned = cleaned.strip("()").replace("$", "").replace(",", "").strip()
        if negative:
            cleaned = "-" + cleaned
    if not cleaned:
        if default is None:
            issue(field, f"{field} is empty; enter a number")
        return default
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        issue(field, f"{text!r} is not a number; use digits with a dot for decimals")
        return None
    if not value.is_finite():
        issue(field, f"{text!r} is not a finite number")
        return None
    return value


_SCHWAB_COLUMNS = (
    "Date", "Action", "Symbol", "Description", "Quantity", "Price", "Fees & Comm", "Amount",
)  # fmt: skip
_SCHWAB_HELP = (
    "a Schwab export starts with "
    '"Date","Action","Symbol","Description","Quantity","Price","Fees & Comm","Amount"'
)
_SCHWAB_DATE = re.compile(
    r"^(\d{2}/\d{2}/\d{4})(?:\s+as\s+of\s+(\d{2}/\d{2}/\d{4}))?$", re.IGNORECASE
)
_SCHWAB_BUY = {"buy", "reinvest shares", "buy to cover"}
_SCHWAB_SELL = {"sell", "sell short"}
_SCHWAB_MONEY = {
    "moneylink transfer", "moneylink deposit", "wire funds", "wire received", "wire sent",
    "funds received", "journal", "bank transfer",
}  # fmt: skip
_SCHWAB_UNSUPPORTED = {
    "buy to open": "options are not supported",
    "sell to open": "options are not supported",
    "buy to close": "options are not supported",
    "sell to close": "options are not supported",
    "expired": "options are not supported",
    "assigned": "options are not supported",
    "exchange or exercise": "options are not supported",
    "stock split": "Schwab reports a split as added shares; enter it with the generic preset "
    "as type split with quantity = shares after / shares before",
    "reverse split": "Schwab reports a reverse split as share deltas; enter it with the "
    "generic preset as type split with quantity = shares after / shares before",
    "security transfer": "the export carries no cost basis; enter it with the generic preset "
    "as transfer_in/transfer_out with the unit cost as price",
    "journaled shares": "the export carries no cost basis; enter it with the generic preset "
    "as transfer_in/transfer_out with the unit cost as price",
    "spin-off": "corporate actions are not supported; enter the new shares with the generic "
    "preset as transfer_in at their allocated cost basis",
    "stock merger": "corporate actions are not supported; enter them with the generic preset",
    "cash in lieu": "enter the fractional share sale with the generic preset as a sell",
}


class _SchwabParser(_RowParser):
    def __init__(self, records: list[tuple[int, list[str]]], currency: str) -> None:
        super().__init__(records)
        self._currency = currency
        self._header(
            lambda cells: (
                bool(cells)
                and cells[0].strip() == "Date"
                and "Action" in (c.strip() for c in cells)
            ),
            _SCHWAB_COLUMNS,
            str.strip,
            _SCHWAB_HELP,
        )

    def parse(self, cells: list[str], line: int) -> _Parsed:
        location = f"row {line}"
        issues: list[Issue] = []

        def issue(field: str, reason: str) -> None:
            issues.append(Issue(location, reason, field=field, row=line))

        raw_date = self._cell(cells, "Date")
        if raw_date.lower().startswith("transactions total"):
            return None
        action = self._cell(cells, "Action")
        key = " ".join(action.lower().split())
        symbol = self._cell(cells, "Symbol") or None
        description = self._cell(cells, "Description")
        match = _SCHWAB_DATE.match(raw_date)
        trade_date: date | None = None
        note = description
        if match is None:
            issue(
                "Date", f"{raw_date!r} is not a date; Schwab writes MM/DD/YYYY [as of MM/DD/YYYY]"
            )
        else:
            posted, effective = match.group(1), match.group(2)
            try:
                trade_date = datetime.strptime(effective or posted, "%m/%d/%Y").date()
            except ValueError:
                issue("Date", f"{raw_date!r} is not a valid calendar date")
            if effective:
                note = f"{description} (posted {posted})".strip()
        amount = _number(self._cell(cells, "Amount"), "Amount", issue, None, money=True)
        if key in _SCHWAB_UNSUPPORTED:
            issue("Action", f"{action!r}: {_SCHWAB_UNSUPPORTED[key]}")
            return issues
        if key in _SCHWAB_BUY or key in _SCHWAB_SELL:
            if issues:
                return issues
            return self._trade(cells, line, key in _SCHWAB_BUY, symbol, trade_date, amount, note)
        kind = _schwab_cash_type(key, symbol, amount)
        if kind is None:
            issue(
                "Action",
                f"{action!r} is not a supported Schwab action; enter the row with the generic "
                "preset",
            )
            return issues
        if amount is None or amount == 0:
            if amount == 0:
                issue("Amount", "the amount is zero; nothing to record")
            return issues
        if amount < 0 and kind in (TransactionType.DIVIDEND, TransactionType.INTEREST):
            issue(
                "Amount",
                f"a negative {kind.value} ({amount}) is a reversal; delete the reversed row "
                "instead of importing both",
            )
            return issues
        if issues or trade_date is None:
            return issues
        return Transaction(kind, trade_date, symbol, ONE, abs(amount), ZERO, self._currency, note)

    def _trade(
        self,
        cells: list[str],
        line: int,
        buying: bool,
        symbol: str | None,
        trade_date: date | None,
        amount: Decimal | None,
        note: str,
    ) -> _Parsed:
        issues: list[Issue] = []

        def issue(field: str, reason: str) -> None:
            issues.append(Issue(f"row {line}", reason, field=field, row=line))

        quantity = _number(self._cell(cells, "Quantity"), "Quantity", issue, None, money=True)
        price = _number(self._cell(cells, "Price"), "Price", issue, None, money=True)
        fees = _number(self._cell(cells, "Fees & Comm"), "Fees & Comm", issue, ZERO, money=True)
        if issues or trade_date is None or quantity is None or price is None or fees is None:
            return issues
        quantity, fees = abs(quantity), abs(fees)
        if amount is not None:
            gross = quantity * price
            expected = -(gross + fees) if buying else gross - fees
            tolerance = Decimal("0.01") + quantity * Decimal("0.00005")
            if abs(amount - expected) > tolerance:
                sign = "+" if buying else "-"
                issue(
                    "Amount",
                    f"{amount} does not match Quantity × Price {sign} Fees & Comm = {expected} "
                    "with the sign of the cash effect; check the row",
                )
                return issues
        kind = TransactionType.BUY if buying else TransactionType.SELL
        return Transaction(kind, trade_date, symbol, quantity, price, fees, self._currency, note)


def _schwab_cash_type(
    key: str, symbol: str | None, amount: Decimal | None
) -> TransactionType | None:
    positive = amount is not None and amount > 0
    if key in _SCHWAB_MONEY:
        return TransactionType.DEPOSIT if positive else TransactionType.WITHDRAWAL
    if "div" in key or "cap gain" in key:
        return TransactionType.DIVIDEND
    if "interest" in key:
        return TransactionType.INTEREST if positive else TransactionType.FEE
    if "fee" in key or "tax" in key:
        if positive:
            return TransactionType.DIVIDEND if symbol is not None else TransactionType.INTEREST
        return TransactionType.FEE
    return None
