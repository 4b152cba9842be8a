"""The one error the expression language raises for text it cannot accept."""

from __future__ import annotations

from quantdesk.core.errors import Issue, ValidationError


class ExpressionError(ValidationError):
    """An expression that cannot be parsed or type-checked, with the offending span.

    ``issues[0]`` has ``location="expression"`` and a reason starting with ``at column N:``
    (1-based); ``position`` is the 0-based character offset of the span and ``length`` its
    width, so interfaces can underline it (:meth:`caret`).
    """

    def __init__(self, reason: str, *, text: str, position: int, length: int = 1) -> None:
        self.text = text
        self.position = max(0, min(position, len(text)))
        self.length = max(1, length)
        self.reason = reason
        super().__init__(
            "invalid expression",
            [Issue("expression", f"at {_where(text, self.position)}: {reason}", row=None)],
        )

    def caret(self) -> str:
        """Return the line holding the error with ``^^^`` under the offending span.

        Returns
        -------
        str
            Two lines: the expression line (tabs shown as spaces) and the marker line.
        """
        line_start = self.text.rfind("\n", 0, self.position) + 1
        line_end = self.text.find("\n", self.position)
        if line_end == -1:
            line_end = len(self.text)
        line = self.text[line_start:line_end].replace("\t", " ")
        column = self.position - line_start
        width = max(1, min(self.length, len(line) - column))
        return f"{line}\n{' ' * column}{'^' * width}"


def _where(text: str, position: int) -> str:
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return f"column {column}" if "\n" not in text else f"line {line}, column {column}"
