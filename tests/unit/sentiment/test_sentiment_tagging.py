"""Symbol tagging: cashtags, exchange contexts, bare tickers and company names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from quantdesk.sentiment import Article
from quantdesk.sentiment.tagging import Company, SymbolTagger, normalize_name

UNIVERSE = [
    Company("AAPL", "Apple Inc."),
    Company("MSFT", "Microsoft Corporation"),
    Company("META", "Meta Platforms, Inc.", ("Meta", "Facebook")),
    Company("CAT", "Caterpillar Inc."),
    Company("T", "AT&T Inc."),
    Company("F", "Ford Motor Company", ("Ford",)),
    Company("A", "Agilent Technologies, Inc.", ("Agilent",)),
    Company("ALL", "The Allstate Corporation"),
    Company("IT", "Gartner, Inc."),
    Company("ON", "ON Semiconductor Corporation", ("onsemi",)),
    Company("NOW", "ServiceNow, Inc."),
    Company("ARE", "Alexandria Real Estate Equities, Inc."),
    Company("KEY", "KeyCorp"),
    Company("XOM", "Exxon Mobil Corporation"),
    Company("JPM", "JPMorgan Chase & Co.", ("JPMorgan", "J.P. Morgan")),
    Company("GS", "The Goldman Sachs Group, Inc."),
    Company("PG", "The Procter & Gamble Company"),
    Company("BRK.B", "Berkshire Hathaway Inc. Class B", ("Berkshire Hathaway",)),
    Company("PYPL", "PayPal Holdings, Inc."),
    Company("GOOGL", "Alphabet Inc. Class A", ("Google",)),
    Company("GOOG", "Alphabet Inc. Class C", ("Google",)),
    Company("EBAY", "eBay Inc."),
]


@pytest.fixture(scope="module")
def tagger() -> SymbolTagger:
    return SymbolTagger(UNIVERSE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # company names, possessives, legal suffixes
        ("Apple beats estimates as iPhone sales climb", ("AAPL",)),
        ("Microsoft's cloud unit grows 30%", ("MSFT",)),
        ("Apple Inc. and Microsoft Corp. lead gains", ("AAPL", "MSFT")),
        ("Goldman Sachs cuts its S&P 500 target", ("GS",)),
        ("Procter & Gamble raises prices again", ("PG",)),
        ("Procter and Gamble raises prices again", ("PG",)),
        # apple vs Apple, Applebee's
        ("Applebee's opens 40 new restaurants", ()),
        ("Farmers expect a bumper apple harvest", ()),
        ("Grandma's apple pie wins the county fair", ()),
        # Meta vs metadata
        ("New metadata standard for photos", ()),
        ("Meta shares jump after ad sales beat", ("META",)),
        ("Facebook parent posts record profit", ("META",)),
        # names split across case, spacing and punctuation
        ("ExxonMobil lifts output in Guyana", ("XOM",)),
        ("Exxon Mobil lifts output in Guyana", ("XOM",)),
        ("J.P. Morgan upgrades the chip sector", ("JPM",)),
        ("JP Morgan upgrades the chip sector", ("JPM",)),
        ("Paypal and PAYPAL and Pay Pal are one company", ("PYPL",)),
        ("eBay sales slip", ("EBAY",)),
        ("APPLE SHARES RALLY ON STRONG DEMAND", ("AAPL",)),
        # fuzzy names: a dropped letter passes, a different company does not
        ("Microsft wins a defense cloud contract", ("MSFT",)),
        ("Goldman Sach trims bonuses", ("GS",)),
        # several companies sharing a name are all tagged
        ("Google unveils a new search model", ("GOOG", "GOOGL")),
        ("Berkshire Hathaway adds to its energy stake", ("BRK.B",)),
        # cashtags match any symbol, common words included
        ("$CAT and $aapl move higher", ("AAPL", "CAT")),
        ("Watching $ALL and $NOW into earnings", ("ALL", "NOW")),
        ("$F drops 3%", ("F",)),
        # exchange contexts
        ("Caterpillar Inc. (NYSE: CAT) raises its dividend", ("CAT",)),
        ("Heavy machinery maker (NYSE:CAT) raises its dividend", ("CAT",)),
        ("KeyCorp (NYSE: KEY) beats", ("KEY",)),
        ("Shares of the carmaker (F.N) fell", ("F",)),
        ("Gartner (NYSE: IT) lifts outlook", ("IT",)),
        ("Berkshire class B shares (NYSE: BRK.B) hit a record", ("BRK.B",)),
        ("Berkshire (NYSE: BRK-B) hit a record", ("BRK.B",)),
        # unambiguous bare tickers
        ("AAPL and MSFT lead the Nasdaq higher", ("AAPL", "MSFT")),
        ("AAPL, MSFT RALLY", ("AAPL", "MSFT")),
        ("BRK.B hits an all-time high", ("BRK.B",)),
        ("JPM, GS report on Friday", ("GS", "JPM")),
        # common-word tickers are ignored on their own ...
        ("IT spending is ON the rise NOW and it is A good time", ()),
        ("ALL eyes ARE ON the Fed", ()),
        ("The KEY question is whether CAT owners will upgrade", ()),
        ("T-Mobile adds subscribers", ()),
        ("The U.S. economy added jobs", ()),
        ("Ford F-150 recall widens", ("F",)),
        # ... but count when the company is named as well
        ("Caterpillar shares: CAT up 3% after results", ("CAT",)),
        ("Agilent says A shares will split", ("A",)),
        ("ServiceNow stock: NOW gains after guidance", ("NOW",)),
        # AT&T: the name counts, the bare T inside it does not need to
        ("AT&T cuts prices for unlimited plans", ("T",)),
        ("AT and T cuts prices", ("T",)),
        # ALL-CAPS headline: bare common-word tickers carry no signal
        ("ALL EYES ON APPLE AS IT REPORTS", ("AAPL",)),
        ("", ()),
    ],
)
def test_tag(tagger: SymbolTagger, text: str, expected: tuple[str, ...]) -> None:
    assert tagger.tag(text) == expected


def test_matches_report_kind_span_and_score(tagger: SymbolTagger) -> None:
    text = "Caterpillar Inc. (NYSE: CAT) and $MSFT; Microsft too"
    found = tagger.matches(text)
    summary = [(m.symbol, m.kind, text[m.start : m.end]) for m in found]
    assert summary == [
        ("CAT", "name", "Caterpillar"),
        ("CAT", "exchange", "NYSE: CAT"),
        ("MSFT", "cashtag", "$MSFT"),
        ("MSFT", "name", "Microsft"),
    ]
    assert found[0].score == 100.0
    # rapidfuzz token_sort_ratio("microsft", "microsoft") = 2 * 8 / 17
    assert found[-1].score == pytest.approx(200 * 8 / 17)


def test_tuples_and_extra_ambiguous_symbols() -> None:
    tagger = SymbolTagger([("RUN", "Sunrun Inc.", ["Sunrun"]), ("ZETA", "Zeta Global Holdings")])
    assert tagger.tag("RUN shares climb") == ()
    assert tagger.tag("Sunrun: RUN shares climb") == ("RUN",)
    assert tagger.tag("ZETA shares climb") == ("ZETA",)
    strict = SymbolTagger([("ZETA", "Zeta Global Holdings")], ambiguous=["zeta"])
    assert strict.tag("ZETA shares climb") == ()
    assert strict.tag("Zeta Global: ZETA shares climb") == ("ZETA",)


def test_threshold_is_configurable() -> None:
    loose = SymbolTagger([("MSFT", "Microsoft")], name_threshold=85)
    strict = SymbolTagger([("MSFT", "Microsoft")])
    # token_sort_ratio("mircosoft", "microsoft") = 88.9: a transposition costs two edits
    assert loose.tag("Mircosoft") == ("MSFT",)
    assert strict.tag("Mircosoft") == ()
    exact_only = SymbolTagger([("MSFT", "Microsoft")], min_fuzzy_length=20)
    assert exact_only.tag("Microsft") == ()


def test_tag_article_keeps_existing_symbols(tagger: SymbolTagger) -> None:
    article = Article(
        "wire",
        datetime(2024, 5, 7, tzinfo=UTC),
        "Apple supplier warns",
        summary="Analysts expect Microsoft to follow.",
        symbols=("TSM",),
    )
    tagged = tagger.tag_article(article)
    assert tagged.symbols == ("AAPL", "MSFT", "TSM")
    assert tagger.tag_articles([article]) == [tagged]
    plain = Article("wire", datetime(2024, 5, 7, tzinfo=UTC), "Nothing to see")
    assert tagger.tag_article(plain) is plain


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("The Procter & Gamble Company", "procter and gamble"),
        ("Alphabet Inc. Class A", "alphabet"),
        ("JPMorgan Chase & Co.", "jpmorgan chase"),
        ("The Goldman Sachs Group, Inc.", "goldman sachs"),
        ("McDonald's Corp", "mcdonald"),
        ("AT&T Inc.", "atandt"),
        ("Holdings Inc.", "holdings inc"),
    ],
)
def test_normalize_name(name: str, expected: str) -> None:
    assert normalize_name(name) == expected


@pytest.mark.parametrize(
    ("universe", "options", "message"),
    [
        ([], {}, "at least one"),
        ([("A", "X"), ("a", "Y")], {}, "more than once"),
        ([("A", "!!!")], {}, "no words"),
        ([("A", "X")], {"name_threshold": 0}, "name_threshold"),
        ([("A", "X")], {"min_fuzzy_length": 0}, "min_fuzzy_length"),
    ],
)
def test_invalid_configuration(
    universe: list[tuple[str, str]], options: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        SymbolTagger(universe, **options)  # type: ignore[arg-type]


def test_company_requires_a_symbol() -> None:
    with pytest.raises(ValueError, match="symbol"):
        Company(" ", "Name")
