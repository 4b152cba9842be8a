"""Parser, type checker and error reporting of the screener expression language."""

from __future__ import annotations

import pytest
from expression_fixtures import REGISTRY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantdesk.core.errors import ValidationError
from quantdesk.signals.expressions import (
    ExpressionError,
    compile_expression,
    compile_numeric,
)
from quantdesk.signals.expressions._ast import (
    Arithmetic,
    Boolean,
    Call,
    Comparison,
    Keyword,
    Lag,
    Logical,
    Name,
    Negate,
    Node,
    Not,
    Number,
    Output,
    Span,
    to_source,
)
from quantdesk.signals.expressions._parser import parse


def sexpr(node: Node) -> str:
    """Return a fully bracketed prefix form, written independently of the printer."""
    if isinstance(node, Number | Boolean):
        return str(node.value)
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Call):
        parts = [node.name, *(sexpr(arg) for arg in node.args)]
        parts += [f"{keyword.name}={sexpr(keyword.value)}" for keyword in node.keywords]
        return f"(call {' '.join(parts)})"
    if isinstance(node, Output):
        return f"(out {sexpr(node.target)} {node.name})"
    if isinstance(node, Lag):
        return f"(lag {sexpr(node.target)} {node.bars})"
    if isinstance(node, Negate):
        return f"(neg {sexpr(node.operand)})"
    if isinstance(node, Not):
        return f"(not {sexpr(node.operand)})"
    assert isinstance(node, Arithmetic | Comparison | Logical)
    return f"({node.op} {sexpr(node.left)} {sexpr(node.right)})"


# -- precedence and associativity -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a or b and c", "(or a (and b c))"),
        ("a and b or c", "(or (and a b) c)"),
        ("a or b or c", "(or (or a b) c)"),
        ("a and b and c", "(and (and a b) c)"),
        ("not a and b", "(and (not a) b)"),
        ("not not a", "(not (not a))"),
        ("not a < b", "(not (< a b))"),
        ("a < b and c >= d", "(and (< a b) (>= c d))"),
        ("a + b * c", "(+ a (* b c))"),
        ("a * b + c", "(+ (* a b) c)"),
        ("a - b - c", "(- (- a b) c)"),
        ("a / b / c", "(/ (/ a b) c)"),
        ("a - (b - c)", "(- a (- b c))"),
        ("(a + b) * c", "(* (+ a b) c)"),
        ("-a * b", "(* (neg a) b)"),
        ("- -a", "(neg (neg a))"),
        ("-a[1]", "(neg (lag a 1))"),
        ("(-a)[1]", "(lag (neg a) 1)"),
        ("a + b < c * d", "(< (+ a b) (* c d))"),
        ("a != -1", "(!= a (neg 1))"),
        ("macd.signal[2]", "(lag (out macd signal) 2)"),
        ("macd().hist", "(out (call macd) hist)"),
        ("bbands(20, 2, 2).upper", "(out (call bbands 20 2 2) upper)"),
        ("sma(20, source=volume)", "(call sma 20 source=volume)"),
        ("f(a, b=1 + 2)", "(call f a b=(+ 1 2))"),
        ("close[1][2]", "(lag (lag close 1) 2)"),
        ("x.y.z", "(out (out x y) z)"),
        ("NOT a AnD TRUE Or False", "(or (and (not a) True) False)"),
    ],
)
def test_precedence_and_associativity(text: str, expected: str) -> None:
    assert sexpr(parse(text)) == expected


@pytest.mark.parametrize(
    ("text", "value"),
    [("14", 14), ("2.5", 2.5), ("1e-3", 0.001), ("2.5E+2", 250.0), (".5", 0.5), ("007", 7)],
)
def test_number_literals(text: str, value: float) -> None:
    node = parse(text)
    assert isinstance(node, Number)
    assert node.value == value
    assert isinstance(node.value, int) == isinstance(value, int)


def test_names_and_keywords_are_case_insensitive() -> None:
    assert parse("RSI(14) < 30 AND Close > SMA(200)") == parse("rsi(14) < 30 and close > sma(200)")


