"""A recursive-descent parser from tokens to the syntax tree.

Grammar, loosest binding first (keywords are case-insensitive)::

    expression  := or
    or          := and ("or" and)*
    and         := not ("and" not)*
    not         := "not" not | comparison
    comparison  := additive [("<" | "<=" | ">" | ">=" | "==" | "!=") additive]
    additive    := term (("+" | "-") term)*
    term        := unary (("*" | "/") unary)*
    unary       := "-" unary | postfix
    postfix     := primary ("." NAME | "[" INTEGER "]")*     INTEGER >= 0, written out
    primary     := NUMBER | "true" | "false" | NAME ["(" [arguments] ")"] | "(" expression ")"
    arguments   := argument ("," argument)*          positional arguments before keywords
    argument    := NAME "=" expression | expression

Comparisons do not chain (``a < b < c`` is an error pointing at the second operator).
"""

from __future__ import annotations

from dataclasses import replace
from typing import cast

from quantdesk.signals.expressions._ast import (
    Arithmetic,
    ArithmeticOperator,
    Boolean,
    Call,
    Comparison,
    ComparisonOperator,
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
)
from quantdesk.signals.expressions._errors import ExpressionError
from quantdesk.signals.expressions._lexer import Token, tokenize

_COMPARISONS = frozenset({"<", "<=", ">", ">=", "==", "!="})


