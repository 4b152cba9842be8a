"""Resolve names against the indicator registry and check types, with precise errors."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from quantdesk.core.errors import ValidationError
from quantdesk.indicators.registry import IndicatorRegistry, IndicatorSpec, ParamValue
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
    Number,
    Output,
    Span,
)
from quantdesk.signals.expressions._errors import ExpressionError
from quantdesk.signals.expressions._ir import (
    PRICE_FIELDS,
    ArithmeticValue,
    Bound,
    ComparisonValue,
    ConstantValue,
    CrossValue,
    ElementwiseFunction,
    ElementwiseValue,
    IndicatorValue,
    LagValue,
    LogicalValue,
    NegateValue,
    NotValue,
    PriceField,
    PriceValue,
    ValueKind,
    WindowFunction,
    WindowValue,
)


@dataclass(frozen=True, slots=True)
class Builtin:
    """A built-in function's signature: argument names, which are window lengths, result kind."""

    name: str
    params: tuple[str, ...]
    windows: frozenset[str]
    result: ValueKind

    @property
    def signature(self) -> str:
        """Return the call as a user writes it, e.g. ``highest(x, n)``."""
        return f"{self.name}({', '.join(self.params)})"


BUILTINS: dict[str, Builtin] = {
    builtin.name: builtin
    for builtin in (
        Builtin("crosses_above", ("a", "b"), frozenset(), "boolean"),
        Builtin("crosses_below", ("a", "b"), frozenset(), "boolean"),
        Builtin("highest", ("x", "n"), frozenset({"n"}), "number"),
        Builtin("lowest", ("x", "n"), frozenset({"n"}), "number"),
        Builtin("change", ("x", "n"), frozenset({"n"}), "number"),
        Builtin("pct_change", ("x", "n"), frozenset({"n"}), "number"),
        Builtin("abs", ("x",), frozenset(), "number"),
        Builtin("min", ("a", "b"), frozenset(), "number"),
        Builtin("max", ("a", "b"), frozenset(), "number"),
        Builtin("avg_volume", ("n",), frozenset({"n"}), "number"),
    )
}

_ORDINALS = ("1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th")


def check(tree: Node, text: str, registry: IndicatorRegistry, expected: ValueKind) -> Bound:
    """Return the checked form of ``tree``, whose value must be of kind ``expected``.

    Parameters
    ----------
    tree
        The parsed expression.
    text
        The source text (for error positions and messages).
    registry
        Where indicator names are looked up.
    expected
        ``"boolean"`` for a screening condition, ``"number"`` for a chart series.

    Returns
    -------
    Bound
        The resolved, typed expression.

    Raises
    ------
    ExpressionError
        On unknown names, wrong arguments, bad parameters or type errors.
    """
    checker = _Checker(text, registry)
    root = checker.bind(tree)
    if root.kind != expected:
        shown = checker.source(tree)
        if expected == "boolean":
            reason = (
                f"a screening condition must be true or false, but {shown!r} is a number; "
                f"compare it, e.g. {shown} > 0"
            )
        else:
            reason = f"a chart series must be a number, but {shown!r} is a condition"
        raise checker.error(tree.span, reason)
    return root


