"""The backup's on-disk form: a directory with a signed checksum manifest written last.

```
OUT/
  MANIFEST.json        written last (atomically): ids, heads, and sha256 + size of every file
  database.sqlite3     SQLite online-backup copy   | database.pgdump  (pg_dump -Fc)
  blobs.json           every blob the snapshot refers to (name, sealed size)
  blobs/<name>         the encrypted blobs themselves, for file:// storage
  keyring.json         KEK ids and epochs only: never KEK material
  kms-lookup.json      (KMS keyrings) the look-up key, sealed by the KMS
```
A directory without MANIFEST.json, or whose files do not match it, is an incomplete backup.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callvault.audit.signing import CheckpointSigner, CheckpointVerifier
from callvault.errors import IntegrityError

FORMAT = "callvault-backup/1"
MANIFEST = "MANIFEST.json"
_CHUNK = 1 << 20


class BackupIncomplete(IntegrityError):
    """The backup is incomplete or damaged: it cannot be restored."""

    code = "backup_incomplete"


@dataclass
class VerifyResult:
    ok: bool
    manifest: dict[str, Any]
    problems: list[str] = field(default_factory=list)


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def canonical(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def sign_manifest(doc: dict[str, Any], signer: CheckpointSigner) -> dict[str, Any]:
    body = {k: v for k, v in doc.items() if k not in ("signature", "key_id")}
    body["key_id"] = signer.key_id
    body["signature"] = signer.sign(canonical({k: v for k, v in body.items() if k != "signature"}))
    return body


def read_manifest(root: Path) -> dict[str, Any]:
    path = root / MANIFEST
    if not root.is_dir():
        raise BackupIncomplete(f"no backup at {root}")
    if not path.exists():
        raise BackupIncomplete(
            f"{root} has no {MANIFEST}: the backup did not finish (or this is not a backup)"
        )
    try:
        doc: dict[str, Any] = json.loads(path.read_bytes())
    except (OSError, ValueError):
        raise BackupIncomplete(f"{MANIFEST} is unreadable") from None
    if doc.get("format") != FORMAT:
        raise BackupIncomplete(f"not a {FORMAT} backup")
    return doc


def verify_archive(root: Path, verifier: CheckpointVerifier | None) -> VerifyResult:
    """Every file listed is there with its size and sha256, nothing else is, and the manifest's
    signature holds (when the audit key is at hand)."""
    manifest = read_manifest(root)
    problems: list[str] = []
    if verifier is not None:
        body = {k: v for k, v in manifest.items() if k != "signature"}
        if manifest.get("key_id") != verifier.key_id:
            problems.append("the manifest is signed by another audit key")
        elif not verifier.verify(canonical(body), str(manifest.get("signature", ""))):
            problems.append("the manifest's signature is not valid")
    files: dict[str, dict[str, Any]] = manifest.get("files", {})
    for rel, expected in sorted(files.items()):
        path = root / rel
        if not path.is_file():
            problems.append(f"missing: {rel}")
        elif path.stat().st_size != expected["size"]:
            problems.append(f"wrong size: {rel}")
        elif file_digest(path) != expected["sha256"]:
            problems.append(f"checksum mismatch: {rel}")
    present = {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.name != MANIFEST
    }
    problems.extend(f"not in the manifest: {rel}" for rel in sorted(present - set(files)))
    return VerifyResult(not problems, manifest, problems)
