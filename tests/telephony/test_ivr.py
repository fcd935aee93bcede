"""Full call flows over HTTP, signed as Twilio signs them: only the digit 1 records a call."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.audit.models import AuditEntry
from callvault.consent.models import ConsentEvidence, ConsentOutcome
from callvault.consent.service import prompt_sha256
from callvault.policy.identity import EXAMPLE
from callvault.policy.models import PolicyVersion
from callvault.policy.texts import ORIGINAL_SV, bundled_text
from callvault.runtime import Runtime
from callvault.telephony.models import TelephonyCall
from callvault.vault.fields import phone_lookup_hash, unseal
from tests.telephony.conftest import (
    AGENT,
    CALLER,
    WITHDRAWAL_LINE,
    Twilio,
    call_sid,
)

CONSENT_PATH = "/telephony/twilio/consent"


def twiml(response: object) -> ET.Element:
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("application/xml")  # type: ignore[attr-defined]
    return ET.fromstring(response.text)  # type: ignore[attr-defined]  # noqa: S314


def section4_words() -> list[str]:
    policy = bundled_text(ORIGINAL_SV)
    match = re.search(
        r"Välkommen till Arlo Europes kundtjänst\..*?inte att spelas in\.", policy, re.S
    )
    assert match is not None
    return match.group(0).split()


def assert_prompt(root: ET.Element, language: str = "sv-SE") -> str:
    """The response is the prompt in a one-digit Gather, then a fall-through to the action."""
    assert [child.tag for child in root] == ["Gather", "Redirect"]
    gather = root[0]
    assert gather.attrib["numDigits"] == "1"
    assert gather.attrib["timeout"] == "8"
    assert gather.attrib["action"] == CONSENT_PATH
    assert root[1].text == CONSENT_PATH
    (say,) = list(gather)
    assert say.tag == "Say"
    assert say.attrib["language"] == language
    assert say.text is not None
    return say.text


def assert_connected(root: ET.Element, *, recorded: bool) -> ET.Element:
    dial = root.find("Dial")
    assert dial is not None
    assert dial.findtext("Number") == AGENT
    if recorded:
        assert dial.attrib["record"] == "record-from-answer-dual"
        assert dial.attrib["recordingStatusCallback"] == "/telephony/twilio/recording-status"
    else:
        assert dial.attrib.get("record", "do-not-record") == "do-not-record"
        assert "recordingStatusCallback" not in dial.attrib
    return dial


def outcomes(session: Session) -> list[str]:
    return list(
        session.scalars(sa.select(ConsentOutcome.outcome).order_by(ConsentOutcome.occurred_at))
    )


def audit_actions(session: Session) -> list[str]:
    return list(session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.seq)))


def assert_no_caller_number(session: Session) -> None:
    """Neither the call state nor the rate statistics hold the caller's number in any form."""
    digits = CALLER.lstrip("+")
    for table in (TelephonyCall.__table__, ConsentOutcome.__table__):
        for row in session.execute(sa.select(table)).mappings():
            for value in row.values():
                assert digits not in str(value), f"{table.name} holds the caller number"


def test_incoming_call_hears_section_4_word_for_word_in_swedish(twilio: Twilio) -> None:
    text = assert_prompt(twiml(twilio.voice(call_sid())))
    assert text.split() == section4_words()


def test_english_line_hears_the_english_prompt(twilio: Twilio, version: PolicyVersion) -> None:
    text = assert_prompt(twiml(twilio.voice(call_sid(), query="lang=en")), language="en-GB")
    assert text == EXAMPLE.fill(version.prompt_en, "en")
    assert text.startswith("Welcome to Arlo Europe’s customer service.")


