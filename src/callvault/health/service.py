"""Health: is the database reachable, blob storage writable and the keyring usable?"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import structlog

from callvault.errors import CallvaultError
from callvault.runtime import Runtime

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class HealthReport:
    checks: dict[str, str]  # name -> "ok" or an error code (never a message with details)

    @property
    def healthy(self) -> bool:
        return all(v == "ok" for v in self.checks.values())

    @property
    def failed(self) -> list[str]:
        return [k for k, v in self.checks.items() if v != "ok"]


def check_health(runtime: Runtime) -> HealthReport:
    checks: dict[str, str] = {}
    for name, probe in (
        ("database", _database),
        ("storage", lambda rt: rt.blobs.check()),
        ("keyring", lambda rt: rt.keyring.check()),
    ):
        try:
            probe(runtime)
            checks[name] = "ok"
        except CallvaultError as exc:
            checks[name] = exc.code
        except Exception as exc:  # a probe must report, never crash the health endpoint
            checks[name] = "unavailable"
            log.warning("health_probe_failed", probe=name, error=type(exc).__name__)
    if any(v != "ok" for v in checks.values()):
        log.warning("unhealthy", **checks)
    return HealthReport(checks)


def _database(runtime: Runtime) -> None:
    with runtime.engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))


def alert_counts(runtime: Runtime) -> dict[str, int]:
    """Things IT must act on, by name (0 is good), for the IT dashboard and metrics. Kept out
    of `check_health`: they do not make the server unfit to serve."""
    from callvault.db import transaction
    from callvault.telephony.status import count_failed_permanently

    with transaction(runtime.sessions) as session:
        return {"transfers_failed_permanently": count_failed_permanently(session)}
