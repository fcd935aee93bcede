"""`callvault keys rotate`: a new KEK; data keys and sealed fields re-wrapped, audio untouched."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import structlog

from callvault.db import load_models, transaction
from callvault.runtime import Runtime
from callvault.vault.fields import SEALED_COLUMNS, reseal, sealed_kek_id
from callvault.vault.service import rewrap_all

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RotationReport:
    kek_id: str
    data_keys: int
    sealed_fields: int


def rotate_keys(runtime: Runtime, *, batch: int = 500) -> RotationReport:
    """Add a KEK and re-wrap under it. Old KEKs stay in the keyring, so a crash half-way
    leaves every key readable, and running it again finishes the job."""
    kek_id = runtime.keyring.rotate()
    return RotationReport(kek_id, *rewrap_everything(runtime, batch=batch))


def rewrap_everything(runtime: Runtime, *, batch: int = 500) -> tuple[int, int]:
    with transaction(runtime.sessions) as session:
        data_keys = rewrap_all(session, runtime.keyring, batch=batch)
    active = runtime.keyring.active_kek_id()
    current = {active} | {s.kek_ids[-1] for s in runtime.keyring.epochs() if s.live}
    load_models()  # the parts' models register their sealed columns when imported
    sealed = 0
    for column in SEALED_COLUMNS:
        table_cls = column.attribute.class_
        pk = sa.inspect(table_cls).primary_key
        with transaction(runtime.sessions) as session:
            rows = session.execute(
                sa.select(*pk, column.attribute).where(column.attribute.is_not(None))
            ).all()
            for row in rows:
                value: bytes = row[-1]
                if sealed_kek_id(value) in current:
                    continue
                where = [c == v for c, v in zip(pk, row[:-1], strict=True)]
                session.execute(
                    sa.update(table_cls)
                    .where(*where)
                    .values({column.attribute.key: reseal(runtime.keyring, value, column.context)})
                )
                sealed += 1
    log.info("keys_rewrapped", kek_id=active, data_keys=data_keys, sealed_fields=sealed)
    return data_keys, sealed
