"""schemathesis 4, every check, against a running `callvault serve`, with a session for every
role, a service token for every scope and no credentials at all: no failures.

Slow (a few minutes), so it runs only with CALLVAULT_TEST_CONTRACT=1: `make test-contract`,
which `.ci/run` calls. Each credential gets its own run with a fixed seed and a bounded number
of examples per operation (CALLVAULT_CONTRACT_EXAMPLES, default 6). `schemathesis.toml` beside
this file names the few operations whose schema-valid requests can still break a business rule
(422), and why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from callvault.accounts.roles import Role
from callvault.accounts.tokens import TOKEN_SCOPES
from tests.contract.server import RunningServer, running_server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("CALLVAULT_TEST_CONTRACT") != "1",
        reason="contract test: set CALLVAULT_TEST_CONTRACT=1 (make test-contract)",
    ),
]

CONFIG = Path(__file__).with_name("schemathesis.toml")
PEOPLE = [r.value for r in Role]
CREDENTIALS = ["anonymous", *PEOPLE, *(f"service:{s}" for s in TOKEN_SCOPES)]
EXAMPLES = os.environ.get("CALLVAULT_CONTRACT_EXAMPLES", "6")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("contract")) as running:
        yield running


def _st() -> list[str]:
    found = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    assert found, "schemathesis is not installed (pip install 'schemathesis>=4,<5')"
    return [found]


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_schemathesis_finds_no_failures(
    server: RunningServer, credential: str, tmp_path: Path
) -> None:
    args = [
        *_st(),
        "--config-file",
        str(CONFIG),
        "run",
        f"{server.base_url}/api/v1/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        EXAMPLES,
        "--seed",
        "20261201",
        "--workers",
        "1",
        "--no-shrink",
        "--report-dir",
        str(tmp_path),
    ]
    for name, value in server.credentials[credential].items():
        args += ["--header", f"{name}: {value}"]
    if credential in PEOPLE:
        # Signing out would end the session the rest of the run is meant to use.
        args += ["--exclude-name", "DELETE /api/v1/session"]
    done = subprocess.run(  # noqa: S603 (our interpreter's schemathesis, our arguments)
        args, capture_output=True, text=True, timeout=900, check=False, cwd=tmp_path
    )  # its cache of found crashes goes to the test's folder, never into the checkout
    assert done.returncode == 0, f"schemathesis as {credential}:\n{done.stdout[-12000:]}"