# -- spans --------------------------------------------------------------------------------------


def test_spans_point_at_the_source() -> None:
    text = "rsi(14) < 30 and close > sma(200)"
    tree = parse(text)
    assert isinstance(tree, Logical)
    assert tree.span == Span(0, 33)
    assert isinstance(tree.left, Comparison)
    assert tree.left.span == Span(0, 12)
    call = tree.left.left
    assert isinstance(call, Call)
    assert (call.span, call.name_span) == (Span(0, 7), Span(0, 3))
    assert call.args[0].span == Span(4, 6)
    assert tree.left.right.span == Span(10, 12)
    assert isinstance(tree.right, Comparison)
    assert tree.right.left.span == Span(17, 22)
    assert tree.right.right.span == Span(25, 33)


def test_spans_of_postfix_brackets_and_keywords() -> None:
    text = "(close + 1)[3] > bbands(20, nbdevup=2).upper"
    tree = parse(text)
    assert isinstance(tree, Comparison)
    lag = tree.left
    assert isinstance(lag, Lag)
    assert lag.span == Span(0, 14)
    assert lag.target.span == Span(0, 11)  # brackets belong to the parenthesised node
    output = tree.right
    assert isinstance(output, Output)
    assert output.span == Span(17, 44)
    assert output.name_span == Span(39, 44)
    assert isinstance(output.target, Call)
    keyword = output.target.keywords[0]
    assert isinstance(keyword, Keyword)
    assert keyword.span == Span(28, 37)
    assert text[keyword.span.start : keyword.span.end] == "nbdevup=2"


# -- errors -------------------------------------------------------------------------------------


def error_of(text: str, *, numeric: bool = False) -> ExpressionError:
    compile_ = compile_numeric if numeric else compile_expression
    with pytest.raises(ExpressionError) as info:
        compile_(text, REGISTRY)
    return info.value


