"""The metrics counted inside processes (requests, failures); figures read from the store at
scrape time live in `callvault.metrics.service`.

With PROMETHEUS_MULTIPROC_DIR set before start-up, prometheus-client keeps these in files in that
directory, shared by every process of the host (uvicorn workers, `callvault worker`); the scrape
then adds them up (`callvault.metrics.service.exposition`).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_REQUEST_DURATION = Histogram(
    "callvault_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template (never the raw path) and status class.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

PSEUDONYMISATION_FAILURES = Counter(
    "callvault_pseudonymisation_failures",
    "Pseudonymisation runs that ended in failure (the recording keeps no pseudonymised variant).",
)

LOGIN_FAILURES = Counter(
    "callvault_login_failures",
    "Refused sign-in attempts (wrong password or code, unknown, disabled or locked account).",
)
