"""The stated reason for an access (§6): one rule for what counts as a reason, for API and web."""

from __future__ import annotations

from callvault.audit.privacy import visible_text
from callvault.errors import InvalidInput

MIN_VISIBLE = 10  # characters, after normalising
MIN_WORDS = 2
MIN_LETTERS = 10
MAX_REASON = 500
RULE = (
    f"state a reason of at least {MIN_VISIBLE} visible characters, "
    f"with at least {MIN_WORDS} words or {MIN_LETTERS} letters"
)


def normalise_reason(raw: str | None) -> str:
    """NFKC, without control and format characters (NUL, zero-width space), one space between
    words, at most MAX_REASON characters."""
    return visible_text(raw or "")[:MAX_REASON]


def is_meaningful(text: str) -> bool:
    """At least MIN_VISIBLE visible characters, and two words or MIN_LETTERS letters.

    A word is a run of non-space characters holding a letter or digit, so "!!!!! !!!!!" is none.
    """
    visible = sum(not ch.isspace() for ch in text)
    words = [w for w in text.split() if any(ch.isalnum() for ch in w)]
    letters = sum(ch.isalpha() for ch in text)
    return visible >= MIN_VISIBLE and (len(words) >= MIN_WORDS or letters >= MIN_LETTERS)


def checked_reason(raw: str | None) -> str:
    """The normalised reason, or InvalidInput (naming the rule, never echoing the text)."""
    text = normalise_reason(raw)
    if not is_meaningful(text):
        raise InvalidInput(RULE)
    return text