# (text, 0-based position, length, the reason after "at column N: ")
ERRORS = [
    # lexer
    ("__import__('os')", 11, 1, "unexpected quote; the language has no strings"),
    ("close > 1 & open > 1", 10, 1, "unexpected '&'; write 'and' / 'or'"),
    ("!(close > 1)", 0, 1, "unexpected '!'; write 'not' to negate or '!=' to compare"),
    ("close > 1e", 8, 2, "malformed number '1e'; write an exponent like 1e-3"),
    ("close > 12abc", 8, 5, "malformed number '12abc'; separate numbers from names"),
    ("close > $5", 8, 1, "unexpected character '$'"),
    # parser
    ("", 0, 1, "the expression is empty"),
    ("close >", 7, 1, "unexpected end of expression; expected a number, a name or '('"),
    (
        "a < b < c",
        6,
        1,
        "comparisons cannot be chained; join them with 'and', e.g. a < b and b < ...",
    ),
    (
        "(close > 1",
        10,
        1,
        "expected ')' to close the '(' at column 1, found the end of the expression",
    ),
    ("close > 1)", 9, 1, "unexpected ')'; this ')' has no matching '('"),
    (
        "close > 1 open",
        10,
        4,
        "unexpected name 'open'; join conditions with 'and' / 'or' or use an operator",
    ),
    ("close > ()", 9, 1, "empty parentheses; put an expression inside"),
    ("close. > 1", 7, 1, "expected an output name after '.', found '>'"),
    ("close[] > 1", 6, 1, "expected a number of bars inside '[ ]', e.g. close[1]"),
    ("close[1 > 1", 8, 1, "expected ']' to close the lag, found '>'"),
    (
        "sma(20 close) > 1",
        7,
        5,
        "expected ',' or ')' in the call to sma opened at column 4, found name 'close'",
    ),
    (
        "sma(timeperiod=20, 5) > 1",
        19,
        1,
        "positional argument after a keyword argument; put positional arguments first",
    ),
    ("+close > 1", 0, 1, "unary '+' is not supported; drop it"),
    ("close > and", 8, 3, "unexpected keyword 'and'; expected a value"),
    # lags
    (
        "close[-1] > 0",
        6,
        2,
        "a lag must be a non-negative whole number of bars written out, got '-1'",
    ),
    (
        "close[1.5] > 0",
        6,
        3,
        "a lag must be a non-negative whole number of bars written out, got '1.5'",
    ),
    (
        "close[open] > 0",
        6,
        4,
        "a lag must be a non-negative whole number of bars written out, got 'open'",
    ),
    # names and functions
    ("rsl(14) < 30", 0, 3, "unknown function 'rsl'; did you mean rsi?"),
    ("close > smaa(200)", 8, 4, "unknown function 'smaa'; did you mean sma?"),
    ("clsoe > 1", 0, 5, "unknown name 'clsoe'; did you mean close?"),
    (
        "zzz > 1",
        0,
        3,
        "unknown name 'zzz'; use a price field (open, high, low, close, volume), an indicator or "
        "a function",
    ),
    ("ts > 1", 0, 2, "'ts' (the bar time) cannot be used in expressions"),
    ("crosses_above > 1", 0, 13, "'crosses_above' is a function; call it as crosses_above(a, b)"),
    (
        "close(1) > 2",
        0,
        5,
        "'close' is a price field, not a function; write close (or close[n] for n bars ago)",
    ),
    # arity
    (
        "crosses_above(close)",
        0,
        20,
        "crosses_above takes 2 arguments (a, b), got 1; call it as crosses_above(a, b)",
    ),
    ("abs(close, open) > 1", 0, 16, "abs takes 1 argument (x), got 2; call it as abs(x)"),
    (
        "highest(close, n=5) > 1",
        15,
        3,
        "highest takes no keyword arguments; call it as highest(x, n)",
    ),
    ("rsi(14, 3) < 30", 8, 1, "rsi: takes at most 1 parameters (timeperiod), got 2"),
    # parameters
    (
        "sma(close) > 1",
        4,
        5,
        "sma.timeperiod must be a number written out (indicator settings are fixed when the "
        "expression is compiled), got 'close'; to compute it on another price field write "
        "source=close",
    ),
    (
        "rsi(7 + 7) < 30",
        4,
        5,
        "rsi.timeperiod must be a number written out (indicator settings are fixed when the "
        "expression is compiled), got '7 + 7'",
    ),
    ("rsi(1) < 30", 4, 1, "rsi.timeperiod: 1 is out of bounds; use 2..100000"),
    ("rsi(14.5) < 30", 4, 4, "rsi.timeperiod: must be a whole number, got 14.5"),
    ("sma(timeperiod=1) > 3", 4, 12, "sma.timeperiod: 1 is out of bounds; use 2..100000"),
    ("sma(20, timeperiod=5) > 3", 8, 12, "sma.timeperiod: given both by position and by name"),
    (
        "sma(periods=5) > 3",
        4,
        9,
        "sma.periods: sma has parameters timeperiod; did you mean timeperiod?",
    ),
    ("sma(timeperiod=5, timeperiod=6) > 3", 18, 12, "parameter 'timeperiod' given twice"),
    (
        "highest(close, 0) > 1",
        15,
        1,
        "highest's 2nd argument (n) must be a whole number of bars (at least 1) written out, "
        "got '0'",
    ),
    (
        "avg_volume(volume) > 1",
        11,
        6,
        "avg_volume's 1st argument (n) must be a whole number of bars (at least 1) written out, "
        "got 'volume'",
    ),
    (
        "sma(20, source=clse) > 1",
        15,
        4,
        "source must be one of open, high, low, close, volume, got 'clse'; did you mean close?",
    ),
    (
        "obv(source=high) > 0",
        4,
        11,
        "obv reads close, volume; source= only applies to indicators with one input",
    ),
    # outputs
    ("macd < 0", 0, 4, "macd has outputs macd, signal, hist; pick one, e.g. macd.macd"),
    (
        "macd(12, 26, 9) < 0",
        0,
        15,
        "macd has outputs macd, signal, hist; pick one, e.g. macd(12, 26, 9).macd",
    ),
    ("highest(macd, 5) > 0", 8, 4, "macd has outputs macd, signal, hist; pick one, e.g. macd.macd"),
    (
        "macd.sgnal > 0",
        5,
        5,
        "macd has no output 'sgnal'; did you mean signal? (outputs: macd, signal, hist)",
    ),
    (
        "bbands(20).mid > 0",
        11,
        3,
        "bbands has no output 'mid'; did you mean middle? (outputs: upper, middle, lower)",
    ),
    ("rsi(14).foo > 1", 8, 3, "rsi has one output, 'value'; drop '.foo'"),
    ("close.value > 1", 6, 5, "only indicators have outputs; 'close' is a price field"),
    (
        "(rsi(14) + 1).value > 1",
        14,
        5,
        "only indicators have outputs; '(rsi(14) + 1)' is not an indicator",
    ),
    # types
    (
        "rsi(14) and 3",
        0,
        7,
        "'and' combines conditions, but 'rsi(14)' is a number; compare it, e.g. rsi(14) > 0",
    ),
    (
        "rsi(14) < 30 and 3",
        17,
        1,
        "'and' combines conditions, but '3' is a number; compare it, e.g. 3 > 0",
    ),
    (
        "close > (rsi(14) < 30)",
        8,
        14,
        "'>' compares numbers, but '(rsi(14) < 30)' is a condition (true/false)",
    ),
    (
        "not close",
        4,
        5,
        "'not' needs a condition, but 'close' is a number; compare it, e.g. close > 0",
    ),
    (
        "-(close > 1) < 0",
        1,
        11,
        "'-' needs a number, but '(close > 1)' is a condition (true/false)",
    ),
    ("true + 1 > 0", 0, 4, "'+' needs numbers, but 'true' is a condition (true/false)"),
    (
        "crosses_above(close > 1, 2)",
        14,
        9,
        "crosses_above's 1st argument (a) must be a number, but 'close > 1' is a condition "
        "(true/false)",
    ),
    (
        "rsi(14)",
        0,
        7,
        "a screening condition must be true or false, but 'rsi(14)' is a number; compare it, "
        "e.g. rsi(14) > 0",
    ),
]


