"""Query values that once gave 500 give a 4xx, and a fuzzer over the list routes' query
parameters, logged in as the people who use them, finds no server error."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callvault.app import create_app
from callvault.runtime import Runtime
from tests.web.conftest import People, log_in


@pytest.fixture
def lenient_client(runtime: Runtime) -> Iterator[TestClient]:
    """A client that answers a server error with its status (500) instead of raising it."""
    runtime.keyring.ensure()
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield client


ISSUE_INPUTS = [
    ("qa_manager", "/recordings?until=9999-12-31"),
    ("qa_manager", "/recordings?from=0001-01-01"),
    ("dpo", "/audit?before=99999999999999999999999"),
    ("dpo", "/audit?until=9999-12-31"),
    ("dpo", "/api/v1/audit?actor=&action=&before_seq=1"),
    ("dpo", "/api/v1/audit?before_seq=99999999999999999999"),
    ("dpo", "/api/v1/audit/refusals?until=0.5"),
    ("dpo", "/api/v1/access/refusals?until=0001-01-05"),
    ("dpo", "/api/v1/consent/rate?from=0001-01-01"),
    ("qa_manager", "/api/v1/recordings?started_until=9999-12-31T23:59:59-23:59"),
    ("qa_manager", "/api/v1/recordings?started_until=0.5"),
    (None, "/api/v1/policy/versions/99999999999999999999"),
    (None, "/api/v1/policy/versions/99999999999999999999/prompt-audio/sv"),
    (None, "/policy/versions/99999999999999999999"),
    # a NUL reached PostgreSQL, which refuses it with an error (a 500 there)
    ("dpo", "/api/v1/audit?actor=%00"),
    ("dpo", "/audit?who=%00"),
    ("dpo", "/api/v1/dsars?status=%00"),
    ("qa_manager", "/recordings/%00"),
]


@pytest.mark.parametrize(("role", "url"), ISSUE_INPUTS)
def test_inputs_from_the_review_get_a_client_error(
    role: str | None, url: str, lenient_client: TestClient, runtime: Runtime, people: People
) -> None:
    if role:
        log_in(lenient_client, runtime, people[role])
    answer = lenient_client.get(url)
    assert 400 <= answer.status_code < 500, (url, answer.status_code)


# --- the fuzzer ---------------------------------------------------------------------------------

# Years drawn as integers, which hypothesis pushes to their bounds (0001, 9999), where date
# arithmetic and time zones overflow.
_dates = st.builds(date, st.integers(1, 9999), st.integers(1, 12), st.integers(1, 28))
_zones = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda m: timezone(timedelta(minutes=m))
)
_days = _dates.map(date.isoformat)
_instants = st.builds(
    lambda d, h, z: datetime.combine(d, time(h, 59, 59), z).isoformat(),
    _dates,
    st.integers(0, 23),
    _zones,
)
VALUES = st.one_of(
    _days,
    _instants,
    st.integers().map(str),
    st.integers(min_value=10**18, max_value=10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(
        ["", " ", "0", "-1", "nan", "1e400", "0.5", "9" * 4300, "a@b", "%00", "*", "\x00", "a\x00b"]
    ),
    st.text(max_size=30),
)

# route, who uses it, the query parameters it reads
ROUTES = [
    ("/recordings", "qa_manager", ["from", "until", "agent", "purpose", "cursor"]),
    ("/audit", "dpo", ["who", "action", "outcome", "from", "until", "before"]),
    (
        "/api/v1/audit",
        "dpo",
        ["actor", "action", "object_type", "object_id", "outcome", "since", "until", "limit"]
        + ["before_seq"],
    ),
    ("/api/v1/audit/refusals", "dpo", ["since", "until"]),
    ("/api/v1/access/refusals", "dpo", ["since", "until"]),
    ("/api/v1/consent/rate", "dpo", ["from", "to"]),
    ("/api/v1/grants", "dpo", ["status", "grantee_id"]),
    ("/api/v1/dsars", "dpo", ["status"]),
    (
        "/api/v1/recordings",
        "qa_manager",
        ["limit", "cursor", "started_from", "started_until", "agent_id", "team", "purpose"],
    ),
]


@pytest.mark.parametrize(("path", "role", "names"), ROUTES, ids=[r[0] for r in ROUTES])
def test_fuzzed_query_parameters_never_give_a_server_error(
    path: str,
    role: str,
    names: list[str],
    lenient_client: TestClient,
    runtime: Runtime,
    people: People,
) -> None:
    log_in(lenient_client, runtime, people[role])

    @settings(
        max_examples=80,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.dictionaries(st.sampled_from(names), VALUES, max_size=len(names)))
    def query(params: dict[str, str]) -> None:
        answer = lenient_client.get(path, params=params)
        assert answer.status_code < 500, (path, params, answer.status_code)

    query()


@given(st.integers(min_value=-(10**30), max_value=10**30))
@settings(max_examples=40, deadline=None, derandomize=True)
def test_policy_version_numbers_of_any_size_are_not_found(number: int) -> None:
    """The public version routes hold no session: any integer is a 404 or a 422."""
    from callvault.errors import NotFound
    from callvault.policy.service import version_by_number

    class NoSession:
        def scalar(self, *_: object) -> None:
            return None

    with pytest.raises(NotFound):
        version_by_number(NoSession(), number)  # type: ignore[arg-type]