class _Checker:
    def __init__(self, text: str, registry: IndicatorRegistry) -> None:
        self.text = text
        self.registry = registry

    def source(self, node: Node | Keyword) -> str:
        return self.text[node.span.start : node.span.end]

    def error(self, span: Span, reason: str) -> ExpressionError:
        return ExpressionError(reason, text=self.text, position=span.start, length=span.length)

    # -- dispatch ------------------------------------------------------------------------------

    def bind(self, node: Node) -> Bound:
        if isinstance(node, Number):
            return _constant(float(node.value), "number", repr(node.value), node.span)
        if isinstance(node, Boolean):
            return _constant(
                1.0 if node.value else 0.0, "boolean", str(node.value).lower(), node.span
            )
        if isinstance(node, Name):
            return self.bind_name(node)
        if isinstance(node, Call):
            return self.bind_call(node)
        if isinstance(node, Output):
            return self.bind_output(node)
        if isinstance(node, Lag):
            operand = self.bind(node.target)
            return _lag(operand, node.bars, node.span)
        if isinstance(node, Negate):
            operand = self.number(node.operand, "'-' needs a number")
            return NegateValue(
                kind="number",
                key=f"-({operand.key})",
                span=node.span,
                lookback=operand.lookback,
                constant=operand.constant,
                operand=operand,
            )
        if isinstance(node, Arithmetic):
            left = self.number(node.left, f"{node.op!r} needs numbers")
            right = self.number(node.right, f"{node.op!r} needs numbers")
            return ArithmeticValue(
                kind="number",
                key=f"({left.key}{node.op}{right.key})",
                span=node.span,
                lookback=max(left.lookback, right.lookback),
                constant=left.constant and right.constant,
                op=node.op,
                left=left,
                right=right,
            )
        if isinstance(node, Comparison):
            left = self.number(node.left, f"{node.op!r} compares numbers")
            right = self.number(node.right, f"{node.op!r} compares numbers")
            return ComparisonValue(
                kind="boolean",
                key=f"({left.key}{node.op}{right.key})",
                span=node.span,
                lookback=max(left.lookback, right.lookback),
                constant=left.constant and right.constant,
                op=node.op,
                left=left,
                right=right,
            )
        if isinstance(node, Logical):
            left = self.condition(node.left, f"'{node.op}' combines conditions")
            right = self.condition(node.right, f"'{node.op}' combines conditions")
            return LogicalValue(
                kind="boolean",
                key=f"({left.key} {node.op} {right.key})",
                span=node.span,
                lookback=max(left.lookback, right.lookback),
                constant=left.constant and right.constant,
                op=node.op,
                left=left,
                right=right,
            )
        operand = self.condition(node.operand, "'not' needs a condition")
        return NotValue(
            kind="boolean",
            key=f"(not {operand.key})",
            span=node.span,
            lookback=operand.lookback,
            constant=operand.constant,
            operand=operand,
        )

    def number(self, node: Node, context: str) -> Bound:
        bound = self.bind(node)
        if bound.kind != "number":
            raise self.error(
                node.span, f"{context}, but {self.source(node)!r} is a condition (true/false)"
            )
        return bound

    def condition(self, node: Node, context: str) -> Bound:
        bound = self.bind(node)
        if bound.kind != "boolean":
            shown = self.source(node)
            raise self.error(
                node.span, f"{context}, but {shown!r} is a number; compare it, e.g. {shown} > 0"
            )
        return bound

    # -- names ---------------------------------------------------------------------------------

    def bind_name(self, node: Name) -> Bound:
        if node.name in PRICE_FIELDS:
            field = node.name
            return PriceValue(
                kind="number", key=field, span=node.span, lookback=0, constant=False, field=field
            )
        if node.name in BUILTINS:
            raise self.error(
                node.span,
                f"{node.name!r} is a function; call it as {BUILTINS[node.name].signature}",
            )
        if node.name in self.registry:
            return self.indicator(node, None)
        if node.name == "ts":
            raise self.error(node.span, "'ts' (the bar time) cannot be used in expressions")
        raise self.error(
            node.span,
            f"unknown name {node.name!r}"
            + self.suggest(node.name, [*PRICE_FIELDS, *self.registry.names()]),
        )

    def suggest(self, name: str, candidates: Sequence[str]) -> str:
        matches = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
        if matches:
            return f"; did you mean {', '.join(matches)}?"
        return "; use a price field (open, high, low, close, volume), an indicator or a function"

    def bind_output(self, node: Output) -> Bound:
        target = node.target
        bars = 0
        while isinstance(target, Lag):
            bars += target.bars
            target = target.target
        is_indicator = (
            isinstance(target, Name | Call)
            and target.name not in PRICE_FIELDS
            and target.name not in BUILTINS
            and target.name in self.registry
        )
        if not is_indicator:
            bound = self.bind(target)
            what = "a price field" if isinstance(bound, PriceValue) else "not an indicator"
            raise self.error(
                node.name_span, f"only indicators have outputs; {self.source(target)!r} is {what}"
            )
        value = self.indicator(cast(Name | Call, target), node)
        return _lag(value, bars, node.span) if bars else value

    # -- indicators ----------------------------------------------------------------------------

    def indicator(self, node: Name | Call, selection: Output | None) -> IndicatorValue:
        spec = self.registry.get(node.name)
        params, source = (
            self.indicator_params(spec, node)
            if isinstance(node, Call)
            else (spec.resolve({}), None)
        )
        if selection is None:
            if len(spec.outputs) != 1:
                raise self.error(
                    node.span,
                    f"{spec.name} has outputs {', '.join(spec.outputs)}; "
                    f"pick one, e.g. {self.source(node)}.{spec.outputs[0]}",
                )
            output = spec.outputs[0]
            span = node.span
        else:
            output = selection.name
            span = selection.span
            if output not in spec.outputs:
                if len(spec.outputs) == 1:
                    reason = f"{spec.name} has one output, {spec.outputs[0]!r}; drop '.{output}'"
                else:
                    matches = difflib.get_close_matches(output, list(spec.outputs), n=1, cutoff=0.5)
                    hint = f"did you mean {matches[0]}? " if matches else ""
                    reason = (
                        f"{spec.name} has no output {output!r}; {hint}"
                        f"(outputs: {', '.join(spec.outputs)})"
                    )
                raise self.error(selection.name_span, reason)
        ordered = tuple(params.items())
        rendered = ",".join(f"{name}={value!r}" for name, value in ordered)
        rendered += f",source={source}" if source else ""
        return IndicatorValue(
            kind="number",
            key=f"{spec.name}({rendered}).{output}",
            span=span,
            lookback=int(spec.lookback(params)),
            constant=False,
            spec=spec,
            params=ordered,
            source=source,
            output=output,
        )

    def indicator_params(
        self, spec: IndicatorSpec, node: Call
    ) -> tuple[dict[str, ParamValue], PriceField | None]:
        names = [param.name for param in spec.params]
        positional = [
            self.literal(
                arg,
                f"{spec.name}.{names[i]}"
                if i < len(names)
                else f"{spec.name}'s {_ordinal(i)} parameter",
            )
            for i, arg in enumerate(node.args)
        ]
        by_name: dict[str, object] = {}
        spans: dict[str, Span] = {}
        source: PriceField | None = None
        for keyword in node.keywords:
            if keyword.name in spans:
                raise self.error(keyword.span, f"parameter {keyword.name!r} given twice")
            spans[keyword.name] = keyword.span
            if keyword.name == "source":
                source = self.source_field(spec, keyword)
                # Naming the default input is no override: sma(20, source=close) is sma(20).
                source = None if source == spec.inputs[0] else source
            else:
                by_name[keyword.name] = self.literal(keyword.value, f"{spec.name}.{keyword.name}")
        for name, arg in zip((param.name for param in spec.params), node.args, strict=False):
            spans.setdefault(name, arg.span)
        try:
            params = spec.resolve(by_name, *positional)
        except ValidationError as exc:
            issue = exc.issues[0] if exc.issues else None
            if issue is None:
                raise self.error(node.span, exc.message) from exc
            parameter = issue.location.partition(".")[2]
            if parameter in spans:
                span = spans[parameter]
            elif len(node.args) > len(spec.params):
                first_extra = node.args[len(spec.params)]
                span = Span(first_extra.span.start, node.args[-1].span.end)
            else:
                span = node.span
            raise self.error(span, f"{issue.location}: {issue.reason}") from exc
        return params, source

    def literal(self, node: Node, what: str) -> float | int:
        if isinstance(node, Number):
            return node.value
        if isinstance(node, Negate) and isinstance(node.operand, Number):
            return -node.operand.value
        hint = ""
        if isinstance(node, Name) and node.name in PRICE_FIELDS:
            hint = f"; to compute it on another price field write source={node.name}"
        raise self.error(
            node.span,
            f"{what} must be a number written out (indicator settings "
            f"are fixed when the expression is compiled), got "
            f"{self.source(node)!r}{hint}",
        )

    def source_field(self, spec: IndicatorSpec, keyword: Keyword) -> PriceField:
        value = keyword.value
        if not (isinstance(value, Name) and value.name in PRICE_FIELDS):
            shown = self.source(value)
            matches = difflib.get_close_matches(shown.lower(), PRICE_FIELDS, n=1, cutoff=0.6)
            hint = f"; did you mean {matches[0]}?" if matches else ""
            raise self.error(
                value.span, f"source must be one of {', '.join(PRICE_FIELDS)}, got {shown!r}{hint}"
            )
        if len(spec.inputs) != 1 or spec.inputs[0] == "ts":
            raise self.error(
                keyword.span,
                f"{spec.name} reads {', '.join(spec.inputs)}; "
                "source= only applies to indicators with one input",
            )
        return value.name

    # -- built-in functions --------------------------------------------------------------------

    def bind_call(self, node: Call) -> Bound:
        builtin = BUILTINS.get(node.name)
        if builtin is not None:
            return self.bind_builtin(builtin, node)
        if node.name in PRICE_FIELDS:
            raise self.error(
                node.name_span,
                f"{node.name!r} is a price field, not a function; "
                f"write {node.name} (or {node.name}[n] for n bars ago)",
            )
        if node.name in self.registry:
            return self.indicator(node, None)
        candidates = [*self.registry.names(), *BUILTINS]
        raise self.error(
            node.name_span, f"unknown function {node.name!r}" + self.suggest(node.name, candidates)
        )

    def bind_builtin(self, builtin: Builtin, node: Call) -> Bound:
        if node.keywords:
            raise self.error(
                node.keywords[0].span,
                f"{builtin.name} takes no keyword arguments; call it as {builtin.signature}",
            )
        if len(node.args) != len(builtin.params):
            count = len(builtin.params)
            raise self.error(
                node.span,
                f"{builtin.name} takes {count} argument"
                f"{'s' if count != 1 else ''} ({', '.join(builtin.params)}), got "
                f"{len(node.args)}; call it as {builtin.signature}",
            )
        series: list[Bound] = []
        windows: list[int] = []
        for index, (param, arg) in enumerate(zip(builtin.params, node.args, strict=True)):
            where = f"{builtin.name}'s {_ordinal(index)} argument ({param})"
            if param in builtin.windows:
                windows.append(self.window(arg, where))
            else:
                series.append(self.number(arg, f"{where} must be a number"))
        return _builtin_value(builtin.name, series, windows, node.span)

    def window(self, node: Node, where: str) -> int:
        value = node.value if isinstance(node, Number) else None
        if isinstance(value, int) and value >= 1:
            return value
        raise self.error(
            node.span,
            f"{where} must be a whole number of bars (at least 1) "
            f"written out, got {self.source(node)!r}",
        )