@pytest.mark.parametrize(("text", "position", "length", "reason"), ERRORS)
def test_error_kinds_point_at_the_exact_column(
    text: str, position: int, length: int, reason: str
) -> None:
    error = error_of(text)
    assert isinstance(error, ValidationError)
    issue = error.issues[0]
    assert issue.location == "expression"
    assert issue.row is None
    assert issue.reason == f"at column {position + 1}: {reason}"
    assert (error.position, error.length) == (position, length)


def test_numeric_compilation_requires_a_number() -> None:
    error = error_of("close > 1", numeric=True)
    assert error.issues[0].reason == (
        "at column 1: a chart series must be a number, but 'close > 1' is a condition"
    )
    assert compile_numeric("(close - sma(20)) / atr(14)", REGISTRY).kind == "number"


def test_caret_underlines_the_span() -> None:
    error = error_of("rsi(14) < 30 and close > smaa(200)")
    assert error.caret() == "rsi(14) < 30 and close > smaa(200)\n                         ^^^^"
    assert error_of("close >").caret() == "close >\n       ^"


def test_multi_line_errors_give_line_and_column() -> None:
    error = error_of("rsi(14) < 30 and\n  clsoe > 1")
    assert (
        error.issues[0].reason == "at line 2, column 3: unknown name 'clsoe'; did you mean close?"
    )
    assert error.position == 19
    assert error.caret() == "  clsoe > 1\n  ^^^^^"


