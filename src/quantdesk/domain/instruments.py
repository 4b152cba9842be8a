"""Instruments: what can be priced, traded or held."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

_SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-_^=/:]{0,31}$|^\^[A-Z0-9][A-Z0-9.\-_=/:]{0,30}$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


class AssetClass(StrEnum):
    """Broad asset class of an instrument."""

    EQUITY = "equity"
    ETF = "etf"
    INDEX = "index"
    FX = "fx"
    CRYPTO = "crypto"
    COMMODITY = "commodity"
    FUTURE = "future"
    BOND = "bond"
    OTHER = "other"


def normalize_symbol(symbol: str) -> str:
    """Return ``symbol`` upper-cased and stripped, or raise ``ValueError`` if it is malformed.

    Symbols are 1-32 characters: letters, digits and ``. - _ ^ = / :`` (``BRK.B``, ``^GSPC``,
    ``EURUSD=X``, ``BTC-USD``), starting with a letter, a digit or ``^``.
    """
    cleaned = symbol.strip().upper()
    if not _SYMBOL_RE.match(cleaned):
        raise ValueError(
            f"invalid symbol {symbol!r}: use 1-32 letters, digits or . - _ ^ = / : "
            "starting with a letter, digit or ^"
        )
    return cleaned


@dataclass(frozen=True, slots=True)
class Instrument:
    """A priced instrument.

    ``synthetic`` marks instruments whose prices come from the synthetic market generator;
    every interface shows the flag so generated data is never mistaken for real history.
    ``source`` names the provider or dataset the instrument was loaded from.
    """

    symbol: str
    name: str
    asset_class: AssetClass = AssetClass.EQUITY
    currency: str = "USD"
    exchange: str | None = None
    sector: str | None = None
    synthetic: bool = False
    source: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", normalize_symbol(self.symbol))
        object.__setattr__(self, "asset_class", AssetClass(self.asset_class))
        currency = self.currency.strip().upper()
        if not _CURRENCY_RE.match(currency):
            raise ValueError(f"invalid currency {self.currency!r}: use a 3-letter ISO 4217 code")
        object.__setattr__(self, "currency", currency)
        if not self.name.strip():
            raise ValueError(f"instrument {self.symbol} needs a non-empty name")
