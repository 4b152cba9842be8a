"""Ledger: transaction value objects, cash effects, replay, validation and properties."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.core.errors import ValidationError
from quantdesk.domain.portfolio import (
    MONEY_CONTEXT,
    LotMethod,
    Transaction,
    TransactionType,
    minor_units,
    quantize_money,
    transaction_issues,
)
from quantdesk.portfolio import Ledger, check_transaction, replay, validate

D = Decimal
T = TransactionType
DAY = date(2024, 1, 2)


def tx(kind: str, day: date, symbol: str | None, qty: str, price: str, fees: str = "0",
       currency: str = "USD", id: str | None = None) -> Transaction:  # fmt: skip
    return Transaction(T(kind), day, symbol, D(qty), D(price), D(fees), currency, "", id)


# --------------------------------------------------------------------------- value objects


def test_transaction_normalises_its_fields() -> None:
    t = Transaction("buy", datetime(2024, 1, 2, 15, 30), " aapl ", 10, "1.5", 0, " usd ")  # type: ignore[arg-type]
    assert t.type is T.BUY
    assert t.trade_date == date(2024, 1, 2)
    assert t.symbol == "AAPL"
    assert (t.quantity, t.price, t.fees) == (D(10), D("1.5"), D(0))
    assert t.currency == "USD"
    assert Transaction(T.DEPOSIT, DAY, "  ", D(1), D(5)).symbol is None


def test_transaction_refuses_floats_and_bad_numbers() -> None:
    with pytest.raises(TypeError, match="floats are not exact"):
        Transaction(T.BUY, DAY, "AAPL", 1.1, D(1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a decimal number"):
        Transaction(T.BUY, DAY, "AAPL", "ten", D(1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bogus"):
        Transaction("bogus", DAY, "AAPL", D(1), D(1))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("transaction", "cash"),
    [
        # buy 10 @ 12.5 + 1 fee: -(125 + 1)
        (tx("buy", DAY, "A", "10", "12.5", "1"), D("-126")),
        # sell 10 @ 12.5 - 1 fee: 125 - 1
        (tx("sell", DAY, "A", "10", "12.5", "1"), D("124")),
        # dividend 100 shares x 0.25 = 25 gross, 3.75 withheld
        (tx("dividend", DAY, "A", "100", "0.25", "3.75"), D("21.25")),
        (tx("interest", DAY, None, "1", "4.2"), D("4.2")),
        (tx("fee", DAY, None, "1", "9.99"), D("-9.99")),
        (tx("deposit", DAY, None, "1", "1000", "2"), D("998")),
        (tx("withdrawal", DAY, None, "1", "500", "1"), D("-501")),
        (Transaction.split(DAY, "A", "2"), D(0)),
        # securities transfers only pay their fees; cash transfers move the amount
        (tx("transfer_in", DAY, "A", "10", "50", "1.5"), D("-1.5")),
        (tx("transfer_out", DAY, "A", "10", "0", "1.5"), D("-1.5")),
        (tx("transfer_in", DAY, None, "1", "300"), D("300")),
        (tx("transfer_out", DAY, None, "1", "300", "5"), D("-305")),
    ],
)
def test_cash_effect_per_type(transaction: Transaction, cash: Decimal) -> None:
    assert transaction.cash_effect == cash


def test_cash_and_split_constructors() -> None:
    dividend = Transaction.cash("dividend", DAY, "12.34", symbol="msft", fees="1.85")
    assert (dividend.quantity, dividend.price, dividend.amount) == (1, D("12.34"), D("12.34"))
    assert dividend.symbol == "MSFT"
    split = Transaction.split(DAY, "nvda", "10")
    assert (split.type, split.ratio, split.price, split.fees) == (T.SPLIT, 10, 0, 0)


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (D("1.005"), "USD", D("1.00")),  # half-even: 1.005 -> 1.00
        (D("1.015"), "USD", D("1.02")),
        (D("1234.5"), "JPY", D("1234")),
        (D("1.23456"), "KWD", D("1.235")),
        (D("33.3333333333333333333333"), "EUR", D("33.33")),
    ],
)
def test_quantize_money_uses_the_minor_unit(amount: Decimal, currency: str, shown: Decimal) -> None:
    assert quantize_money(amount, currency) == shown
    assert quantize_money(amount, currency).as_tuple().exponent == -minor_units(currency)


def test_minor_units_of_unknown_currency() -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        minor_units("XXY")


@pytest.mark.parametrize(
    ("transaction", "field", "words"),
    [
        (tx("buy", DAY, "A", "-1", "10"), "quantity", "negative"),
        (tx("buy", DAY, "A", "0", "10"), "quantity", "zero"),
        (tx("buy", DAY, "A", "1", "-10"), "price", "negative"),
        (tx("buy", DAY, "A", "1", "10", "-1"), "fees", "negative"),
        (tx("buy", DAY, None, "1", "10"), "symbol", "needs the symbol"),
        (tx("sell", DAY, None, "1", "10"), "symbol", "needs the symbol"),
        (tx("dividend", DAY, None, "1", "10"), "symbol", "needs the symbol"),
        (Transaction(T.SPLIT, DAY, None, D(2), D(0)), "symbol", "needs the symbol"),
        (tx("deposit", DAY, "A", "1", "10"), "symbol", "leave the symbol empty"),
        (tx("buy", DAY, "A B", "1", "10"), "symbol", "invalid symbol"),
        (tx("deposit", DAY, None, "1", "0"), "price", "positive amount"),
        (Transaction(T.SPLIT, DAY, "A", D(2), D(5)), "price", "no price"),
        (Transaction(T.SPLIT, DAY, "A", D(2), D(0), D(1)), "fees", "no fees"),
        (Transaction(T.SPLIT, DAY, "A", D(0), D(0)), "quantity", "ratio"),
        (tx("buy", DAY, "A", "NaN", "1"), "quantity", "not a number"),
        (tx("buy", DAY, "A", "1", "1", currency="US"), "currency", "3 letters"),
        (tx("buy", DAY, "A", "1", "1", currency="USS"), "currency", "ISO 4217"),
    ],
)
def test_transaction_issues_name_the_field(
    transaction: Transaction, field: str, words: str
) -> None:
    issues = transaction_issues(transaction, location="row 7", row=7)
    assert [issue.field for issue in issues] == [field]
    assert words in issues[0].reason
    assert (issues[0].location, issues[0].row) == ("row 7", 7)


# --------------------------------------------------------------------------- replay


def _history() -> list[Transaction]:
    return [
        tx("deposit", date(2024, 1, 2), None, "1", "10000"),
        tx("buy", date(2024, 1, 3), "AAPL", "10", "150", "1"),
        tx("buy", date(2024, 2, 1), "AAPL", "5", "160", "1"),
        tx("sell", date(2024, 3, 1), "AAPL", "12", "170", "2"),
        tx("dividend", date(2024, 3, 15), "AAPL", "3", "0.25", "0.11"),
        tx("deposit", date(2024, 1, 2), None, "1", "2000", currency="EUR"),
        tx("buy", date(2024, 1, 5), "SAP", "10", "120", "5", currency="EUR"),
        tx("interest", date(2024, 3, 31), None, "1", "3.5", currency="EUR"),
        tx("fee", date(2024, 3, 31), None, "1", "10"),
        tx("withdrawal", date(2024, 4, 2), None, "1", "500"),
    ]


def test_replay_hand_worked_positions_cash_and_income() -> None:
    state = replay(_history(), base_currency="usd")
    assert state.base_currency == "USD"
    aapl = state.positions["AAPL"]
    # FIFO: the sale of 12 takes 10 (cost 1501) and 2 of 5 (cost 801 * 2/5 = 320.40)
    # proceeds 12 * 170 - 2 = 2038 -> realised 2038 - 1821.40 = 216.60
    assert aapl.quantity == 3
    assert aapl.cost_basis == D("480.6")
    assert aapl.average_cost == D("160.2")
    assert aapl.realized_pnl == D("216.6")
    assert aapl.dividends == D("0.75")
    assert aapl.fees == D(4)
    # USD cash: 10000 - 1501 - 801 + 2038 + (0.75 - 0.11) - 10 - 500 = 9226.64
    assert state.cash["USD"] == D("9226.64")
    # EUR cash: 2000 - 1205 + 3.5 = 798.5
    assert state.cash["EUR"] == D("798.5")
    assert state.realized_pnl == {"USD": D("216.6")}
    assert state.dividends == {"USD": D("0.75")}
    assert state.interest == {"EUR": D("3.5")}
    assert state.income == {"USD": D("0.75"), "EUR": D("3.5")}
    assert state.taxes_withheld == {"USD": D("0.11")}
    # fees: trade fees 1 + 1 + 2 and the 10 fee in USD; 5 in EUR
    assert state.fees_paid == {"USD": D(14), "EUR": D(5)}
    assert state.contributions == {"USD": D(9500), "EUR": D(2000)}
    assert state.positions["SAP"].currency == "EUR"
    assert state.positions["SAP"].cost_basis == D(1205)
    assert state.last_date == date(2024, 4, 2)
    assert state.transaction_count == 10
    assert set(state.open_positions) == {"AAPL", "SAP"}
    assert len(state.realized) == 2


def test_replay_sorts_by_date_and_keeps_same_day_order() -> None:
    same_day = [
        tx("sell", date(2024, 1, 3), "X", "5", "11"),
        tx("buy", date(2024, 1, 2), "X", "5", "10"),
        tx("buy", date(2024, 1, 3), "X", "5", "12"),
    ]
    # the sale (listed first on 2024-01-03) runs before the second buy that day
    state = replay(same_day, lot_method=LotMethod.LIFO)
    assert state.realized[0].realized_pnl == 5  # 55 - 50, the 2024-01-02 lot
    assert state.positions["X"].cost_basis == 60


def test_replay_rejects_selling_more_than_held_with_the_row() -> None:
    rows = [tx("buy", DAY, "X", "5", "10"), tx("sell", DAY + timedelta(1), "X", "6", "10")]
    with pytest.raises(ValidationError) as caught:
        replay(rows)
    (issue,) = caught.value.issues
    assert (issue.location, issue.field, issue.row) == ("transactions[1]", "quantity", 1)
    assert "only 5 are held" in issue.reason
    assert "allow short selling" in issue.reason
    state = replay(rows, allow_short=True)
    assert state.positions["X"].quantity == -1


def test_replay_lists_every_field_issue() -> None:
    rows = [tx("buy", DAY, "X", "-5", "10"), tx("deposit", DAY, "X", "1", "10", currency="us")]
    with pytest.raises(ValidationError) as caught:
        replay(rows)
    assert [(i.row, i.field) for i in caught.value.issues] == [
        (0, "quantity"),
        (1, "symbol"),
        (1, "currency"),
    ]


def test_replay_rejects_a_symbol_in_two_currencies() -> None:
    rows = [tx("buy", DAY, "X", "5", "10"), tx("buy", DAY, "X", "5", "10", currency="EUR")]
    with pytest.raises(ValidationError, match="held in USD, not EUR") as caught:
        replay(rows)
    assert caught.value.issues[0].field == "currency"


def test_ledger_apply_refuses_out_of_order_dates() -> None:
    ledger = Ledger()
    ledger.apply(tx("deposit", date(2024, 2, 1), None, "1", "10"))
    with pytest.raises(ValidationError, match="out of order") as caught:
        ledger.apply(tx("deposit", date(2024, 1, 1), None, "1", "10"))
    assert caught.value.issues[0].field == "trade_date"


def test_transfer_out_is_checked_even_when_shorting_is_allowed() -> None:
    rows = [tx("buy", DAY, "X", "5", "10"), tx("transfer_out", DAY, "X", "6", "0")]
    with pytest.raises(ValidationError, match="transfer out more than held"):
        replay(rows, allow_short=True)


def test_split_then_sell_through_the_ledger() -> None:
    rows = [
        tx("buy", date(2024, 1, 2), "X", "10", "100"),
        Transaction.split(date(2024, 2, 1), "X", "4"),
        tx("sell", date(2024, 3, 1), "X", "30", "30"),
    ]
    state = replay(rows)
    # 10 -> 40 units costing 1000 (25 each); selling 30 @ 30: 900 - 750 = +150
    assert state.positions["X"].quantity == 10
    assert state.positions["X"].cost_basis == 250
    assert state.realized_pnl["USD"] == 150


# --------------------------------------------------------------------------- validate


def test_validate_single_transaction_issues_name_fields() -> None:
    existing = _history()
    new = tx("sell", date(2030, 1, 1), "MSFT", "1", "10")
    with pytest.raises(ValidationError) as caught:
        validate(new, existing, as_of=date(2024, 6, 1), known_symbols={"aapl", "sap"})
    fields = {issue.field: issue for issue in caught.value.issues}
    assert set(fields) == {"trade_date", "symbol"}
    assert fields["trade_date"].location == "transaction"
    assert fields["trade_date"].row is None
    assert "future-dated" in fields["trade_date"].reason
    assert "unknown symbol MSFT" in fields["symbol"].reason
    with pytest.raises(ValidationError) as caught:
        validate(
            tx("sell", date(2024, 5, 1), "AAPL", "4", "10"),
            existing,
            as_of=date(2024, 6, 1),
            known_symbols={"aapl", "sap"},
        )
    (issue,) = caught.value.issues
    assert issue.field == "quantity"
    assert "sells 4 AAPL but only 3 are held on 2024-05-01" in issue.reason


def test_validate_batch_labels_rows_and_accepts_good_rows() -> None:
    existing = _history()
    batch = [
        tx("buy", date(2024, 5, 1), "AAPL", "1", "180"),
        tx("sell", date(2024, 5, 2), "AAPL", "10", "180"),  # holds 3 + 1
        tx("buy", date(2024, 5, 3), "SAP", "1", "130"),  # SAP is held in EUR
        tx("deposit", date(2024, 5, 3), None, "1", "0"),
    ]
    with pytest.raises(ValidationError, match="3 of 4 rows rejected") as caught:
        validate(
            batch,
            existing,
            as_of=date(2024, 6, 1),
            known_symbols=lambda s: s in {"AAPL", "SAP"},
            row_numbers=[2, 3, 4, 5],
        )
    issues = [(i.location, i.row, i.field) for i in caught.value.issues]
    assert issues == [
        ("row 5", 5, "price"),
        ("row 3", 3, "quantity"),
        ("row 4", 4, "currency"),
    ]
    assert "held in EUR, not USD" in caught.value.issues[2].reason
    validate(batch[:1], existing, as_of=date(2024, 6, 1), known_symbols=None)
    validate(batch[1], existing, as_of=date(2024, 6, 1), known_symbols=None, allow_short=True)


def test_validate_batch_without_row_numbers_uses_indices() -> None:
    with pytest.raises(ValidationError) as caught:
        validate([tx("buy", DAY, "A", "1", "-1")], [], as_of=DAY, known_symbols=None)
    (issue,) = caught.value.issues
    assert (issue.location, issue.row, issue.field) == ("transactions[0]", 0, "price")


def test_validate_blames_a_backdated_sale_for_a_stored_sale() -> None:
    existing = [
        tx("buy", date(2024, 1, 2), "X", "10", "10"),
        tx("sell", date(2024, 3, 1), "X", "8", "12"),
    ]
    backdated = tx("sell", date(2024, 2, 1), "X", "5", "11")
    with pytest.raises(ValidationError) as caught:
        validate(backdated, existing, as_of=date(2024, 6, 1), known_symbols=None)
    (issue,) = caught.value.issues
    assert issue.field == "quantity"
    assert "stored sell of 8 on 2024-03-01 (short by 3)" in issue.reason
    # selling 2 leaves exactly 8 for the stored sale
    validate(
        tx("sell", date(2024, 2, 1), "X", "2", "11"),
        existing,
        as_of=date(2024, 6, 1),
        known_symbols=None,
    )


def test_validate_counts_a_split_before_the_sale() -> None:
    existing = [
        tx("buy", date(2024, 1, 2), "X", "10", "10"),
        Transaction.split(DAY + timedelta(5), "X", 3),
    ]
    validate(
        tx("sell", date(2024, 2, 1), "X", "30", "4"),
        existing,
        as_of=date(2024, 6, 1),
        known_symbols=["x"],
    )


def test_check_transaction_skips_checks_without_context() -> None:
    assert check_transaction(tx("buy", date(2099, 1, 1), "ZZZ", "1", "1")) == []


# --------------------------------------------------------------------------- properties

SYMBOLS = {"AAA": "USD", "BBB": "EUR", "CCC": "JPY"}
CURRENCIES = ("USD", "EUR", "JPY")
RATIOS = (D(2), D(3), D("1.5"), D("0.5"), D("0.25"))
FRACTIONS = (D("0.1"), D("0.5"), D("0.9"), D(1))
# weighted towards trades so most histories sell, split and close lots
KINDS = [T.BUY] * 4 + [T.SELL] * 4 + [T.SPLIT, T.DIVIDEND, T.TRANSFER_IN, T.TRANSFER_OUT, T.FEE]
quantities = st.decimals(min_value=D("0.0001"), max_value=D(1000), places=4)
prices = st.decimals(min_value=D("0.0001"), max_value=D(5000), places=4)
fees = st.decimals(min_value=D(0), max_value=D(25), places=2)


@st.composite
def ledgers(
    draw: st.DrawFn, allow_short: bool = False
) -> tuple[list[Transaction], dict[str, Decimal]]:
    """A valid history and the quantity it should leave per symbol (tracked independently)."""
    held: dict[str, Decimal] = defaultdict(Decimal)
    rows: list[Transaction] = []
    day = date(2020, 1, 1)
    for _ in range(draw(st.integers(1, 30))):
        day += timedelta(days=draw(st.integers(0, 60)))
        kind = draw(st.sampled_from(KINDS))
        symbol = draw(st.sampled_from(sorted(SYMBOLS)))
        currency = SYMBOLS[symbol]
        fee = draw(fees)
        if kind in (T.SELL, T.TRANSFER_OUT) and held[symbol] <= 0 and not allow_short:
            kind = T.BUY  # nothing to sell yet
        if kind in (T.SELL, T.TRANSFER_OUT):
            if kind is T.SELL and allow_short:
                qty = draw(quantities)
            else:
                if held[symbol] <= 0:
                    continue
                fraction = draw(st.sampled_from(FRACTIONS))
                qty = (held[symbol] * fraction).quantize(D("0.0001"), rounding=ROUND_DOWN)
                qty = qty if qty > 0 else held[symbol]
            price = draw(prices) if kind is T.SELL else D(0)
            rows.append(Transaction(kind, day, symbol, qty, price, fee, currency))
            held[symbol] -= qty
        elif kind in (T.BUY, T.TRANSFER_IN):
            if kind is T.TRANSFER_IN and held[symbol] < 0:
                continue
            qty = draw(quantities)
            rows.append(Transaction(kind, day, symbol, qty, draw(prices), fee, currency))
            held[symbol] += qty
        elif kind is T.SPLIT:
            ratio = draw(st.sampled_from(RATIOS))
            rows.append(Transaction.split(day, symbol, ratio, currency=currency))
            held[symbol] *= ratio
        elif kind is T.DIVIDEND:
            rows.append(
                Transaction(kind, day, symbol, draw(quantities), draw(prices), fee, currency)
            )
        else:  # payments and cash transfers, in any currency, symbol only where allowed
            kind = draw(st.sampled_from([T.INTEREST, T.FEE, T.DEPOSIT, T.WITHDRAWAL,
                                         T.TRANSFER_IN, T.TRANSFER_OUT]))  # fmt: skip
            cash_currency = draw(st.sampled_from(CURRENCIES))
            rows.append(Transaction.cash(kind, day, draw(prices), currency=cash_currency, fees=fee))
    return rows, dict(held)


def expected_cash(rows: list[Transaction]) -> dict[str, Decimal]:
    """Signed cash per currency, written out from the documented conventions."""
    cash: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        amount, fee = row.quantity * row.price, row.fees
        if row.type in (T.BUY, T.FEE, T.WITHDRAWAL):
            cash[row.currency] -= amount + fee
        elif row.type in (T.SELL, T.DIVIDEND, T.INTEREST, T.DEPOSIT):
            cash[row.currency] += amount - fee
        elif row.type in (T.TRANSFER_IN, T.TRANSFER_OUT) and row.symbol is not None:
            cash[row.currency] -= fee
        elif row.type is T.TRANSFER_IN:
            cash[row.currency] += amount - fee
        elif row.type is T.TRANSFER_OUT:
            cash[row.currency] -= amount + fee
    return cash


def _cents(amounts: dict[str, Decimal]) -> dict[str, Decimal]:
    return {c: quantize_money(a, c) for c, a in amounts.items() if quantize_money(a, c) != 0}


@settings(max_examples=40, deadline=None)
@given(history=ledgers(), method=st.sampled_from(list(LotMethod)))
def test_property_quantities_match_lots_and_cash_reconciles(
    history: tuple[list[Transaction], dict[str, Decimal]], method: LotMethod
) -> None:
    rows, held = history
    state = replay(rows, lot_method=method)
    for symbol, position in state.positions.items():
        assert position.quantity == sum((lot.quantity for lot in position.lots), D(0))
        assert position.quantity == held.get(symbol, D(0))
        assert all(lot.quantity > 0 for lot in position.lots)
    assert _cents(state.cash) == _cents(expected_cash(rows))
    expected = expected_cash(rows)
    for currency in set(expected) | set(state.cash):  # exact, not only to the cent
        assert state.cash.get(currency, D(0)) == expected.get(currency, D(0))


@settings(max_examples=30, deadline=None)
@given(history=ledgers())
def test_property_cost_is_conserved_and_independent_of_lot_method(
    history: tuple[list[Transaction], dict[str, Decimal]],
) -> None:
    rows, _ = history
    transferred_out = {row.symbol for row in rows if row.type is T.TRANSFER_OUT}
    cost_in: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row.type is T.BUY:
            cost_in[row.symbol or ""] += row.quantity * row.price + row.fees
        elif row.type is T.TRANSFER_IN and row.symbol is not None:
            cost_in[row.symbol] += row.quantity * row.price
    outcomes = []
    for method in LotMethod:
        state = replay(rows, lot_method=method)
        outcome = {}
        with localcontext(MONEY_CONTEXT):
            for symbol, position in state.positions.items():
                if symbol in transferred_out:
                    continue
                realized_cost = sum(
                    (r.cost_basis for r in state.realized if r.symbol == symbol), D(0)
                )
                # every unit bought is either still open or realised: cost in = open + realised
                assert abs(position.cost_basis + realized_cost - cost_in[symbol]) < D("1e-20")
                # realised P&L - open cost = proceeds - cost in, whichever lots were relieved
                outcome[symbol] = (position.realized_pnl - position.cost_basis).quantize(D("1e-12"))
        outcomes.append((_cents(dict(state.cash)), outcome))
    assert all(outcome == outcomes[0] for outcome in outcomes)


@settings(max_examples=30, deadline=None)
@given(history=ledgers(allow_short=True), method=st.sampled_from(list(LotMethod)))
def test_property_short_books_keep_quantity_equal_to_lots(
    history: tuple[list[Transaction], dict[str, Decimal]], method: LotMethod
) -> None:
    rows, held = history
    state = replay(rows, lot_method=method, allow_short=True)
    for symbol, position in state.positions.items():
        assert position.quantity == sum((lot.quantity for lot in position.lots), D(0))
        assert position.quantity == held.get(symbol, D(0))
        # never long and short at once
        assert len({lot.quantity > 0 for lot in position.lots}) <= 1
    assert _cents(state.cash) == _cents(expected_cash(rows))


@settings(max_examples=40, deadline=None)
@given(history=ledgers())
def test_property_validate_accepts_every_generated_row_appended_in_order(
    history: tuple[list[Transaction], dict[str, Decimal]],
) -> None:
    rows, _ = history
    validate(rows, [], as_of=date(2100, 1, 1), known_symbols=set(SYMBOLS))
