"""`callvault telephony transfers|retry` for IT."""

from __future__ import annotations

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from callvault.telephony.commands import telephony
from tests.telephony.conftest import Twilio
from tests.telephony.provider_server import ProviderState
from tests.telephony.test_transfer import consented_call, job, run_queue


def test_transfers_lists_failures_and_retry_finishes_them(
    twilio: Twilio, provider: ProviderState, session: Session
) -> None:
    provider.fail_fetches = 1
    consented_call(twilio, provider)
    run_queue()

    listing = CliRunner().invoke(telephony, ["transfers"])
    assert listing.exit_code == 0, listing.output
    assert "copies still at the provider: 1" in listing.output
    assert "provider_error:http_503" in listing.output

    retried = CliRunner().invoke(telephony, ["retry"])
    assert retried.exit_code == 0, retried.output
    assert "provider_deleted" in retried.output
    assert job(session).state == "provider_deleted"
