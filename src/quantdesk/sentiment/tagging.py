"""Find which listed companies a news text is about.

:class:`SymbolTagger` knows a universe of companies (symbol, name, aliases) and finds them in a
text four ways:

``cashtag``
    ``$AAPL`` (any known symbol, case-insensitive).
``exchange``
    A symbol in an exchange context: ``(NYSE: CAT)``, ``Nasdaq:AAPL``, ``(CAT.N)``.
``ticker``
    A bare upper-case token equal to a known symbol, on word boundaries (not inside ``AT&T``,
    ``T-Mobile`` or ``U.S.``). Symbols that are also ordinary words or abbreviations (``A``,
    ``ALL``, ``IT``, ``ON``, ``CAT``, ``NOW``, ``ARE``, ``F``, ``KEY``, ``T``, ``AI``...; see
    :data:`AMBIGUOUS_TICKERS`) count only when the company's name also appears in the text.
    So does every bare ticker in a text written mostly in capitals, where capitals carry no
    signal.
``name``
    The company name or an alias, compared on normalised names: case-folded, ``&`` read as
    ``and``, periods and possessive ``'s`` dropped, legal suffixes (``Inc.``, ``Corp.``, ``plc``,
    ``Holdings``, ``Class A``...) and a leading ``The`` removed. A run of words matches when
    its words run together equal the name run together (``Exxon Mobil`` = ``ExxonMobil``,
    ``J.P. Morgan`` = ``JPMorgan``) or, for names of at least ``min_fuzzy_length`` letters,
    when rapidfuzz's ``token_sort_ratio`` of the two reaches ``name_threshold`` (default 90:
    a dropped or doubled letter passes, ``Microsft`` 94, ``Goldman Sach`` 96, but a different
    word does not, ``American Water`` vs ``American Tower`` 86). Shorter names must match
    exactly, so neither ``Applebee's`` nor ``metadata`` is read as ``Apple`` or ``Meta``. The
    first word of the match must contain a capital letter or a digit, so ``apple pie`` is not
    Apple. (A
    capitalised common word at the start of a sentence, ``Apple pie sales...``, still matches:
    surface matching cannot tell them apart.)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz, process

from quantdesk.sentiment.articles import Article

__all__ = [
    "AMBIGUOUS_TICKERS",
    "Company",
    "SymbolMatch",
    "SymbolTagger",
    "normalize_name",
]

MatchKind = Literal["cashtag", "exchange", "ticker", "name"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


AMBIGUOUS_TICKERS: frozenset[str] = _words(
    """
    A AN AM ARE AS AT BE BY DO GO HE HI IF IN IS IT ME MY NO OF OK ON OR SO TO UP US WE
    ACT AGO AIR ALL AND ANY APP ART ASK BIG BOX BUY CAN CAR CAT CUT DAY EAT EYE FAN FAR FLY
    FOR FUN GAS HAS HER HIM HIS HOT HOW JOB JOY KEY LOW MAN MAX NEW NOT NOW OIL OLD ONE OUR
    OUT OWN PAY PEN PRO RUN SAW SAY SEE SIX SKY SUN TEN THE TOP TRY TWO USE WAS WAY WHO WHY
    WIN YES YET YOU
    BANK BEST BILL BLUE BOND BOOM CALL CARD CARE CASE CASH COST CORE DASH DEAL DOOR EARN EDGE
    EVER FAST FIVE FLOW FOUR FREE FULL FUND GAIN GOLD GOOD GROW HEAR HIGH HOLD HOME HOPE HUGE
    INFO JUST KIDS LAND LEAD LIFE LIVE LOAN LOVE MAIN MIND MORE MOVE NEAR NEXT NICE OPEN PATH
    PEAK PLAY PLUS POOL POST RARE RATE REAL RIDE RISE ROAD ROCK SAFE SAND SAVE SELL SHIP SHOP
    SNOW SOLO SPOT STAR STEP TALK TEAM TECH TELL TRIP TRUE TURN VERY WASH WAVE WELL WIRE WISH
    WORK YEAR ZONE
    AI API CEO CFO COO CTO CPI DOJ ECB EPS ESG ETF EU EV EVS FDA FED FTC FY GDP GMT IMF IPO
    NATO OPEC PC PM PPI SEC TV UK UN USA USD EUR GBP JPY CNY UTC ET YOY LLC INC PLC NYSE
    NASDAQ OTC AMEX Q1 Q2 Q3 Q4 H1 H2 VS RE
    """
)
"""Symbols that are also common words or abbreviations; see :class:`SymbolTagger`.