def test_consent_saves_evidence_then_records(
    twilio: Twilio, session: Session, runtime: Runtime, version: PolicyVersion
) -> None:
    spoken = assert_prompt(twiml(twilio.voice(call_sid())))
    assert_connected(twiml(twilio.press(call_sid(), "1")), recorded=True)

    evidence = session.scalars(sa.select(ConsentEvidence)).one()
    assert evidence.call_id == call_sid()
    assert evidence.digit == "1"
    assert evidence.given_at == runtime.clock.now()
    assert evidence.policy_version_id == version.id
    assert evidence.prompt_sha256 == prompt_sha256(spoken)
    assert evidence.prompt_version == "v1/sv/text"
    assert evidence.language == "sv"
    assert evidence.source == "ivr"
    assert evidence.caller_number_enc is not None
    assert CALLER.encode() not in evidence.caller_number_enc
    assert unseal(runtime.keyring, evidence.caller_number_enc, "consent.caller") == CALLER
    assert evidence.caller_number_hash == phone_lookup_hash(runtime.keyring, CALLER)
    assert outcomes(session) == ["accepted"]
    assert "consent.given" in audit_actions(session)


def test_refusal_connects_unrecorded_and_keeps_no_number(twilio: Twilio, session: Session) -> None:
    twilio.voice(call_sid())
    assert_connected(twiml(twilio.press(call_sid(), "2")), recorded=False)

    assert session.scalar(sa.select(sa.func.count()).select_from(ConsentEvidence)) == 0
    refusal = session.scalars(sa.select(ConsentOutcome)).one()
    assert (refusal.outcome, refusal.language, refusal.channel) == ("refused", "sv", "ivr")
    assert "consent.refused" in audit_actions(session)
    assert_no_caller_number(session)


def test_silence_twice_is_never_consent(twilio: Twilio, session: Session) -> None:
    twilio.voice(call_sid())
    assert_prompt(twiml(twilio.press(call_sid(), None)))  # first silence: the prompt again
    root = twiml(twilio.press(call_sid(), None))  # second: connected, not recorded
    assert_connected(root, recorded=False)
    assert "spelas inte in" in (root.findtext("Say") or "")
    assert session.scalar(sa.select(sa.func.count()).select_from(ConsentEvidence)) == 0
    assert outcomes(session) == ["no_answer"]
    assert_no_caller_number(session)


@pytest.mark.parametrize("wrong", ["5", "0", "*", "#"])
def test_wrong_digit_then_1_records(twilio: Twilio, session: Session, wrong: str) -> None:
    twilio.voice(call_sid())
    assert_prompt(twiml(twilio.press(call_sid(), wrong)))
    assert_connected(twiml(twilio.press(call_sid(), "1")), recorded=True)
    assert session.scalars(sa.select(ConsentEvidence.digit)).one() == "1"
    assert outcomes(session) == ["accepted"]


def test_wrong_digit_twice_connects_unrecorded(twilio: Twilio, session: Session) -> None:
    twilio.voice(call_sid())
    twilio.press(call_sid(), "7")
    assert_connected(twiml(twilio.press(call_sid(), "3")), recorded=False)
    assert outcomes(session) == ["no_answer"]


def test_a_retried_silence_is_not_counted_twice(twilio: Twilio, session: Session) -> None:
    twilio.voice(call_sid())
    first = twilio.press(call_sid(), None, retry_of="idem-1")
    retry = twilio.press(call_sid(), None, retry_of="idem-1")
    assert retry.text == first.text
    assert_prompt(twiml(retry))  # still the first failure: the prompt, not a connection
    assert_connected(twiml(twilio.press(call_sid(), None, retry_of="idem-2")), recorded=False)


def withdrawals(session: Session) -> list[tuple[str | None, str]]:
    from callvault.withdrawal.models import Withdrawal

    return [(w.caller_number_hash, w.channel) for w in session.scalars(sa.select(Withdrawal))]


def test_pressing_9_withdraws_and_reads_out_the_reference(
    twilio: Twilio, session: Session, runtime: Runtime
) -> None:
    from callvault.withdrawal.models import Withdrawal

    twilio.voice(call_sid())
    root = twiml(twilio.press(call_sid(), "9"))
    assert_connected(root, recorded=False)
    reference = session.scalars(sa.select(Withdrawal.reference)).one()
    spoken = " ".join(s.text or "" for s in root.findall("Say"))
    assert " ".join(ch for ch in reference if ch.isalnum()) in spoken
    assert "återkallat" in spoken
    assert withdrawals(session) == [(phone_lookup_hash(runtime.keyring, CALLER), "ivr")]
    assert outcomes(session) == ["withdrawn"]
    assert session.scalar(sa.select(sa.func.count()).select_from(ConsentEvidence)) == 0


