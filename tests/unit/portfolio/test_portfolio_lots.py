"""Tax lots: hand-worked relief for every method, splits, shorts, transfers, holding terms."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, localcontext

import pytest

from quantdesk.domain.portfolio import MONEY_CONTEXT, LotMethod
from quantdesk.portfolio.lots import HoldingTerm, LotBook, Side, anniversary, holding_term

D = Decimal
CENT = D("0.01")


def _book(method: LotMethod) -> LotBook:
    """Three buys, then a 2-for-1 split.

    A 2023-01-10: 10 @ 100 + fee 2 -> cost 1002
    B 2023-03-15: 10 @ 130 + fee 2 -> cost 1302
    C 2023-06-01: 10 @ 110 + fee 0 -> cost 1100
    split 2023-09-01, 2 new per 1 old: A 20 units (50.10/unit), B 20 (65.10), C 20 (55.00);
    total costs unchanged (3404).
    """
    book = LotBook("XYZ", method)
    book.buy(date(2023, 1, 10), D(10), D(1002), transaction_id="A")
    book.buy(date(2023, 3, 15), D(10), D(1302), transaction_id="B")
    book.buy(date(2023, 6, 1), D(10), D(1100), transaction_id="C")
    book.split(D(2))
    return book


SELL_DATE = date(2024, 3, 14)
# sell 25 @ 70 with fee 5 -> proceeds 25 * 70 - 5 = 1745, split over pieces by units taken.
SELL_QTY, SELL_PROCEEDS = D(25), D(1745)


def test_split_preserves_cost_basis_and_scales_quantities() -> None:
    book = _book(LotMethod.FIFO)
    assert [lot.quantity for lot in book.lots] == [20, 20, 20]
    assert [lot.cost for lot in book.lots] == [1002, 1302, 1100]
    assert [lot.unit_cost for lot in book.lots] == [D("50.1"), D("65.1"), D(55)]
    assert book.quantity == 60
    assert book.cost_basis == 3404


def test_fifo_relieves_oldest_first() -> None:
    book = _book(LotMethod.FIFO)
    realized = book.sell(SELL_DATE, SELL_QTY, SELL_PROCEEDS)
    # A: all 20 units, cost 1002, proceeds 1745 * 20/25 = 1396 -> +394
    # B: 5 units, cost 1302 * 5/20 = 325.50, proceeds 1745 - 1396 = 349 -> +23.50
    assert [(r.opening_transaction_id, r.quantity) for r in realized] == [("A", 20), ("B", 5)]
    assert [r.cost_basis for r in realized] == [D(1002), D("325.5")]
    assert [r.proceeds for r in realized] == [D(1396), D(349)]
    assert [r.realized_pnl for r in realized] == [D(394), D("23.5")]
    # A opened 2023-01-10: more than a year before 2024-03-14; B (2023-03-15) is not.
    assert [r.term for r in realized] == [HoldingTerm.LONG_TERM, HoldingTerm.SHORT_TERM]
    assert realized[0].holding_days == 429
    assert [(lot.quantity, lot.cost) for lot in book.lots] == [(15, D("976.5")), (20, 1100)]


def test_lifo_relieves_newest_first() -> None:
    book = _book(LotMethod.LIFO)
    realized = book.sell(SELL_DATE, SELL_QTY, SELL_PROCEEDS)
    # C: 20 units, cost 1100, proceeds 1396 -> +296; B: 5 units, 325.50, 349 -> +23.50
    assert [(r.opening_transaction_id, r.quantity) for r in realized] == [("C", 20), ("B", 5)]
    assert [r.realized_pnl for r in realized] == [D(296), D("23.5")]
    assert all(r.term is HoldingTerm.SHORT_TERM for r in realized)
    assert [(lot.quantity, lot.cost) for lot in book.lots] == [(20, 1002), (15, D("976.5"))]


def test_highest_cost_relieves_most_expensive_first() -> None:
    book = _book(LotMethod.HIGHEST_COST)
    realized = book.sell(SELL_DATE, SELL_QTY, SELL_PROCEEDS)
    # unit costs 50.10 (A), 65.10 (B), 55.00 (C): B first (20 units, 1302 -> 1396: +94),
    # then C (5 units, 1100 * 5/20 = 275 -> 349: +74)
    assert [(r.opening_transaction_id, r.quantity) for r in realized] == [("B", 20), ("C", 5)]
    assert [r.cost_basis for r in realized] == [D(1302), D(275)]
    assert [r.realized_pnl for r in realized] == [D(94), D(74)]
    assert [(lot.quantity, lot.cost) for lot in book.lots] == [(20, 1002), (15, D(825))]


def test_average_cost_uses_pool_average_and_fifo_dates() -> None:
    book = _book(LotMethod.AVERAGE_COST)
    realized = book.sell(SELL_DATE, SELL_QTY, SELL_PROCEEDS)
    # pool: 60 units costing 3404 -> 56.7333.../unit; 25 units cost 3404 * 25/60 = 1418.333...
    # taken oldest first for dates: A 20 units (1418.333.. * 20/25 = 1134.666..), B 5 (283.666..)
    assert [(r.opening_transaction_id, r.quantity) for r in realized] == [("A", 20), ("B", 5)]
    with localcontext(MONEY_CONTEXT):
        consumed = sum((r.cost_basis for r in realized), D(0))
    assert consumed.quantize(CENT) == D("1418.33")
    assert [r.cost_basis.quantize(CENT) for r in realized] == [D("1134.67"), D("283.67")]
    # realised 1745 - 1418.33 = 326.67
    assert sum((r.realized_pnl for r in realized), D(0)).quantize(CENT) == D("326.67")
    # survivors carry the average: B 15 * 56.7333.. = 851, C 20 * 56.7333.. = 1134.67
    assert [lot.quantity for lot in book.lots] == [15, 20]
    assert [lot.cost.quantize(CENT) for lot in book.lots] == [D("851.00"), D("1134.67")]
    # basis is conserved exactly (at the ledger's 34 digits): sold + left = the original 3404
    with localcontext(MONEY_CONTEXT):
        assert consumed + book.cost_basis == D(3404)


def test_partial_relief_conserves_cost_exactly_with_repeating_decimals() -> None:
    book = LotBook("XYZ")
    book.buy(date(2024, 1, 2), D(3), D(100))  # 33.333... per unit
    first = book.sell(date(2024, 1, 3), D(1), D(40))
    second = book.sell(date(2024, 1, 4), D(1), D(40))
    third = book.sell(date(2024, 1, 5), D(1), D(40))
    with localcontext(MONEY_CONTEXT):
        total = sum((r.cost_basis for r in (*first, *second, *third)), D(0))
    assert total == D(100)
    assert book.quantity == 0
    assert book.lots == ()


def test_short_selling_opens_negative_lots_and_covering_realises() -> None:
    book = LotBook("XYZ")
    with pytest.raises(ValueError, match="shorting is off"):
        book.sell(date(2024, 1, 2), D(10), D(499))
    # short 10 @ 50 with fee 1: lot -10 units, cost -499 (the proceeds, as a credit)
    assert book.sell(date(2024, 1, 2), D(10), D(499), allow_short=True) == ()
    assert book.quantity == -10
    assert book.cost_basis == -499
    assert book.lots[0].side is Side.SHORT
    assert book.lots[0].unit_cost == D("49.9")
    # cover 4 @ 40 + fee 1 = 161; proceeds share 499 * 4/10 = 199.6 -> +38.6
    realized = book.buy(date(2024, 2, 1), D(4), D(161))
    assert len(realized) == 1
    assert realized[0].side is Side.SHORT
    assert (realized[0].proceeds, realized[0].cost_basis) == (D("199.6"), D(161))
    assert realized[0].realized_pnl == D("38.6")
    assert (book.quantity, book.cost_basis) == (-6, D("-299.4"))
    # buy 10 @ 45 (450): 6 cover (cost 450 * 6/10 = 270, proceeds 299.4 -> +29.4), 4 go long (180)
    realized = book.buy(date(2024, 3, 1), D(10), D(450))
    assert [r.realized_pnl for r in realized] == [D("29.4")]
    assert (book.quantity, book.cost_basis) == (4, 180)
    # sell 6 @ 50 = 300: 4 close the long (proceeds 200, cost 180 -> +20), 2 open a short (-100)
    realized = book.sell(date(2024, 4, 1), D(6), D(300), allow_short=True)
    assert [(r.side, r.realized_pnl) for r in realized] == [(Side.LONG, D(20))]
    assert (book.quantity, book.cost_basis) == (-2, -100)
    # a split scales short lots too and keeps their credit
    book.split(D(3))
    assert (book.quantity, book.cost_basis) == (-6, -100)


def test_transfers_move_lots_without_realising() -> None:
    book = LotBook("XYZ", LotMethod.FIFO)
    book.transfer_in(date(2020, 5, 1), D(10), D(800), transaction_id="T")
    book.buy(date(2024, 1, 2), D(10), D(1000))
    moved = book.transfer_out(D(12))
    # FIFO: the transferred lot (10, 800) and 2 of the bought lot (1000 * 2/10 = 200)
    assert [(lot.quantity, lot.cost) for lot in moved] == [(10, 800), (2, 200)]
    assert moved[0].transaction_id == "T"
    assert (book.quantity, book.cost_basis) == (8, 800)
    with pytest.raises(ValueError, match="only 8 held"):
        book.transfer_out(D(9))


def test_transfer_in_keeps_original_holding_period() -> None:
    book = LotBook("XYZ")
    book.transfer_in(date(2020, 5, 1), D(10), D(800))
    (realized,) = book.sell(date(2021, 5, 3), D(10), D(900))
    assert realized.term is HoldingTerm.LONG_TERM
    assert realized.realized_pnl == 100


@pytest.mark.parametrize(
    ("opened", "closed", "term"),
    [
        (date(2023, 1, 10), date(2024, 1, 10), HoldingTerm.SHORT_TERM),  # exactly one year
        (date(2023, 1, 10), date(2024, 1, 11), HoldingTerm.LONG_TERM),  # more than one year
        (date(2024, 2, 29), date(2025, 2, 28), HoldingTerm.SHORT_TERM),
        (date(2024, 2, 29), date(2025, 3, 1), HoldingTerm.LONG_TERM),
        (date(2024, 6, 1), date(2024, 6, 1), HoldingTerm.SHORT_TERM),
    ],
)
def test_holding_term_boundaries(opened: date, closed: date, term: HoldingTerm) -> None:
    assert holding_term(opened, closed) is term


def test_anniversary_of_leap_day() -> None:
    assert anniversary(date(2024, 2, 29)) == date(2025, 2, 28)
    assert anniversary(date(2023, 3, 1)) == date(2024, 3, 1)


def test_lifo_orders_same_day_lots_by_sequence() -> None:
    book = LotBook("XYZ", LotMethod.LIFO)
    book.buy(date(2024, 1, 2), D(1), D(10), transaction_id="first")
    book.buy(date(2024, 1, 2), D(1), D(12), transaction_id="second")
    (realized,) = book.sell(date(2024, 1, 3), D(1), D(11))
    assert realized.opening_transaction_id == "second"
    assert realized.realized_pnl == -1


@pytest.mark.parametrize("bad", [D(0), D(-1), D("NaN")])
def test_non_positive_quantities_are_refused(bad: Decimal) -> None:
    book = LotBook("XYZ")
    with pytest.raises(ValueError, match="positive"):
        book.buy(date(2024, 1, 2), bad, D(1))
    with pytest.raises(ValueError, match="positive"):
        book.split(bad)
