"""The syntax tree of an expression, and a printer that writes it back as minimal text.

Every node is a frozen dataclass carrying its :class:`Span` in the source. Spans do not take
part in equality, so two trees parsed from differently spaced text compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ArithmeticOperator = Literal["+", "-", "*", "/"]
ComparisonOperator = Literal["<", "<=", ">", ">=", "==", "!="]
LogicalOperator = Literal["and", "or"]


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open range ``[start, end)`` of 0-based character offsets in the source."""

    start: int
    end: int

    @property
    def length(self) -> int:
        """Return the number of characters covered."""
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Number:
    """A numeric literal; ``int`` when written without a point or exponent."""

    value: int | float
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Boolean:
    """The literal ``true`` or ``false``."""

    value: bool
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Name:
    """A bare identifier: a price field or an indicator with default parameters."""

    name: str
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Keyword:
    """A ``name=value`` argument of a call."""

    name: str
    value: Node
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Call:
    """A call ``name(args, key=value)``."""

    name: str
    args: tuple[Node, ...]
    keywords: tuple[Keyword, ...]
    span: Span = field(compare=False)
    name_span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Output:
    """An output selection ``target.name`` (``macd.signal``)."""

    target: Node
    name: str
    span: Span = field(compare=False)
    name_span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Lag:
    """The value of ``target`` ``bars`` bars ago (``close[1]``)."""

    target: Node
    bars: int
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Negate:
    """Unary minus."""

    operand: Node
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Arithmetic:
    """``left op right`` for ``+ - * /``."""

    op: ArithmeticOperator
    left: Node
    right: Node
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Comparison:
    """``left op right`` for ``< <= > >= == !=`` (never chained)."""

    op: ComparisonOperator
    left: Node
    right: Node
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Logical:
    """``left and right`` / ``left or right``."""

    op: LogicalOperator
    left: Node
    right: Node
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    """``not operand``."""

    operand: Node
    span: Span = field(compare=False)


Node = (
    Number | Boolean | Name | Call | Output | Lag | Negate | Arithmetic | Comparison | Logical | Not
)

# Binding strength, loosest first; the parser and the printer share these.
PRECEDENCE_OR = 1
PRECEDENCE_AND = 2
PRECEDENCE_NOT = 3
PRECEDENCE_COMPARISON = 4
PRECEDENCE_ADDITIVE = 5
PRECEDENCE_MULTIPLICATIVE = 6
PRECEDENCE_UNARY = 7
PRECEDENCE_POSTFIX = 8
PRECEDENCE_ATOM = 9


def precedence(node: Node) -> int:
    """Return how tightly ``node``'s outermost operator binds."""
    if isinstance(node, Logical):
        return PRECEDENCE_OR if node.op == "or" else PRECEDENCE_AND
    if isinstance(node, Not):
        return PRECEDENCE_NOT
    if isinstance(node, Comparison):
        return PRECEDENCE_COMPARISON
    if isinstance(node, Arithmetic):
        return PRECEDENCE_ADDITIVE if node.op in "+-" else PRECEDENCE_MULTIPLICATIVE
    if isinstance(node, Negate):
        return PRECEDENCE_UNARY
    if isinstance(node, Output | Lag):
        return PRECEDENCE_POSTFIX
    return PRECEDENCE_ATOM


def to_source(node: Node) -> str:
    """Return canonical text for ``node`` with only the parentheses the grammar needs.

    Parameters
    ----------
    node
        Any syntax tree.

    Returns
    -------
    str
        Text that parses back to a tree equal to ``node``.
    """
    if isinstance(node, Number):
        return repr(node.value)
    if isinstance(node, Boolean):
        return "true" if node.value else "false"
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Call):
        parts = [to_source(arg) for arg in node.args]
        parts += [f"{keyword.name}={to_source(keyword.value)}" for keyword in node.keywords]
        return f"{node.name}({', '.join(parts)})"
    if isinstance(node, Output):
        return f"{_wrap(node.target, PRECEDENCE_POSTFIX)}.{node.name}"
    if isinstance(node, Lag):
        return f"{_wrap(node.target, PRECEDENCE_POSTFIX)}[{node.bars}]"
    if isinstance(node, Negate):
        return f"-{_wrap(node.operand, PRECEDENCE_UNARY)}"
    if isinstance(node, Not):
        return f"not {_wrap(node.operand, PRECEDENCE_NOT)}"
    if isinstance(node, Comparison):
        left = _wrap(node.left, PRECEDENCE_ADDITIVE)
        return f"{left} {node.op} {_wrap(node.right, PRECEDENCE_ADDITIVE)}"
    level = precedence(node)
    # Left-associative: an equally binding right operand needs parentheses.
    return f"{_wrap(node.left, level)} {node.op} {_wrap(node.right, level + 1)}"


def _wrap(node: Node, minimum: int) -> str:
    text = to_source(node)
    return f"({text})" if precedence(node) < minimum else text