def test_calling_the_withdrawal_number_withdraws_and_hangs_up(
    twilio: Twilio, session: Session, runtime: Runtime
) -> None:
    root = twiml(twilio.voice(call_sid(), to=WITHDRAWAL_LINE))
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert root.find("Gather") is None and root.find("Dial") is None
    assert withdrawals(session) == [(phone_lookup_hash(runtime.keyring, CALLER), "ivr")]
    assert outcomes(session) == []  # not an offer of the prompt: not in the consent rate


def test_withdrawal_from_a_withheld_number_points_to_the_dpo(
    twilio: Twilio, session: Session, runtime: Runtime
) -> None:
    root = twiml(twilio.voice(call_sid(), caller="anonymous", to=WITHDRAWAL_LINE))
    assert runtime.settings.dpo_contact in (root.findtext("Say") or "")
    assert withdrawals(session) == []


@pytest.mark.parametrize(
    ("signature", "why"),
    [("", "missing"), ("bm90IGEgc2lnbmF0dXJl", "invalid")],
)
def test_forged_or_missing_signature_is_refused_and_audited(
    twilio: Twilio, session: Session, signature: str, why: str
) -> None:
    from tests.telephony.conftest import call_fields

    response = twilio.post(
        "/telephony/twilio/consent",
        {**call_fields(call_sid(), CALLER, AGENT), "Digits": "1"},
        signature=signature,
    )
    assert response.status_code == 403
    entry = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "webhook.forged")
    ).one()
    assert (entry.outcome, entry.actor, entry.details["signature"]) == ("refused", "anonymous", why)
    assert session.scalar(sa.select(sa.func.count()).select_from(ConsentEvidence)) == 0


def test_signature_over_other_fields_is_refused(twilio: Twilio, session: Session) -> None:
    from tests.telephony.conftest import call_fields

    fields = call_fields(call_sid(), CALLER, AGENT)
    signed_for_2 = twilio.sign(CONSENT_PATH, {**fields, "Digits": "2"})
    response = twilio.post(CONSENT_PATH, {**fields, "Digits": "1"}, signature=signed_for_2)
    assert response.status_code == 403


def test_signature_with_another_token_is_refused(twilio: Twilio) -> None:
    from tests.telephony.conftest import Twilio as Signer

    forger = Signer(twilio.client, key="not-the-auth-token")
    assert forger.voice(call_sid()).status_code == 403


def test_duplicate_voice_and_consent_callbacks_are_idempotent(
    twilio: Twilio, session: Session
) -> None:
    first = twilio.voice(call_sid())
    assert twilio.voice(call_sid()).text == first.text
    accepted = twilio.press(call_sid(), "1")
    again = twilio.press(call_sid(), "1")
    assert again.text == accepted.text
    assert session.scalar(sa.select(sa.func.count()).select_from(TelephonyCall)) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(ConsentEvidence)) == 1
    assert outcomes(session) == ["accepted"]
    # Once decided, a late digit changes nothing.
    assert_connected(twiml(twilio.press(call_sid(), "2")), recorded=True)
    assert outcomes(session) == ["accepted"]


def test_duplicate_refusal_is_counted_once(twilio: Twilio, session: Session) -> None:
    twilio.voice(call_sid())
    twilio.press(call_sid(), "2")
    twilio.press(call_sid(), "2")
    assert outcomes(session) == ["refused"]


def test_call_state_is_keyed_by_a_hash_not_the_call_sid(twilio: Twilio, session: Session) -> None:
    twilio.voice(call_sid())
    twilio.press(call_sid(), "2")
    state = session.scalars(sa.select(TelephonyCall)).one()
    assert call_sid() not in state.call_key
    assert state.outcome == "refused"


