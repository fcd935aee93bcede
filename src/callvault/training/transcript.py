"""A clip's share of the pseudonymised transcript, its review regions and its search terms."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from callvault.redaction.spans import LABELS
from callvault.vault.fields import keyed_hash
from callvault.vault.keyring import Keyring

MARK_LABEL = LABELS["MARK"]
UNHEARD_LABEL = LABELS["UNHEARD"]
LOW_CONFIDENCE = 0.5
_LABEL_WORDS = frozenset(LABELS.values())
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
TERM_HEX = 12  # 48 bits of a keyed hash per word: collisions are rare and harmless (a hit more)


@dataclass(frozen=True)
class ReviewRegion:
    """Where the pseudonymisation was unsure, in seconds from the clip's start."""

    start: float
    end: float
    kind: str  # the transcript's own kind, or low_confidence | skipped_speech | unsure_detection
    channel: int | None = None


def clip_transcript(
    pseudonymised: Mapping[str, Any],
    start_s: float,
    end_s: float,
    marks: Sequence[tuple[float, float]],
) -> dict[str, Any]:
    """The words of [start_s, end_s), shifted to the clip's time; a marked word becomes
    `[MARKERAT]` (repeats collapse), so the transcript shows what the audio masks."""
    channels = []
    for channel in pseudonymised.get("channels", []):
        items: list[dict[str, Any]] = []
        for word in channel.get("words", []):
            w_start, w_end = float(word["start"]), float(word["end"])
            if w_end <= start_s or w_start >= end_s:
                continue
            rel_start, rel_end = max(0.0, w_start - start_s), min(end_s, w_end) - start_s
            mid = (rel_start + rel_end) / 2
            marked = any(a <= mid <= b or (a < rel_end and b > rel_start) for a, b in marks)
            text = MARK_LABEL if marked else str(word["text"])
            if marked and items and items[-1]["text"] == MARK_LABEL:
                items[-1]["end"] = round(rel_end, 3)
                continue
            items.append({"text": text, "start": round(rel_start, 3), "end": round(rel_end, 3)})
        channels.append(
            {
                "channel": channel.get("channel"),
                "role": channel.get("role"),
                "text": " ".join(i["text"] for i in items),
                "words": items,
            }
        )
    return {
        "format": "callvault.clip-transcript/1",
        "language": pseudonymised.get("language"),
        "pseudonymised": True,
        "channels": channels,
    }


def review_regions(
    pseudonymised: Mapping[str, Any],
    start_s: float,
    end_s: float,
    detections: Mapping[str, Any] | None = None,
    *,
    min_score: float = 0.5,
) -> list[ReviewRegion]:
    """Where a reviewer should listen first, clip-relative and sorted.

    The pseudonymised transcript's own `review_regions` when it has them; until the pipeline
    writes those: skipped speech (`[OHÖRBART]`), words heard with low confidence (when the
    transcript carries a confidence `p`) and detections too unsure to be masked.
    """
    found: list[ReviewRegion] = []
    given = pseudonymised.get("review_regions")
    if isinstance(given, list):
        for region in given:
            found.extend(
                _clipped(
                    float(region["start"]),
                    float(region["end"]),
                    str(region.get("kind", "review")),
                    region.get("channel"),
                    start_s,
                    end_s,
                )
            )
        return sorted(found, key=lambda r: (r.start, r.end))
    for channel in pseudonymised.get("channels", []):
        ch = channel.get("channel")
        for word in channel.get("words", []):
            kind = None
            if word.get("text") == UNHEARD_LABEL:
                kind = "skipped_speech"
            elif "p" in word and float(word["p"]) < LOW_CONFIDENCE:
                kind = "low_confidence"
            if kind:
                found.extend(
                    _clipped(float(word["start"]), float(word["end"]), kind, ch, start_s, end_s)
                )
    for span in (detections or {}).get("spans", []):
        if float(span.get("score", 1.0)) < min_score:
            found.extend(
                _clipped(
                    float(span["start"]),
                    float(span["end"]),
                    "unsure_detection",
                    span.get("channel"),
                    start_s,
                    end_s,
                )
            )
    return sorted(found, key=lambda r: (r.start, r.end))


def _clipped(
    a: float, b: float, kind: str, channel: object, start_s: float, end_s: float
) -> Iterable[ReviewRegion]:
    if b <= start_s or a >= end_s:
        return []
    ch = channel if isinstance(channel, int) else None
    return [
        ReviewRegion(
            round(max(a, start_s) - start_s, 3), round(min(b, end_s) - start_s, 3), kind, ch
        )
    ]


def words_of(text: str) -> list[str]:
    """Search words: letters and digits, lower case; the pseudonymisation labels left out."""
    return [w.lower() for w in _WORD.findall(text) if f"[{w}]" not in _LABEL_WORDS]


def term_hasher(keyring: Keyring) -> Callable[[str], str]:
    """word -> its search term (the keyed hash `vault.fields.keyed_hash` would give, cut)."""
    key = keyring.lookup_key()
    prefix = b"training.search\x00"

    def term(word: str) -> str:
        data = prefix + word.lower().encode("utf-8")
        return hmac.new(key, data, hashlib.sha256).hexdigest()[:TERM_HEX]

    return term


def term(keyring: Keyring, word: str) -> str:
    return keyed_hash(keyring, "training.search", word.lower().encode("utf-8"))[:TERM_HEX]


def search_terms(keyring: Keyring, transcript: Mapping[str, Any]) -> str:
    """The transcript's distinct words as keyed hashes, space separated: searchable by the
    holder of the key, meaningless to anyone reading the database."""
    words: set[str] = set()
    for channel in transcript.get("channels", []):
        for item in channel.get("words", []):
            text = str(item.get("text", ""))
            if text in _LABEL_WORDS:
                continue
            words.update(words_of(text))
    hasher = term_hasher(keyring)
    return " ".join(sorted({hasher(w) for w in words}))