Every one-letter symbol is treated as ambiguous too, listed here or not.
"""

_LEGAL_SUFFIXES = _words(
    """
    inc incorporated corp corporation co cos company companies ltd limited plc llc lp llp ag
    sa se nv bv spa ab asa oyj kgaa holdings holding group
    """
)
_NAME_TOKEN = re.compile(r"[^\W_]+(?:[&.'’][^\W_]+)*|&")
_CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z][A-Za-z0-9]{0,5}(?:\.[A-Za-z]{1,2})?)(?![\w])")
_EXCHANGE = re.compile(
    r"\b(?:NYSE(?:\s+American|\s+Arca|\s+MKT)?|NASDAQ(?:GS|GM|CM)?|Nasdaq(?:GS|GM|CM)?|AMEX|"
    r"LSE|LON|TSX|TSXV|ASX|OTC(?:QX|QB)?|XETRA|Xetra|CBOE|BATS)\s*:\s*"
    r"([A-Za-z][A-Za-z0-9]{0,5}(?:[.\-][A-Za-z]{1,2})?)(?![\w])"
)
_RIC = re.compile(r"\(([A-Z][A-Z0-9]{0,5})\.(?:N|O|OQ|K|A|P)\)")
_BARE = re.compile(
    r"(?<![\w$&.\-/'’])([A-Z][A-Z0-9]{0,5}(?:[.\-][A-Z]{1,2})?)(?![\w&/]|[.\-'’][A-Za-z0-9])"
)
_SHOUTING_SHARE = 0.6


@dataclass(frozen=True, slots=True)
class Company:
    """A company the tagger can recognise.

    Parameters
    ----------
    symbol
        Ticker symbol (``"AAPL"``), stored upper-case.
    name
        Company name as listed (``"Apple Inc."``).
    aliases
        Other names it goes by in the news (``"Google"`` for Alphabet).
    """

    symbol: str
    name: str
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        symbol = self.symbol.strip().upper()
        if not symbol:
            raise ValueError("Company.symbol must not be empty")
        object.__setattr__(self, "symbol", symbol)
        object.__setattr__(self, "aliases", tuple(self.aliases))


@dataclass(frozen=True, slots=True)
class SymbolMatch:
    """Where and how a symbol was found in a text.

    ``start``/``end`` are character offsets of the matched span in the text; ``score`` is 100
    for exact matches and the rapidfuzz similarity for fuzzy name matches.
    """

    symbol: str
    kind: MatchKind
    start: int
    end: int
    text: str
    score: float = 100.0


@dataclass(frozen=True, slots=True)
class _Token:
    norm: str
    start: int
    end: int
    raw: str


@dataclass(frozen=True, slots=True)
class _Variant:
    symbol: str
    spaced: str
    compact: str
    size: int


def _normalize_token(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw).casefold().replace("’", "'")
    if text == "&":
        return "and"
    if text.endswith("'s"):
        text = text[:-2]
    return text.replace(".", "").replace("'", "").replace("&", "and")


def _name_tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for match in _NAME_TOKEN.finditer(text):
        norm = _normalize_token(match.group())
        if norm:
            tokens.append(_Token(norm, match.start(), match.end(), match.group()))
    return tokens


def normalize_name(name: str) -> str:
    """Return a company name reduced to the form the tagger compares.

    Parameters
    ----------
    name
        A company name or alias.

    Returns
    -------
    str
        Case-folded words without punctuation, legal suffixes or a leading ``the``; the
        unstripped words when stripping would leave nothing.

    Examples
    --------
    >>> normalize_name("The Procter & Gamble Company")
    'procter and gamble'
    >>> normalize_name("Alphabet Inc. Class A")
    'alphabet'
    """
    words = [token.norm for token in _name_tokens(name)]
    kept = list(words)
    changed = True
    while changed and kept:
        changed = False
        if len(kept) >= 2 and kept[-2] == "class" and len(kept[-1]) == 1:
            kept = kept[:-2]
            changed = True
        elif kept[-1] in _LEGAL_SUFFIXES or kept[-1] == "and":
            kept = kept[:-1]
            changed = True
    if kept and kept[0] == "the":
        kept = kept[1:]
    return " ".join(kept or words)


class SymbolTagger:
    """Tag texts and articles with the symbols of the companies they mention.

    Parameters
    ----------
    instruments
        The universe: :class:`Company` values or ``(symbol, name)`` /
        ``(symbol, name, aliases)`` tuples.
    name_threshold
        Minimum rapidfuzz ``token_sort_ratio`` (0-100) for a fuzzy name match.
    min_fuzzy_length
        Names (without spaces) shorter than this must match exactly.
    ambiguous
        Extra symbols to treat like :data:`AMBIGUOUS_TICKERS`.

    Raises
    ------
    ValueError
        If the universe is empty, a symbol appears twice, a name is empty, or a setting is out
        of range.
    """

    def __init__(
        self,
        instruments: Sequence[Company | tuple[str, str] | tuple[str, str, Sequence[str]]],
        *,
        name_threshold: float = 90.0,
        min_fuzzy_length: int = 8,
        ambiguous: Iterable[str] = (),
    ) -> None:
        if not 0.0 < name_threshold <= 100.0:
            raise ValueError(f"name_threshold must lie in (0, 100], got {name_threshold}")
        if min_fuzzy_length < 1:
            raise ValueError(f"min_fuzzy_length must be at least 1, got {min_fuzzy_length}")
        companies = [self._company(item) for item in instruments]
        if not companies:
            raise ValueError("SymbolTagger needs at least one company")
        self.companies: dict[str, Company] = {}
        for company in companies:
            if company.symbol in self.companies:
                raise ValueError(f"symbol {company.symbol} appears more than once")
            self.companies[company.symbol] = company
        self.name_threshold = name_threshold
        self.min_fuzzy_length = min_fuzzy_length
        self.ambiguous = AMBIGUOUS_TICKERS | {symbol.strip().upper() for symbol in ambiguous}
        self._by_compact: dict[str, set[str]] = {}
        self._fuzzy: list[_Variant] = []
        longest = 1
        for company in companies:
            for label in (company.name, *company.aliases):
                spaced = normalize_name(label)
                if not spaced:
                    raise ValueError(f"{company.symbol}: name or alias {label!r} has no words")
                variant = _Variant(
                    company.symbol, spaced, spaced.replace(" ", ""), spaced.count(" ") + 1
                )
                self._by_compact.setdefault(variant.compact, set()).add(company.symbol)
                if len(variant.compact) >= min_fuzzy_length:
                    self._fuzzy.append(variant)
                longest = max(longest, variant.size)
        self._max_words = longest + 1
        self._fuzzy_choices = [variant.spaced for variant in self._fuzzy]

    @staticmethod
    def _company(item: Company | tuple[str, str] | tuple[str, str, Sequence[str]]) -> Company:
        if isinstance(item, Company):
            return item
        if len(item) == 2:
            return Company(item[0], item[1])
        return Company(item[0], item[1], tuple(item[2]))

    def __repr__(self) -> str:
        return (
            f"SymbolTagger({len(self.companies)} companies, name_threshold={self.name_threshold})"
        )

    def _lookup(self, token: str) -> str | None:
        upper = token.upper()
        for candidate in (upper, upper.replace("-", "."), upper.replace(".", "-")):
            if candidate in self.companies:
                return candidate
        return None

    def _is_ambiguous(self, symbol: str) -> bool:
        return len(symbol) == 1 or symbol in self.ambiguous

    def matches(self, text: str) -> list[SymbolMatch]:
        """Return every symbol mention found in ``text``, ordered by position.

        Parameters
        ----------
        text
            A headline, summary or article body.

        Returns
        -------
        list[SymbolMatch]
            The mentions; an ambiguous bare ticker appears only when its company's name also
            matched.
        """
        found: list[SymbolMatch] = []
        claimed: list[tuple[int, int]] = []
        for pattern, kind in ((_CASHTAG, "cashtag"), (_EXCHANGE, "exchange"), (_RIC, "exchange")):
            for match in pattern.finditer(text):
                symbol = self._lookup(match.group(1))
                if symbol is not None:
                    found.append(
                        SymbolMatch(symbol, kind, match.start(), match.end(), match.group())  # type: ignore[arg-type]
                    )
                    claimed.append((match.start(), match.end()))
        names = self._name_matches(text)
        found.extend(names)
        named = {match.symbol for match in names}
        shouting = _is_shouting(text, self.companies)
        for match in _BARE.finditer(text):
            start, end = match.span(1)
            if any(left <= start < right for left, right in claimed):
                continue
            symbol = self._lookup(match.group(1))
            if symbol is None:
                continue
            if (shouting or self._is_ambiguous(symbol)) and symbol not in named:
                continue
            found.append(SymbolMatch(symbol, "ticker", start, end, match.group(1)))
        found.sort(key=lambda item: (item.start, item.end, item.symbol))
        return found

    def _name_matches(self, text: str) -> list[SymbolMatch]:
        tokens = _name_tokens(text)
        spans: dict[tuple[int, int], tuple[float, set[str]]] = {}

        def offer(first: int, stop: int, similarity: float, symbol: str) -> None:
            best, symbols = spans.get((first, stop), (-1.0, set()))
            if similarity > best:
                spans[(first, stop)] = (similarity, {symbol})
            elif similarity == best:
                symbols.add(symbol)

        for size in range(1, self._max_words + 1):
            for first in range(len(tokens) - size + 1):
                window = tokens[first : first + size]
                if window[0].norm == "and" or window[-1].norm == "and":
                    continue
                if not any(char.isupper() or char.isdigit() for char in window[0].raw):
                    continue
                compact = "".join(token.norm for token in window)
                for symbol in self._by_compact.get(compact, ()):
                    offer(first, first + size, 100.0, symbol)
                if len(compact) < self.min_fuzzy_length or not self._fuzzy_choices:
                    continue
                spaced = " ".join(token.norm for token in window)
                for _, similarity, index in process.extract(
                    spaced,
                    self._fuzzy_choices,
                    scorer=fuzz.token_sort_ratio,
                    score_cutoff=self.name_threshold,
                    limit=None,
                ):
                    offer(first, first + size, float(similarity), self._fuzzy[index].symbol)
        # Best score first, then the longest span, so overlapping weaker matches lose. Companies
        # sharing the winning name on the same words are all kept.
        ranked = sorted(
            spans.items(), key=lambda item: (-item[1][0], item[0][0] - item[0][1], item[0][0])
        )
        taken: list[tuple[int, int]] = []
        results: list[SymbolMatch] = []
        for (first, stop), (similarity, symbols) in ranked:
            if any(first < right and left < stop for left, right in taken):
                continue
            taken.append((first, stop))
            for symbol in sorted(symbols):
                results.append(self._name_match(text, tokens, first, stop, symbol, similarity))
        return results

    @staticmethod
    def _name_match(
        text: str, tokens: Sequence[_Token], first: int, stop: int, symbol: str, similarity: float
    ) -> SymbolMatch:
        start, end = tokens[first].start, tokens[stop - 1].end
        return SymbolMatch(symbol, "name", start, end, text[start:end], similarity)

    def tag(self, text: str) -> tuple[str, ...]:
        """Return the sorted symbols mentioned in ``text``.

        Parameters
        ----------
        text
            The text to tag.

        Returns
        -------
        tuple[str, ...]
            Distinct symbols, sorted.
        """
        return tuple(sorted({match.symbol for match in self.matches(text)}))

    def tag_article(self, article: Article) -> Article:
        """Return ``article`` with the symbols found in its title and summary added.

        Parameters
        ----------
        article
            The article; symbols it already carries are kept.

        Returns
        -------
        Article
            The tagged copy.
        """
        return article.with_symbols(self.tag(article.text))

    def tag_articles(self, articles: Iterable[Article]) -> list[Article]:
        """Return each article tagged with :meth:`tag_article`.

        Parameters
        ----------
        articles
            Articles to tag.

        Returns
        -------
        list[Article]
            Tagged copies, in order.
        """
        return [self.tag_article(article) for article in articles]


def _is_shouting(text: str, symbols: Container[str]) -> bool:
    # Known symbols are left out: "AAPL, MSFT RALLY" is not shouting, "APPLE SHARES RALLY" is.
    words = [word for word in re.findall(r"[^\W\d_]{2,}", text) if word not in symbols]
    if len(words) < 3:
        return False
    upper = sum(1 for word in words if word.isupper())
    return upper / len(words) >= _SHOUTING_SHARE
