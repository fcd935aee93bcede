"""The Swedish and English catalogues: complete, compiled, and in step with the templates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

import callvault.web.i18n as i18n

LOCALE = Path(i18n.__file__).parent / "locale"


def _ids(path: Path) -> set[object]:
    with path.open("rb") as handle:
        return {m.id for m in read_po(handle) if m.id}


def test_the_template_is_in_step_with_the_code(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    subprocess.run(  # noqa: S603 - our own interpreter and paths
        [
            sys.executable, "-m", "babel.messages.frontend", "extract",
            "-F", str(LOCALE / "babel.cfg"), "-k", "N_", "--no-location", "--omit-header",
            "-o", str(fresh), str(LOCALE.parent),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    assert _ids(fresh) == _ids(LOCALE / "messages.pot"), "run pybabel extract and update"


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_message_is_in_the_catalogue(language: str) -> None:
    assert _ids(LOCALE / language / "LC_MESSAGES" / "messages.po") == _ids(LOCALE / "messages.pot")


def test_every_swedish_message_is_translated() -> None:
    with (LOCALE / "sv" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        untranslated = [m.id for m in read_po(handle) if m.id and not all(_strings(m.string))]
    assert untranslated == []


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_the_compiled_catalogue_matches_its_source(language: str) -> None:
    folder = LOCALE / language / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as po, (folder / "messages.mo").open("rb") as mo:
        source = {_key(m.id): _key(m.string) for m in read_po(po) if m.id}
        compiled = {_key(m.id): _key(m.string) for m in read_mo(mo) if m.id}
    assert compiled == source, "run pybabel compile -d src/callvault/web/locale"


def _key(value: object) -> object:
    return tuple(value) if isinstance(value, tuple | list) else value


def _strings(value: object) -> list[str]:
    return list(value) if isinstance(value, tuple | list) else [str(value or "")]


@pytest.mark.parametrize(
    ("language", "expected"), [("sv", "Logga in"), ("en", "Log in"), ("fr", "Logga in")]
)
def test_gettext_follows_the_chosen_language(language: str, expected: str) -> None:
    with i18n.using_language(language):
        assert i18n.gettext("Log in") == expected