def parse(text: str) -> Node:
    """Return the syntax tree of ``text``.

    Parameters
    ----------
    text
        The expression as the user typed it.

    Returns
    -------
    Node
        The root of the tree; every node carries its span in ``text``.

    Raises
    ------
    ExpressionError
        On any syntax error, pointing at the offending token.
    """
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    # -- token helpers -------------------------------------------------------------------------

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def at(self, kind: str, text: str | None = None) -> bool:
        token = self.current
        return token.kind == kind and (text is None or token.text == text)

    def expect_operator(self, text: str, context: str) -> Token:
        if not self.at("operator", text):
            raise self.error_at(
                self.current, f"expected {text!r} {context}, found {_describe(self.current)}"
            )
        return self.advance()

    def error_at(self, token: Token, reason: str) -> ExpressionError:
        return ExpressionError(
            reason, text=self.text, position=token.start, length=max(1, token.end - token.start)
        )

    # -- grammar -------------------------------------------------------------------------------

    def parse(self) -> Node:
        if self.at("end"):
            raise ExpressionError("the expression is empty", text=self.text, position=0)
        node = self.parse_or()
        if not self.at("end"):
            token = self.current
            hint = ""
            if token.kind in {"name", "number"} or token.text == "(":
                hint = "; join conditions with 'and' / 'or' or use an operator"
            elif token.text == ")":
                hint = "; this ')' has no matching '('"
            raise self.error_at(token, f"unexpected {_describe(token)}{hint}")
        return node

    def parse_or(self) -> Node:
        node = self.parse_and()
        while self.at("keyword", "or"):
            self.advance()
            right = self.parse_and()
            node = Logical("or", node, right, Span(node.span.start, right.span.end))
        return node

    def parse_and(self) -> Node:
        node = self.parse_not()
        while self.at("keyword", "and"):
            self.advance()
            right = self.parse_not()
            node = Logical("and", node, right, Span(node.span.start, right.span.end))
        return node

    def parse_not(self) -> Node:
        if self.at("keyword", "not"):
            token = self.advance()
            operand = self.parse_not()
            return Not(operand, Span(token.start, operand.span.end))
        return self.parse_comparison()

    def parse_comparison(self) -> Node:
        left = self.parse_additive()
        if not (self.current.kind == "operator" and self.current.text in _COMPARISONS):
            return left
        op = cast(ComparisonOperator, self.advance().text)
        right = self.parse_additive()
        node = Comparison(op, left, right, Span(left.span.start, right.span.end))
        if self.current.kind == "operator" and self.current.text in _COMPARISONS:
            raise self.error_at(
                self.current,
                f"comparisons cannot be chained; join them with 'and', e.g. "
                f"{self.text[left.span.start : right.span.end]} and "
                f"{self.text[right.span.start : right.span.end]} {self.current.text} ...",
            )
        return node

    def parse_additive(self) -> Node:
        node = self.parse_term()
        while self.current.kind == "operator" and self.current.text in {"+", "-"}:
            op = cast(ArithmeticOperator, self.advance().text)
            right = self.parse_term()
            node = Arithmetic(op, node, right, Span(node.span.start, right.span.end))
        return node

    def parse_term(self) -> Node:
        node = self.parse_unary()
        while self.current.kind == "operator" and self.current.text in {"*", "/"}:
            op = cast(ArithmeticOperator, self.advance().text)
            right = self.parse_unary()
            node = Arithmetic(op, node, right, Span(node.span.start, right.span.end))
        return node

    def parse_unary(self) -> Node:
        if self.at("operator", "-"):
            token = self.advance()
            operand = self.parse_unary()
            return Negate(operand, Span(token.start, operand.span.end))
        if self.at("operator", "+"):
            raise self.error_at(self.current, "unary '+' is not supported; drop it")
        return self.parse_postfix()

    def parse_postfix(self) -> Node:
        node = self.parse_primary()
        while True:
            if self.at("operator", "."):
                self.advance()
                if not self.at("name"):
                    raise self.error_at(
                        self.current,
                        f"expected an output name after '.', found {_describe(self.current)}",
                    )
                name = self.advance()
                node = Output(
                    node, name.text, Span(node.span.start, name.end), Span(name.start, name.end)
                )
            elif self.at("operator", "["):
                node = self.parse_lag(node)
            else:
                return node

    def parse_lag(self, target: Node) -> Node:
        self.advance()
        if self.at("operator", "]"):
            raise self.error_at(
                self.current, "expected a number of bars inside '[ ]', e.g. close[1]"
            )
        inner = self.parse_additive()
        if not (isinstance(inner, Number) and isinstance(inner.value, int)):
            shown = self.text[inner.span.start : inner.span.end]
            raise ExpressionError(
                f"a lag must be a non-negative whole number of bars written out, got {shown!r}",
                text=self.text,
                position=inner.span.start,
                length=inner.span.length,
            )
        closing = self.expect_operator("]", "to close the lag")
        return Lag(target, inner.value, Span(target.span.start, closing.end))

    def parse_primary(self) -> Node:
        token = self.current
        if token.kind == "number":
            self.advance()
            return Number(cast(int | float, token.value), Span(token.start, token.end))
        if token.kind == "keyword" and token.text in {"true", "false"}:
            self.advance()
            return Boolean(token.text == "true", Span(token.start, token.end))
        if token.kind == "name":
            self.advance()
            if self.at("operator", "("):
                return self.parse_call(token)
            return Name(token.text, Span(token.start, token.end))
        if self.at("operator", "("):
            opening = self.advance()
            if self.at("operator", ")"):
                raise self.error_at(self.current, "empty parentheses; put an expression inside")
            inner = self.parse_or()
            if not self.at("operator", ")"):
                raise self.error_at(
                    self.current,
                    f"expected ')' to close the '(' at column {opening.start + 1}, "
                    f"found {_describe(self.current)}",
                )
            closing = self.advance()
            # The brackets belong to the node's extent, so enclosing spans end after ')'.
            return replace(inner, span=Span(opening.start, closing.end))
        if token.kind == "end":
            raise self.error_at(
                token, "unexpected end of expression; expected a number, a name or '('"
            )
        if token.kind == "keyword":
            raise self.error_at(token, f"unexpected keyword {token.text!r}; expected a value")
        raise self.error_at(token, f"unexpected {_describe(token)}; expected a value")

    def parse_call(self, name: Token) -> Node:
        opening = self.advance()
        args: list[Node] = []
        keywords: list[Keyword] = []
        if not self.at("operator", ")"):
            while True:
                if self.at("name") and self.peek().kind == "operator" and self.peek().text == "=":
                    key = self.advance()
                    self.advance()
                    value = self.parse_or()
                    keywords.append(Keyword(key.text, value, Span(key.start, value.span.end)))
                else:
                    start = self.current
                    value = self.parse_or()
                    if keywords:
                        raise ExpressionError(
                            "positional argument after a keyword argument; put positional "
                            "arguments first",
                            text=self.text,
                            position=start.start,
                            length=value.span.length,
                        )
                    args.append(value)
                if self.at("operator", ","):
                    self.advance()
                    continue
                if self.at("operator", ")"):
                    break
                raise self.error_at(
                    self.current,
                    f"expected ',' or ')' in the call to {name.text} opened at column "
                    f"{opening.start + 1}, found {_describe(self.current)}",
                )
        closing = self.advance()
        return Call(
            name.text,
            tuple(args),
            tuple(keywords),
            Span(name.start, closing.end),
            Span(name.start, name.end),
        )


def _describe(token: Token) -> str:
    if token.kind == "end":
        return "the end of the expression"
    if token.kind == "number":
        return f"number {token.text}"
    if token.kind == "name":
        return f"name {token.text!r}"
    if token.kind == "keyword":
        return f"keyword {token.text!r}"
    return f"{token.text!r}"