def test_message_reads_as_one_line() -> None:
    error = error_of("rsl(14) < 30")
    assert str(error) == (
        "invalid expression: expression: at column 1: unknown function 'rsl'; did you mean rsi?"
    )


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('ls')",
        'eval("1")',
        "().__class__.__bases__[0]",
        "open('/etc/passwd')",
        "close; import os",
        "lambda: 1",
        "close if close else open",
    ],
)
def test_python_is_never_evaluated(text: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(text, REGISTRY)


def test_overlong_and_deep_expressions_fail_cleanly() -> None:
    with pytest.raises(ExpressionError, match="longer than"):
        compile_expression("close > 1 and " * 400 + "true", REGISTRY)
    with pytest.raises(ExpressionError, match="nested too deeply"):
        compile_expression("(" * 900 + "close > 1" + ")" * 900, REGISTRY)


# -- hypothesis: printing and parsing round-trip ------------------------------------------------

NO_SPAN = Span(0, 0)
names = st.sampled_from(["close", "open", "high", "low", "volume", "obv", "x_1"])
numbers = st.one_of(
    st.integers(0, 10**6),
    st.floats(0, 1e9, allow_nan=False, allow_infinity=False),
).map(lambda value: Number(value, NO_SPAN))


def extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    keywords = st.lists(
        st.builds(
            Keyword, st.sampled_from(["timeperiod", "source", "k"]), children, st.just(NO_SPAN)
        ),
        max_size=2,
        unique_by=lambda keyword: keyword.name,
    ).map(tuple)
    return st.one_of(
        st.builds(
            Call,
            st.sampled_from(["sma", "rsi", "crosses_above", "f"]),
            st.lists(children, max_size=3).map(tuple),
            keywords,
            st.just(NO_SPAN),
            st.just(NO_SPAN),
        ),
        st.builds(
            Output,
            children,
            st.sampled_from(["signal", "upper", "value"]),
            st.just(NO_SPAN),
            st.just(NO_SPAN),
        ),
        st.builds(Lag, children, st.integers(0, 300), st.just(NO_SPAN)),
        st.builds(Negate, children, st.just(NO_SPAN)),
        st.builds(Not, children, st.just(NO_SPAN)),
        st.builds(
            Arithmetic, st.sampled_from(["+", "-", "*", "/"]), children, children, st.just(NO_SPAN)
        ),
        st.builds(
            Comparison,
            st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
            children,
            children,
            st.just(NO_SPAN),
        ),
        st.builds(Logical, st.sampled_from(["and", "or"]), children, children, st.just(NO_SPAN)),
    )


trees = st.recursive(
    st.one_of(
        numbers,
        names.map(lambda name: Name(name, NO_SPAN)),
        st.booleans().map(lambda value: Boolean(value, NO_SPAN)),
    ),
    extend,
    max_leaves=12,
)


def nodes_of(node: Node) -> list[Node]:
    found = [node]
    if isinstance(node, Call):
        for child in (*node.args, *(keyword.value for keyword in node.keywords)):
            found += nodes_of(child)
    elif isinstance(node, Output | Lag):
        found += nodes_of(node.target)
    elif isinstance(node, Negate | Not):
        found += nodes_of(node.operand)
    elif isinstance(node, Arithmetic | Comparison | Logical):
        found += nodes_of(node.left) + nodes_of(node.right)
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_printed_trees_parse_back_to_themselves(tree: Node) -> None:
    text = to_source(tree)
    parsed = parse(text)
    assert parsed == tree
    assert to_source(parsed) == text
    # Every node's span slices out text that parses to that very node.
    for node in nodes_of(parsed):
        assert parse(text[node.span.start : node.span.end]) == node


@settings(max_examples=60, deadline=None)
@given(trees, st.sampled_from([" ", "  ", "\t", "\n"]))
def test_spacing_and_keyword_case_do_not_matter(tree: Node, space: str) -> None:
    text = to_source(tree)
    spaced = text.replace(" ", space).replace("(", f"({space}").replace(",", f"{space},")
    shouted = spaced.replace("and", "AND").replace("not", "Not").replace("or", "OR")
    assert parse(shouted) == tree


def test_public_surface_is_pinned() -> None:
    import quantdesk.signals.expressions as expressions

    assert sorted(expressions.__all__) == [
        "Expression",
        "ExpressionError",
        "ScreenMatch",
        "ScreenResult",
        "StreamingExpression",
        "compile_expression",
        "compile_numeric",
        "screen",
    ]
