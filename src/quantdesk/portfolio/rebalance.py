"""Rebalancing: turn current holdings and target weights into a concrete trade list.

:func:`plan_rebalance` values the portfolio at the given prices (``total = cash + sum(q * p)``),
compares each symbol's weight with its target and proposes the trades that bring the
out-of-band symbols back **to their targets**. Target weights are fractions of the total value;
a symbol held but absent from the targets has target 0 and is sold.

Rules, in order
    1. **Bands.** A symbol is left alone while its drift ``|weight - target|`` is within every
       band given: ``absolute_band`` (e.g. 0.05 = five percentage points) and
       ``relative_band`` (e.g. 0.25 = 25% of the target), the "5/25" rule when both are set.
       With no band every drift is traded.
    2. **Sells first.** Quantities are rounded to the nearest whole share (``whole_shares``) or
       down to ``fractional_places`` decimals, never above the quantity held; a full exit
       sells the whole holding, fractional remainder included. Tax-lot aware sells consume the
       highest-cost lots first (oldest first among equal costs); otherwise oldest first (FIFO).
    3. **Buys** are funded by the cash on hand plus the sells' net proceeds, never spending
       below the cash buffer (``cash_buffer`` x total value before trading). When that cash
       cannot pay for every buy, all buys shrink pro rata; quantities are floored to whole
       shares (or ``fractional_places``). The buffer only limits buying: it never forces sales.
    4. A trade whose notional is below ``min_trade_value`` is skipped; so is one that rounds to
       zero shares.

Costs are estimated as ``notional * cost_bps / 10_000 + cost_per_trade`` and paid from cash.

Money
    Every money amount is a :class:`~decimal.Decimal`. Each trade's notional and cost are
    rounded half-even to ``money_places`` decimals (cents by default), the precision a broker
    confirms, so ``residual_cash = cash + sells - buys - costs`` holds exactly. Realised gains
    are ``(estimated price - unit cost) * quantity`` summed over the lots used, before trading
    costs, also rounded to ``money_places``. Weights are floats (analytics).

Short-term gains
    A lot held fewer than ``short_term_days`` (365) calendar days on ``as_of`` is short term;
    each sell reports the gain realised on such lots and flags the sale when it is positive.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Literal

from quantdesk.core.errors import Issue, ValidationError

__all__ = [
    "LotUse",
    "LotView",
    "RebalanceOptions",
    "RebalancePlan",
    "SkipReason",
    "SkippedSymbol",
    "Trade",
    "TradeSide",
    "plan_rebalance",
]

TradeSide = Literal["buy", "sell"]
SkipReason = Literal["within_band", "below_min_trade", "zero_quantity", "insufficient_cash"]

_ZERO = Decimal(0)
_ONE = Decimal(1)
_BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class LotView:
    """An open tax lot as the rebalancer needs it: ``quantity`` bought at ``unit_cost``."""

    quantity: Decimal
    unit_cost: Decimal
    acquired: date


@dataclass(frozen=True, slots=True)
class LotUse:
    """The part of one lot a sell consumes and the gain it realises (before trading costs)."""

    acquired: date
    quantity: Decimal
    unit_cost: Decimal
    gain: Decimal
    holding_days: int
    short_term: bool


@dataclass(frozen=True, slots=True)
class RebalanceOptions:
    """How to turn drift into trades.

    Parameters
    ----------
    absolute_band
        Leave a symbol alone while ``|weight - target| <= absolute_band``.
    relative_band
        Leave a symbol alone while ``|weight - target| <= relative_band * target``.
    min_trade_value
        Skip trades whose notional is below this amount.
    whole_shares
        Trade whole shares only (buys floored, sells rounded to nearest, never oversold).
    fractional_places
        Decimal places of fractional quantities when ``whole_shares`` is off.
    cash_buffer
        Fraction of the pre-trade total value that buys may not spend (0 <= buffer < 1).
    cost_bps
        Estimated cost in basis points of notional.
    cost_per_trade
        Estimated fixed cost per trade.
    tax_lot_aware
        Sell the highest-cost lots first (else oldest first).
    short_term_days
        Lots held fewer days than this are short term.
    money_places
        Decimal places of money amounts (2 for cents).
    """

    absolute_band: Decimal | float | None = None
    relative_band: Decimal | float | None = None
    min_trade_value: Decimal = _ZERO
    whole_shares: bool = True
    fractional_places: int = 6
    cash_buffer: Decimal | float = _ZERO
    cost_bps: Decimal = _ZERO
    cost_per_trade: Decimal = _ZERO
    tax_lot_aware: bool = True
    short_term_days: int = 365
    money_places: int = 2


@dataclass(frozen=True, slots=True)
class Trade:
    """One proposed order.

    ``realized_gain`` and ``short_term_gain`` are ``None`` for buys and for sells of a symbol
    without lots; ``short_term`` flags a sell that realises a positive short-term gain.
    """

    symbol: str
    side: TradeSide
    quantity: Decimal
    estimated_price: Decimal
    notional: Decimal
    estimated_cost: Decimal
    lots_used: tuple[LotUse, ...] = ()
    realized_gain: Decimal | None = None
    short_term_gain: Decimal | None = None
    short_term: bool = False


@dataclass(frozen=True, slots=True)
class SkippedSymbol:
    """A symbol that is off target but gets no trade, and why."""

    symbol: str
    reason: SkipReason
    detail: str


@dataclass(frozen=True, slots=True)
class RebalancePlan:
    """The trade list and the portfolio it leaves behind.

    Attributes
    ----------
    as_of
        Valuation date (decides short-term lots).
    total_value
        ``cash + sum(quantity * price)`` before trading.
    trades
        Sells first, then buys, each group in symbol order.
    post_trade_weights
        Weight of every symbol after the trades and their costs (cash is the rest).
    residual_cash
        Cash left after every trade and estimated cost.
    total_estimated_cost
        Sum of the trades' estimated costs.
    skipped
        Off-target symbols without a trade and the reason.
    """

    as_of: date
    total_value: Decimal
    trades: tuple[Trade, ...]
    post_trade_weights: Mapping[str, float]
    residual_cash: Decimal
    total_estimated_cost: Decimal
    skipped: tuple[SkippedSymbol, ...]


@dataclass(slots=True)
class _Intent:
    symbol: str
    side: TradeSide
    value: Decimal  # money to move, > 0
    exit: bool  # sell the whole holding


def _decimal(value: Decimal | float | int, location: str, field: str | None = None) -> Decimal:
    if isinstance(value, bool):
        raise ValidationError("invalid number", [Issue(location, "must be a number", field)])
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError("invalid number", [Issue(location, "must be finite", field)])
        # The shortest repr keeps 0.1 as 0.1 rather than its binary expansion.
        return Decimal(repr(value))
    number = Decimal(value)
    if not number.is_finite():
        raise ValidationError("invalid number", [Issue(location, "must be finite", field)])
    return number


def _check_options(options: RebalanceOptions) -> tuple[Decimal | None, Decimal | None, Decimal]:
    issues: list[Issue] = []
    bands: list[Decimal | None] = []
    for name in ("absolute_band", "relative_band"):
        raw = getattr(options, name)
        band = None if raw is None else _decimal(raw, f"options.{name}")
        if band is not None and band < 0:
            issues.append(Issue(f"options.{name}", "must be >= 0"))
        bands.append(band)
    buffer = _decimal(options.cash_buffer, "options.cash_buffer")
    if not _ZERO <= buffer < _ONE:
        issues.append(Issue("options.cash_buffer", "must lie in [0, 1)"))
    for name in ("min_trade_value", "cost_bps", "cost_per_trade"):
        if _decimal(getattr(options, name), f"options.{name}") < 0:
            issues.append(Issue(f"options.{name}", "must be >= 0"))
    for name in ("fractional_places", "money_places", "short_term_days"):
        if getattr(options, name) < 0:
            issues.append(Issue(f"options.{name}", "must be >= 0"))
    if issues:
        raise ValidationError("invalid rebalance options", issues)
    return bands[0], bands[1], buffer


def _check_inputs(
    quantities: Mapping[str, Decimal],
    prices: Mapping[str, Decimal],
    cash: Decimal,
    targets: Mapping[str, Decimal],
    lots: Mapping[str, Sequence[LotView]],
) -> None:
    issues: list[Issue] = []
    if cash < 0:
        issues.append(Issue("cash", "must be >= 0; settle a negative balance before rebalancing"))
    for symbol, quantity in quantities.items():
        if quantity < 0:
            issues.append(Issue("quantities", "short positions are not rebalanced", symbol))
    for symbol in sorted(set(quantities) | set(targets)):
        price = prices.get(symbol)
        if price is None or price <= 0:
            issues.append(Issue("prices", "needs a positive price", symbol))
    for symbol, weight in targets.items():
        if weight < 0:
            issues.append(Issue("target_weights", "must be >= 0 (long-only)", symbol))
    if sum(targets.values(), _ZERO) > _ONE + Decimal("1e-9"):
        issues.append(Issue("target_weights", "weights sum above 1; cash cannot go negative"))
    for symbol, symbol_lots in lots.items():
        held = quantities.get(symbol, _ZERO)
        in_lots = sum((lot.quantity for lot in symbol_lots), _ZERO)
        if any(lot.quantity <= 0 or lot.unit_cost < 0 for lot in symbol_lots):
            issues.append(Issue("lots", "lot quantities must be > 0 and costs >= 0", symbol))
        elif in_lots != held:
            issues.append(Issue("lots", f"lots hold {in_lots} but the position is {held}", symbol))
    if issues:
        raise ValidationError("cannot plan the rebalance", issues)


def _within_band(
    drift: Decimal, target: Decimal, absolute: Decimal | None, relative: Decimal | None
) -> bool:
    if absolute is None and relative is None:
        return False
    inside_absolute = absolute is None or drift <= absolute
    inside_relative = relative is None or drift <= relative * target
    return inside_absolute and inside_relative


def _consume_lots(
    lots: Sequence[LotView],
    quantity: Decimal,
    price: Decimal,
    as_of: date,
    options: RebalanceOptions,
) -> tuple[LotUse, ...]:
    if options.tax_lot_aware:
        order = sorted(lots, key=lambda lot: (-lot.unit_cost, lot.acquired))
    else:
        order = sorted(lots, key=lambda lot: lot.acquired)
    used: list[LotUse] = []
    remaining = quantity
    for lot in order:
        if remaining <= 0:
            break
        taken = min(lot.quantity, remaining)
        remaining -= taken
        days = (as_of - lot.acquired).days
        used.append(
            LotUse(
                acquired=lot.acquired,
                quantity=taken,
                unit_cost=lot.unit_cost,
                gain=(price - lot.unit_cost) * taken,
                holding_days=days,
                short_term=days < options.short_term_days,
            )
        )
    return tuple(used)


def plan_rebalance(
    quantities: Mapping[str, Decimal],
    prices: Mapping[str, Decimal],
    cash: Decimal,
    target_weights: Mapping[str, Decimal | float],
    *,
    as_of: date,
    lots: Mapping[str, Sequence[LotView]] | None = None,
    options: RebalanceOptions | None = None,
) -> RebalancePlan:
    """Return the trades that bring out-of-band holdings back to their target weights.

    Parameters
    ----------
    quantities
        Units held per symbol (long positions, ``>= 0``).
    prices
        Estimated execution price per symbol; needed for every held or targeted symbol.
    cash
        Cash available (``>= 0``).
    target_weights
        Target fraction of the total value per symbol (``>= 0``, summing to at most 1;
        the rest is the cash target). Floats are read through their shortest ``repr``.
    as_of
        Valuation date; lots acquired fewer than ``short_term_days`` before it are short term.
    lots
        Open tax lots per symbol; their quantities must add up to the holding. Symbols
        without lots get no realised gain.
    options
        Bands, minimum trade, share rounding, cash buffer, costs and lot handling.

    Returns
    -------
    RebalancePlan
        Trades (sells then buys), post-trade weights, residual cash, total estimated cost
        and the symbols skipped with their reason.

    Raises
    ------
    ValidationError
        Missing or non-positive prices, negative holdings or cash, targets below zero or
        summing above one, lots that do not match the holding, or bad options.
    """
    options = options or RebalanceOptions()
    absolute, relative, buffer = _check_options(options)
    targets = {s: _decimal(w, "target_weights", s) for s, w in target_weights.items()}
    quantities = {s: _decimal(q, "quantities", s) for s, q in quantities.items()}
    prices = {s: _decimal(p, "prices", s) for s, p in prices.items()}
    cash = _decimal(cash, "cash")
    lots = lots or {}
    _check_inputs(quantities, prices, cash, targets, lots)

    money_step = _ONE.scaleb(-options.money_places)
    share_step = _ONE if options.whole_shares else _ONE.scaleb(-options.fractional_places)
    rate = options.cost_bps / _BPS

    def cost_of(notional: Decimal) -> Decimal:
        return _money(notional * rate, money_step) + options.cost_per_trade

    def outlay(quantity: Decimal, price: Decimal) -> Decimal:
        notional = _money(quantity * price, money_step)
        return notional + cost_of(notional)

    held = {symbol: quantities.get(symbol, _ZERO) for symbol in set(quantities) | set(targets)}
    values = {symbol: held[symbol] * prices[symbol] for symbol in held}
    total = cash + sum(values.values(), _ZERO)
    if total <= 0:
        return RebalancePlan(as_of, total, (), dict.fromkeys(sorted(held), 0.0), cash, _ZERO, ())
    skipped: list[SkippedSymbol] = []
    intents: list[_Intent] = []
    for symbol in sorted(held):
        target = targets.get(symbol, _ZERO)
        weight = values[symbol] / total
        drift = abs(weight - target)
        if drift == 0:
            continue
        if _within_band(drift, target, absolute, relative):
            detail = f"drift {float(drift):.4f} is inside the band"
            skipped.append(SkippedSymbol(symbol, "within_band", detail))
            continue
        gap = target * total - values[symbol]
        side: TradeSide = "buy" if gap > 0 else "sell"
        intents.append(_Intent(symbol, side, abs(gap), exit=target == 0))

    trades: list[Trade] = []
    balance = cash
    for intent in (item for item in intents if item.side == "sell"):
        symbol, price = intent.symbol, prices[intent.symbol]
        if intent.exit:
            quantity = held[symbol]
        else:
            rounding = ROUND_HALF_UP if options.whole_shares else ROUND_DOWN
            quantity = (intent.value / price).quantize(share_step, rounding=rounding)
            quantity = min(quantity, held[symbol])
        notional = _money(quantity * price, money_step)
        reason = _skip_reason(quantity, notional, options)
        if reason is None and cost_of(notional) >= notional:
            reason = ("below_min_trade", "the estimated cost would exceed the proceeds")
        if reason is not None:
            skipped.append(SkippedSymbol(symbol, reason[0], reason[1]))
            continue
        cost = cost_of(notional)
        balance += notional - cost
        sale = Trade(symbol, "sell", quantity, price, notional, cost)
        trades.append(_with_lots(sale, lots.get(symbol), as_of, options, money_step))

    floor = buffer * total
    buys = [item for item in intents if item.side == "buy"]
    wanted = sum((item.value * (_ONE + rate) for item in buys), _ZERO)
    fixed = options.cost_per_trade * len(buys)
    spendable = balance - floor
    scale = _ONE
    if buys and wanted + fixed > spendable:
        scale = max(spendable - fixed, _ZERO) / wanted
    for intent in buys:
        symbol, price = intent.symbol, prices[intent.symbol]
        quantity = (intent.value * scale / price).quantize(share_step, rounding=ROUND_DOWN)
        quantity = min(quantity, _affordable(balance - floor, price, rate, options, share_step))
        # Rounding notional and cost to money_places can still overshoot by a cent or so.
        excess = outlay(quantity, price) - (balance - floor)
        while quantity > 0 and excess > 0:
            steps = (excess / (price * (_ONE + rate))).quantize(share_step, rounding=ROUND_UP)
            quantity = max(quantity - max(steps, share_step), _ZERO)
            excess = outlay(quantity, price) - (balance - floor)
        notional = _money(quantity * price, money_step)
        reason = _skip_reason(quantity, notional, options)
        if reason is not None and scale < _ONE and quantity <= 0:
            reason = ("insufficient_cash", "no cash above the buffer is left for this buy")
        if reason is not None:
            skipped.append(SkippedSymbol(symbol, reason[0], reason[1]))
            continue
        cost = cost_of(notional)
        balance -= notional + cost
        trades.append(Trade(symbol, "buy", quantity, price, notional, cost))

    after = dict(held)
    for trade in trades:
        after[trade.symbol] += trade.quantity if trade.side == "buy" else -trade.quantity
    value_after = balance + sum((after[s] * prices[s] for s in after), _ZERO)
    weights = {
        symbol: float(after[symbol] * prices[symbol] / value_after) if value_after > 0 else 0.0
        for symbol in sorted(after)
    }
    return RebalancePlan(
        as_of=as_of,
        total_value=total,
        trades=tuple(trades),
        post_trade_weights=weights,
        residual_cash=balance,
        total_estimated_cost=sum((trade.estimated_cost for trade in trades), _ZERO),
        skipped=tuple(skipped),
    )


def _affordable(
    cash: Decimal, price: Decimal, rate: Decimal, options: RebalanceOptions, step: Decimal
) -> Decimal:
    room = max(cash - options.cost_per_trade, _ZERO)
    return (room / (price * (_ONE + rate))).quantize(step, rounding=ROUND_DOWN)


def _skip_reason(
    quantity: Decimal, notional: Decimal, options: RebalanceOptions
) -> tuple[SkipReason, str] | None:
    if quantity <= 0:
        unit = "one share" if options.whole_shares else "the smallest fractional step"
        return "zero_quantity", f"the trade rounds to less than {unit}"
    if notional < options.min_trade_value:
        return "below_min_trade", f"notional {notional} is below {options.min_trade_value}"
    return None


def _money(amount: Decimal, step: Decimal) -> Decimal:
    return amount.quantize(step, rounding=ROUND_HALF_EVEN)


def _with_lots(
    sale: Trade,
    symbol_lots: Sequence[LotView] | None,
    as_of: date,
    options: RebalanceOptions,
    money_step: Decimal,
) -> Trade:
    if not symbol_lots:
        return sale
    used = _consume_lots(symbol_lots, sale.quantity, sale.estimated_price, as_of, options)
    gain = _money(sum((use.gain for use in used), _ZERO), money_step)
    short_gain = _money(sum((use.gain for use in used if use.short_term), _ZERO), money_step)
    return replace(
        sale,
        lots_used=used,
        realized_gain=gain,
        short_term_gain=short_gain,
        short_term=short_gain > 0,
    )
