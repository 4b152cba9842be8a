"""Split expression text into tokens; a hand-written scanner, never Python's tokenizer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from quantdesk.signals.expressions._errors import ExpressionError

TokenKind = Literal["number", "name", "keyword", "operator", "end"]

KEYWORDS = frozenset({"and", "or", "not", "true", "false"})

# Longest first, so ``<=`` wins over ``<``.
_OPERATORS = (
    "<=",
    ">=",
    "==",
    "!=",
    "<",
    ">",
    "+",
    "-",
    "*",
    "/",
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    "=",
)


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its normalised text and its span in the source."""

    kind: TokenKind
    text: str
    start: int
    end: int
    value: int | float | None = None


def tokenize(text: str) -> list[Token]:
    """Return the tokens of ``text``, ending with an ``end`` token.

    Parameters
    ----------
    text
        The expression as the user typed it.

    Returns
    -------
    list[Token]
        Names and keywords lower-cased; numbers carry their ``int``/``float`` value.

    Raises
    ------
    ExpressionError
        On a character the language does not use or a malformed number.
    """
    tokens: list[Token] = []
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char.isspace():
            index += 1
        elif char.isascii() and (char.isdigit() or (char == "." and _digit_at(text, index + 1))):
            token = _number(text, index)
            tokens.append(token)
            index = token.end
        elif char.isascii() and (char.isalpha() or char == "_"):
            end = index + 1
            while (
                end < length and text[end].isascii() and (text[end].isalnum() or text[end] == "_")
            ):
                end += 1
            word = text[index:end].lower()
            kind: TokenKind = "keyword" if word in KEYWORDS else "name"
            tokens.append(Token(kind, word, index, end))
            index = end
        else:
            operator = next((op for op in _OPERATORS if text.startswith(op, index)), None)
            if operator is None:
                raise ExpressionError(_unexpected(text, index), text=text, position=index)
            tokens.append(Token("operator", operator, index, index + len(operator)))
            index += len(operator)
    tokens.append(Token("end", "", length, length))
    return tokens


def _digit_at(text: str, index: int) -> bool:
    return index < len(text) and text[index].isascii() and text[index].isdigit()


def _number(text: str, start: int) -> Token:
    index = start
    while _digit_at(text, index):
        index += 1
    is_float = False
    if index < len(text) and text[index] == "." and _digit_at(text, index + 1):
        is_float = True
        index += 1
        while _digit_at(text, index):
            index += 1
    if index < len(text) and text[index] in "eE":
        exponent = index + 1
        if exponent < len(text) and text[exponent] in "+-":
            exponent += 1
        if not _digit_at(text, exponent):
            raise ExpressionError(
                f"malformed number {text[start:exponent]!r}; write an exponent like 1e-3",
                text=text,
                position=start,
                length=exponent - start,
            )
        is_float = True
        index = exponent
        while _digit_at(text, index):
            index += 1
    if index < len(text) and (text[index].isalnum() or text[index] == "_"):
        end = index
        while end < len(text) and (text[end].isalnum() or text[end] == "_"):
            end += 1
        raise ExpressionError(
            f"malformed number {text[start:end]!r}; separate numbers from names",
            text=text,
            position=start,
            length=end - start,
        )
    lexeme = text[start:index]
    value: int | float = float(lexeme) if is_float else int(lexeme)
    return Token("number", lexeme, start, index, value)


def _unexpected(text: str, index: int) -> str:
    char = text[index]
    if char in "'\"":
        return "unexpected quote; the language has no strings"
    if char == "!":
        return "unexpected '!'; write 'not' to negate or '!=' to compare"
    if char in "&|":
        return f"unexpected {char!r}; write 'and' / 'or'"
    return f"unexpected character {char!r}"