def test_uploaded_prompt_audio_is_played_and_its_hash_is_the_evidence(
    twilio: Twilio, session: Session, runtime: Runtime, version: PolicyVersion
) -> None:
    import hashlib
    import uuid

    from callvault.policy.prompt_audio import upload_prompt_audio
    from tests.policy.test_prompt_audio import wav
    from tests.telephony.conftest import PUBLIC_URL

    audio = wav()
    row = upload_prompt_audio(
        session,
        runtime,
        version,
        "sv",
        data=audio,
        media_type="audio/wav",
        uploaded_by=uuid.uuid4(),
    )
    session.commit()
    root = twiml(twilio.voice(call_sid()))
    play = root.find("Gather/Play")
    assert play is not None and root.find("Gather/Say") is None
    assert play.text == f"{PUBLIC_URL}/api/v1/policy/prompt-audio/{row.id}"
    assert twilio.client.get(play.text.removeprefix(PUBLIC_URL)).content == audio

    twilio.press(call_sid(), "1")
    evidence = session.scalars(sa.select(ConsentEvidence)).one()
    assert evidence.prompt_sha256 == hashlib.sha256(audio).hexdigest()
    assert evidence.prompt_version == f"v1/sv/audio/{row.id.hex[:12]}"


def test_without_a_policy_in_force_calls_connect_unrecorded(runtime: Runtime) -> None:
    from fastapi.testclient import TestClient

    from callvault.app import create_app
    from tests.telephony.conftest import PUBLIC_URL

    runtime.keyring.ensure()
    with TestClient(create_app(runtime), base_url=PUBLIC_URL) as client:
        root = twiml(Twilio(client).voice(call_sid()))
    assert_connected(root, recorded=False)
    assert root.find("Gather") is None


@pytest.mark.parametrize(
    "path",
    [
        "/telephony/twilio/voice",
        "/telephony/twilio/consent",
        "/telephony/twilio/recording-status",
        "/telephony/twilio/voice?lang=en",
    ],
)
def test_every_webhook_demands_a_signature(twilio: Twilio, session: Session, path: str) -> None:
    from tests.telephony.conftest import call_fields

    fields = {**call_fields(call_sid(), CALLER, AGENT), "RecordingSid": "RE" + "a" * 32}
    signed_elsewhere = twilio.sign("/telephony/twilio/other", fields)
    assert twilio.post(path, fields, signature=signed_elsewhere).status_code == 403
    assert twilio.post(path, fields).status_code in (200, 204)
    forged = session.scalars(
        sa.select(AuditEntry.object_id).where(AuditEntry.action == "webhook.forged")
    ).all()
    assert forged == [path.split("?")[0]]


def test_signature_over_non_ascii_fields_is_accepted(twilio: Twilio) -> None:
    from tests.telephony.conftest import SUPPORT_LINE, call_fields

    fields = {**call_fields(call_sid(), CALLER, SUPPORT_LINE), "CallerName": "Åsa Öberg & Co"}
    assert twilio.post("/telephony/twilio/voice", fields).status_code == 200


def test_evidence_hashes_the_prompt_as_played_with_the_organisation_identity(
    twilio: Twilio, session: Session, runtime: Runtime, version: PolicyVersion
) -> None:
    from callvault.policy.identity import Identity, played_prompt, record_identity

    exempel = Identity("Exempel AB", "Exempel", "www.exempel.se", "dpo@exempel.se")
    record_identity(session, runtime, exempel, actor="system", source="cli")
    session.commit()
    spoken = assert_prompt(twiml(twilio.voice(call_sid())))
    assert spoken.startswith("Välkommen till Exempels kundtjänst.")
    assert "Arlo" not in spoken
    assert_connected(twiml(twilio.press(call_sid(), "1")), recorded=True)
    evidence = session.scalars(sa.select(ConsentEvidence)).one()
    assert evidence.prompt_sha256 == prompt_sha256(spoken)
    rebuilt = played_prompt(session, runtime.settings, version, "sv", evidence.given_at)
    assert prompt_sha256(rebuilt) == evidence.prompt_sha256
