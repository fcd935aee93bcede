"""Signed webhooks with numbers no job can hold are refused with a 4xx, and nothing is saved."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.telephony.models import ProviderRecordingJob
from tests.telephony.conftest import ACCOUNT_SID, Twilio, call_sid, recording_sid


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("RecordingChannels", "1e400"),
        ("RecordingChannels", "nan"),
        ("RecordingChannels", "-inf"),
        ("RecordingDuration", "1e400"),
        ("RecordingDuration", "nan"),
    ],
)
def test_recording_status_with_impossible_numbers_is_refused(
    field: str, value: str, twilio: Twilio, session: Session
) -> None:
    fields = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": call_sid(),
        "RecordingSid": recording_sid(),
        "RecordingStatus": "completed",
        "RecordingDuration": "3",
        "RecordingChannels": "2",
        field: value,
    }
    answer = twilio.post("/telephony/twilio/recording-status", fields)
    assert answer.status_code == 422
    assert session.scalar(sa.select(sa.func.count()).select_from(ProviderRecordingJob)) == 0
