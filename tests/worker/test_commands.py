"""The `callvault worker` command is registered on the root command."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog
from typer.testing import CliRunner

from callvault.cli import app


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    # The root callback configures structlog to print to the CliRunner's stderr, which closes.
    yield
    structlog.reset_defaults()


def test_worker_command_is_registered_with_a_workers_option() -> None:
    result = CliRunner().invoke(app, ["worker", "--help"])
    assert result.exit_code == 0
    assert "--workers" in result.output and "-w" in result.output
