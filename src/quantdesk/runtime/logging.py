"""Structured logging: readable in a terminal, JSON lines when serving or piped."""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog

from quantdesk.config import LoggingSettings


def configure_logging(settings: LoggingSettings, *, serving: bool = False) -> None:
    """Configure structlog and the standard library logging once for this process.

    ``format=auto`` picks JSON when serving or when stderr is not a terminal.
    """
    fmt: Literal["json", "console"]
    if settings.format == "auto":
        fmt = "json" if serving or not sys.stderr.isatty() else "console"
    else:
        fmt = settings.format
    level = getattr(logging, settings.level)
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        foreign_pre_chain=shared,
    )
    handler = _CurrentStderrHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _stderr_logger(*_args: object) -> structlog.PrintLogger:
    """Write to whatever ``sys.stderr`` is now (test runners and embedders swap it)."""
    return structlog.PrintLogger(sys.stderr)


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that always writes to the current ``sys.stderr``."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass
