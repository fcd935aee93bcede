"""The audit trail for a SIEM: every entry of a period, oldest first, as CSV or JSON Lines.

Each line holds the entry as `GET /api/v1/audit` gives it (times in UTC, details as JSON, the
chain's hashes), so a receiver can check the chain across exports. Entries are read in batches
by sequence number, so a long period streams without holding it in memory.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.audit.models import AuditEntry

FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
COLUMNS = (
    "seq", "at", "actor", "action", "object_type", "object_id", "reason", "source", "outcome",
    "details", "prev_hash", "hash",
)  # fmt: skip
BATCH = 1000


def entries_between(session: Session, since: datetime, until: datetime) -> Iterator[AuditEntry]:
    """Entries with since <= at < until, oldest first, read `BATCH` at a time."""
    after = -1
    while True:
        batch = list(
            session.scalars(
                sa.select(AuditEntry)
                .where(AuditEntry.at >= since, AuditEntry.at < until, AuditEntry.seq > after)
                .order_by(AuditEntry.seq)
                .limit(BATCH)
            )
        )
        yield from batch
        if len(batch) < BATCH:
            return
        after = batch[-1].seq


def export_lines(entries: Iterator[AuditEntry], fmt: str) -> Iterator[str]:
    """The entries as lines of `fmt` ("csv" with a header row, or "jsonl")."""
    from callvault.audit.api import entry_json

    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt}")
    if fmt == "jsonl":
        for entry in entries:
            yield json.dumps(entry_json(entry), ensure_ascii=False, sort_keys=True) + "\n"
        return
    yield _csv_row(COLUMNS)
    for entry in entries:
        row = entry_json(entry)
        row["details"] = json.dumps(row["details"], ensure_ascii=False, sort_keys=True)
        yield _csv_row(tuple("" if row[c] is None else str(row[c]) for c in COLUMNS))


def _csv_row(values: tuple[str, ...]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(values)
    return out.getvalue()
