"""Logging never prints personal data by accident: tracebacks carry no frame locals."""

from __future__ import annotations

import pytest
import structlog

from callvault.log import configure_logging


def _fails_with(caller_number: str) -> None:
    raise ValueError("the provider refused")


def test_an_exception_log_does_not_print_the_locals_of_its_frames(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging()
    number = "+4670" + "1234567"  # built at run time, so the source line shown is not a match
    try:
        _fails_with(number)
    except ValueError:
        structlog.get_logger("test").exception("transfer_failed")
    err = capsys.readouterr().err
    structlog.reset_defaults()
    assert "transfer_failed" in err and "ValueError" in err
    assert number not in err
