"""Structured logging: events with ids as fields, never personal data in clear."""

from __future__ import annotations

import logging
import sys
from typing import IO

import structlog


class _CurrentStderr:
    """Writes to whatever sys.stderr is now, so a replaced or closed stream is never held on to."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _CurrentStderrHandler(logging.StreamHandler[IO[str]]):
    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    root = logging.getLogger()
    root.handlers[:] = [_CurrentStderrHandler()]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(
            colors=False,
            # Never the rich formatter's frame locals: they would print phone numbers and reasons.
            exception_formatter=structlog.dev.plain_traceback,
        )
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
