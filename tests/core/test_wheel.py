"""The built wheel works outside the repository: installed into a fresh virtual environment (not
editable), `callvault init` and `serve` run, the pages, a static file and an ingest answer.

Slow (it builds a wheel and starts a server), so it runs only with CALLVAULT_TEST_WHEEL=1:
`make test-wheel`, which `.ci/run` calls. The fresh environment gets callvault only from the
wheel; its dependencies are the ones already installed in the running interpreter, made visible
through a `.pth` file, so the test needs no network and no second copy of faster-whisper. pip
still checks that every declared dependency is there (`--no-index`, with dependencies).
"""

from __future__ import annotations

import json
import os
import re
import site
import socket
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.recordings.synthetic import meta_doc, wav

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("CALLVAULT_TEST_WHEEL") != "1",
        reason="wheel test: set CALLVAULT_TEST_WHEEL=1 (make test-wheel)",
    ),
]

REPO = Path(__file__).resolve().parents[2]

# What the package needs at run time besides its Python modules; one entry per kind, so a
# pattern missing from package-data fails here by name.
NEEDED = (
    "callvault/migrations/env.py",
    "callvault/migrations/script.py.mako",
    "callvault/migrations/versions/0001_initial_schema.py",
    "callvault/web/templates/base.html",
    "callvault/web/templates/account/login.html",
    "callvault/web/locale/sv/LC_MESSAGES/messages.mo",
    "callvault/web/locale/en/LC_MESSAGES/messages.mo",
    "callvault/web/static/app.css",
    "callvault/web/static/vendor/htmx/htmx.min.js",
    "callvault/web/static/vendor/htmx/LICENSE",
    "callvault/web/static/vendor/wavesurfer/wavesurfer.min.js",
    "callvault/web/static/vendor/chartjs/chart.umd.min.js",
    "callvault/accounts/common_passwords.txt",
    "callvault/policy/texts/policy.sv.txt",
    "callvault/policy/texts/prompt.sv.txt",
    "callvault/redaction/data/sv_first_names.txt",
    "callvault/dsar/templates/report.html",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(args: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"{args[:3]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(REPO)],
        {k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        REPO,
    )
    (built,) = out.glob("callvault-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    _run([sys.executable, "-m", "venv", str(root)], env, root)
    python = root / "bin" / "python"
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], env, root
    ).strip()
    # The dependencies already installed here, but never this checkout's source directory.
    source = str(REPO / "src")
    deps = [p for p in site.getsitepackages() if not p.startswith(source)]
    Path(purelib, "_callvault_test_deps.pth").write_text("\n".join(deps) + "\n")
    _run(
        [str(python), "-m", "pip", "install", "--no-index", "--no-cache-dir", str(wheel)], env, root
    )
    return root


def test_the_wheel_holds_every_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [n for n in NEEDED if n not in names]
    assert not missing
    metadata = (
        zipfile.ZipFile(wheel)
        .read(next(n for n in names if n.endswith(".dist-info/METADATA")))
        .decode()
    )
    assert "License-Expression: LicenseRef-Proprietary" in metadata


def test_the_installed_wheel_initialises_serves_and_ingests(venv: Path, tmp_path: Path) -> None:
    import callvault

    bin_dir = venv / "bin"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLVAULT_")}
    env.pop("PYTHONPATH", None)
    env.update(
        CALLVAULT_DATA_DIR=str(tmp_path / "var"),
        CALLVAULT_ENV="development",
        CALLVAULT_EMBEDDED_WORKER="false",  # the speech model is not this test's business
    )
    show_file = "import callvault; print(callvault.__file__)"
    where = _run([str(bin_dir / "python"), "-c", show_file], env, tmp_path)
    assert where.startswith(str(venv)), "callvault must come from the wheel, not the checkout"
    assert _run([str(bin_dir / "callvault"), "--version"], env, tmp_path).strip() == (
        f"callvault {callvault.__version__}"
    )
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    _run([str(bin_dir / "callvault"), "init", "--policy-effective", yesterday], env, tmp_path)
    issued = _run(
        [str(bin_dir / "callvault"), "tokens", "create", "--name", "wheel", "--scope", "ingest"],
        env,
        tmp_path,
    )
    token = re.search(r"cvt_\S+", issued)
    assert token

    port = _free_port()
    server = subprocess.Popen(  # noqa: S603
        [str(bin_dir / "callvault"), "serve", "--port", str(port), "--no-init"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.get("/login")
                    break
                except httpx.TransportError:
                    assert server.poll() is None, "the server stopped"
                    assert time.monotonic() < deadline, "the server did not start"
                    time.sleep(0.3)
            login = client.get("/login")
            assert login.status_code == 200 and "<form" in login.text
            policy = client.get("/policy")
            assert policy.status_code == 200 and "Samtalsinspelningspolicy" in policy.text
            script = client.get("/static/vendor/htmx/htmx.min.js")
            assert script.status_code == 200 and len(script.content) > 10_000
            start = datetime.now(UTC) - timedelta(minutes=5)
            answer = client.post(
                "/api/v1/recordings",
                headers={"Authorization": f"Bearer {token.group(0)}"},
                files={"audio": ("call.wav", wav(2.0), "audio/wav")},
                data={"meta": json.dumps(meta_doc("wheel-000", start))},
            )
            assert answer.status_code == 201, answer.text
            assert answer.json()["created"] is True
    finally:
        server.terminate()
        server.wait(timeout=30)
