"""KEK retirement (§7): once a key epoch's week is over, its KEK is destroyed.

Every recording of an epoch is due for deletion before the epoch ends, so after the sweep has
deleted them nothing needs the epoch's KEK any more; destroying it makes every copy of their
wrapped keys (in any backup taken before) useless, even where no erasure journal is at hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import structlog

from callvault.db import transaction
from callvault.recordings.models import Recording
from callvault.runtime import Runtime
from callvault.vault.epochs import epoch_end, epoch_start

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class EpochRetired:
    epoch: str
    kek_ids: list[str]


def retire_expired_epochs(runtime: Runtime, now: datetime) -> list[EpochRetired]:
    """Destroy the KEK of every live epoch that has ended and holds no live recording.

    The destruction is journalled first (the journal lets a restored key file catch up), then
    done in the keyring, then audited. An epoch that still holds a live recording (a sweep that
    has not caught up) is left for the next run.
    """
    from callvault.audit.service import record
    from callvault.backup.journal import journal_erasure
    from callvault.retention.service import LIVE_STATES
    from callvault.vault.models import Artifact

    retired: list[EpochRetired] = []
    for state in runtime.keyring.epochs():
        if not state.live or epoch_end(state.epoch) > now:
            continue
        with transaction(runtime.sessions) as session:
            live = session.scalar(
                sa.select(sa.func.count())
                .select_from(Recording)
                .where(
                    Recording.state.in_(LIVE_STATES),
                    Recording.expires_at >= epoch_start(state.epoch),
                    Recording.expires_at < epoch_end(state.epoch),
                )
            )
            keyed = session.scalar(
                sa.select(sa.func.count())
                .select_from(Artifact)
                .where(Artifact.kek_id.in_(state.kek_ids))
            )
            if live or keyed:
                log.warning("epoch_not_retired", epoch=state.epoch, live=live, keyed=keyed)
                continue
            journal_erasure(runtime, "epoch_destroyed", {"epochs": [state.epoch]}, at=now)
            kek_ids = runtime.keyring.destroy_epoch(state.epoch, now)
            record(
                session,
                actor="system",
                action="vault.epoch_destroy",
                object_type="key_epoch",
                object_id=state.epoch,
                source="worker",
                details={"epoch": state.epoch, "keks": len(kek_ids)},
                at=now,
            )
        retired.append(EpochRetired(state.epoch, kek_ids))
    return retired
