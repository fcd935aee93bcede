"""Import from a previous recorder: a JSON Lines manifest of `{"audio": PATH, "meta": {…}}`,
each line through the same ingest as the API (every check), resumable, with a report.

The report names lines by number with an error code and message (which never hold personal
data), never a caller's number. A line whose retention has already run out is "expired" and is
not imported. What is done stays done: lines already imported are noted in a journal in the data
directory (line number, a hash of the line and the recording id, nothing personal), so a second
run skips them without reading their audio again; a line that was changed since is read again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from callvault.db import transaction
from callvault.errors import CallvaultError, InvalidInput, RetentionExpired
from callvault.recordings.service import ingest_recording, parse_metadata
from callvault.runtime import Runtime

log = structlog.get_logger(__name__)

IMPORT_DIR = "imports"
ACTOR = "system"
SOURCE = "import"


@dataclass(frozen=True)
class LineProblem:
    line: int
    code: str
    message: str


@dataclass
class ImportReport:
    imported: int = 0
    already_there: int = 0
    refused: list[LineProblem] = field(default_factory=list)
    expired: list[LineProblem] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.imported + self.already_there + len(self.refused) + len(self.expired)


@dataclass(frozen=True)
class ManifestLine:
    number: int
    digest: str  # SHA-256 of the line's bytes: the journal's key, so an edited line is redone
    text: str


def read_manifest(path: Path) -> Iterator[ManifestLine]:
    """The manifest's non-blank lines, numbered from 1 as an editor shows them."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            stripped = raw.strip()
            if not stripped:
                continue
            yield ManifestLine(
                number, hashlib.sha256(stripped).hexdigest(), stripped.decode("utf-8", "replace")
            )


def count_lines(path: Path) -> int:
    return sum(1 for _ in read_manifest(path))


class Journal:
    """The lines already stored, by number and digest, appended and synced after each commit."""

    def __init__(self, runtime: Runtime, manifest: Path) -> None:
        key = hashlib.sha256(str(manifest.resolve()).encode()).hexdigest()[:32]
        self.path = runtime.settings.data_dir / IMPORT_DIR / f"{key}.done"
        self.done: set[tuple[int, str]] = set()
        if self.path.exists():
            for row in self.path.read_text().splitlines():
                number, _, rest = row.partition("\t")
                digest = rest.partition("\t")[0]
                if number.isdigit() and digest:
                    self.done.add((int(number), digest))

    def __contains__(self, line: ManifestLine) -> bool:
        return (line.number, line.digest) in self.done

    def add(self, line: ManifestLine, recording_id: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as handle:
            handle.write(f"{line.number}\t{line.digest}\t{recording_id}\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.done.add((line.number, line.digest))


def _entry(line: ManifestLine, base: Path) -> tuple[Path, bytes]:
    """The audio path and the metadata document of a line, or InvalidInput saying what is wrong
    with its shape (never its content)."""
    try:
        doc = json.loads(line.text)
    except ValueError:
        raise InvalidInput("the line is not valid JSON") from None
    if not isinstance(doc, dict) or set(doc) != {"audio", "meta"}:
        raise InvalidInput('each line must be {"audio": PATH, "meta": {…}} and nothing else')
    if not isinstance(doc["audio"], str) or not doc["audio"]:
        raise InvalidInput("audio must be a file path")
    if not isinstance(doc["meta"], dict):
        raise InvalidInput("meta must be an object in the ingest format")
    audio = Path(doc["audio"])
    return (audio if audio.is_absolute() else base / audio), json.dumps(doc["meta"]).encode()


def import_line(runtime: Runtime, line: ManifestLine, base: Path) -> tuple[str, str | None]:
    """Ingest one line in its own transaction: ("imported" | "already_there", recording id).

    Raises the ingest's CallvaultError when the line is refused.
    """
    audio, raw_meta = _entry(line, base)
    meta = parse_metadata(raw_meta)
    if not audio.is_file():
        raise InvalidInput("the audio file does not exist or is not a file")
    with audio.open("rb") as handle, transaction(runtime.sessions) as session:
        result = ingest_recording(session, runtime, handle, meta, actor=ACTOR, source=SOURCE)
    return ("imported" if result.created else "already_there"), str(result.id)


def import_manifest(
    runtime: Runtime, manifest: Path, *, progress: Callable[[int], None] | None = None
) -> ImportReport:
    """Import every line of `manifest`; audio paths are relative to the manifest's folder."""
    report = ImportReport()
    journal = Journal(runtime, manifest)
    base = manifest.resolve().parent
    for line in read_manifest(manifest):
        if line in journal:
            report.already_there += 1
        else:
            try:
                outcome, recording_id = import_line(runtime, line, base)
            except RetentionExpired as exc:
                report.expired.append(LineProblem(line.number, exc.code, exc.message))
            except CallvaultError as exc:
                report.refused.append(LineProblem(line.number, exc.code, exc.message))
            except OSError:
                report.refused.append(
                    LineProblem(line.number, "audio_unreadable", "the audio file cannot be read")
                )
            else:
                if outcome == "imported":
                    report.imported += 1
                else:
                    report.already_there += 1
                if recording_id is not None:
                    journal.add(line, recording_id)
        if progress is not None:
            progress(1)
    log.info(
        "import_finished",
        imported=report.imported,
        already_there=report.already_there,
        refused=len(report.refused),
        expired=len(report.expired),
    )
    return report