def _builtin_value(name: str, series: list[Bound], windows: list[int], span: Span) -> Bound:
    keys = ",".join([*(s.key for s in series), *(str(w) for w in windows)])
    key = f"{name}({keys})"
    if name in {"crosses_above", "crosses_below"}:
        left, right = series
        return CrossValue(
            kind="boolean",
            key=key,
            span=span,
            lookback=max(left.lookback, right.lookback) + 1,
            constant=left.constant and right.constant,
            direction="above" if name == "crosses_above" else "below",
            left=left,
            right=right,
        )
    if name in {"abs", "min", "max"}:
        return ElementwiseValue(
            kind="number",
            key=key,
            span=span,
            lookback=max(s.lookback for s in series),
            constant=all(s.constant for s in series),
            function=cast(ElementwiseFunction, name),
            args=tuple(series),
        )
    bars = windows[0]
    if name == "avg_volume":
        volume = PriceValue(
            kind="number", key="volume", span=span, lookback=0, constant=False, field="volume"
        )
        return WindowValue(
            kind="number",
            key=key,
            span=span,
            lookback=bars - 1,
            constant=False,
            function="mean",
            operand=volume,
            bars=bars,
        )
    operand = series[0]
    extra = bars if name in {"change", "pct_change"} else bars - 1
    return WindowValue(
        kind="number",
        key=key,
        span=span,
        lookback=operand.lookback + extra,
        constant=operand.constant,
        function=cast(WindowFunction, name),
        operand=operand,
        bars=bars,
    )


def _constant(value: float, kind: ValueKind, key: str, span: Span) -> ConstantValue:
    return ConstantValue(kind=kind, key=key, span=span, lookback=0, constant=True, value=value)


def _lag(operand: Bound, bars: int, span: Span) -> Bound:
    return LagValue(
        kind=operand.kind,
        key=f"{operand.key}[{bars}]",
        span=span,
        lookback=operand.lookback + bars,
        constant=operand.constant,
        operand=operand,
        bars=bars,
    )


def _ordinal(index: int) -> str:
    return _ORDINALS[index] if index < len(_ORDINALS) else f"{index + 1}th"
