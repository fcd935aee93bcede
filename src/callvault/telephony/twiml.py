"""TwiML the IVR answers with (built with the twilio package; LaML and TeXML read it too)."""

from __future__ import annotations

from functools import lru_cache

from twilio.twiml.voice_response import Dial, VoiceResponse

CONSENT_PATH = "/telephony/twilio/consent"
RECORDING_STATUS_PATH = "/telephony/twilio/recording-status"
SAY_LANGUAGE = {"sv": "sv-SE", "en": "en-GB"}
GATHER_TIMEOUT_S = 8

_MESSAGES: dict[str, dict[str, str]] = {
    "no_answer": {
        "sv": "Vi fick inget giltigt svar. Samtalet kopplas nu till en företrädare och spelas "
        "inte in.",
        "en": "We did not receive a valid answer. The call will now be connected to a "
        "representative and will not be recorded.",
    },
    "withdrawn": {
        "sv": "Ditt samtycke är återkallat och inspelningar av samtal från ditt nummer raderas. "
        "Din referens är: {ref}. Jag upprepar: {ref}.",
        "en": "Your consent has been withdrawn and recordings of calls from your number will be "
        "deleted. Your reference is: {ref}. I repeat: {ref}.",
    },
    "connect_unrecorded": {
        "sv": "Samtalet kopplas nu till en företrädare och spelas inte in.",
        "en": "The call will now be connected to a representative and will not be recorded.",
    },
    "number_unknown": {
        "sv": "Vi kan inte se ditt telefonnummer och kan därför inte ta emot återkallelsen per "
        "telefon. Kontakta vårt dataskyddsombud: {dpo}.",
        "en": "We cannot see your telephone number, so we cannot take the withdrawal by "
        "phone. Please contact our data protection officer: {dpo}.",
    },
    "unavailable": {
        "sv": "Kundtjänsten kan inte ta emot ditt samtal just nu. Försök igen senare.",
        "en": "Customer service cannot take your call right now. Please try again later.",
    },
}


def message(key: str, language: str, **values: str) -> str:
    return _MESSAGES[key][language].format(**values)


def spell(reference: str) -> str:
    """A reference read out character by character ("W7K2" -> "W 7 K 2")."""
    return " ".join(ch for ch in reference.upper() if ch.isalnum())


@lru_cache(maxsize=64)
def prompt(*, language: str, text: str | None, audio_url: str | None) -> str:
    """The consent prompt inside a one-digit Gather; silence falls through to the same action.

    Cached: a version's prompt never changes, and it is the hottest answer of a busy line.
    """
    response = VoiceResponse()
    gather = response.gather(
        num_digits=1, timeout=GATHER_TIMEOUT_S, action=CONSENT_PATH, method="POST"
    )
    if audio_url is not None:
        gather.play(audio_url)
    else:
        gather.say(text, language=SAY_LANGUAGE[language])
    # Reached only when the caller pressed nothing: the action then sees no Digits.
    response.redirect(CONSENT_PATH, method="POST")
    return str(response)


def connect(
    destination: str | None, *, language: str, recorded: bool, before: list[str] | None = None
) -> str:
    """Say `before`, then connect to the agent destination, recorded only after consent."""
    response = VoiceResponse()
    for text in before or []:
        response.say(text, language=SAY_LANGUAGE[language])
    if destination is None:
        response.say(message("unavailable", language), language=SAY_LANGUAGE[language])
        response.hangup()
        return str(response)
    if recorded:
        dial = Dial(
            record="record-from-answer-dual",
            recording_status_callback=RECORDING_STATUS_PATH,
            recording_status_callback_event="completed",
            recording_status_callback_method="POST",
        )
    else:
        dial = Dial(record="do-not-record")
    _add_destination(dial, destination)
    response.append(dial)
    return str(response)


def say_and_hang_up(texts: list[str], *, language: str) -> str:
    response = VoiceResponse()
    for text in texts:
        response.say(text, language=SAY_LANGUAGE[language])
    response.hangup()
    return str(response)


def _add_destination(dial: Dial, destination: str) -> None:
    """`sip:…` a SIP URI, `queue:NAME` a queue, `client:NAME` a client, else a phone number."""
    kind, _, rest = destination.partition(":")
    if kind == "sip":
        dial.sip(destination)
    elif kind == "queue":
        dial.queue(rest)
    elif kind == "client":
        dial.client(rest)
    else:
        dial.number(destination)
