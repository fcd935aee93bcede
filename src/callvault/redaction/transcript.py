"""Transcripts as JSON: the full one (vault only) and the pseudonymised one with labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from callvault.redaction.asr import Word
from callvault.redaction.spans import LABELS, TimeSpan

TRANSCRIPT_FORMAT = "callvault.transcript/1"


def transcript_json(
    call_id: str | None, language: str, channels: Sequence[tuple[int, str, Sequence[Word]]]
) -> dict[str, Any]:
    """The recogniser's words per channel, with times and confidence (holds personal data)."""
    return {
        "format": TRANSCRIPT_FORMAT,
        "call_id": call_id,
        "language": language,
        "pseudonymised": False,
        "channels": [
            {
                "channel": ch,
                "role": role,
                "text": " ".join(w.text for w in words),
                "words": [
                    {"text": w.text, "start": w.start, "end": w.end, "p": round(w.probability, 3)}
                    for w in words
                ],
            }
            for ch, role, words in channels
        ],
    }


def pseudonymised_json(
    call_id: str | None,
    language: str,
    channels: Sequence[tuple[int, str, Sequence[Word]]],
    spans: Sequence[TimeSpan],
) -> dict[str, Any]:
    """Each word that overlaps a masked span becomes its span's label; repeats collapse."""
    out = []
    for ch, role, words in channels:
        items: list[dict[str, Any]] = []
        for w in words:
            label = _label_for(w, [s for s in spans if s.channel == ch])
            text = label or w.text
            if label and items and items[-1]["text"] == label:
                items[-1]["end"] = w.end
                continue
            items.append({"text": text, "start": w.start, "end": w.end})
        out.append(
            {
                "channel": ch,
                "role": role,
                "text": " ".join(i["text"] for i in items),
                "words": items,
            }
        )
    return {
        "format": TRANSCRIPT_FORMAT,
        "call_id": call_id,
        "language": language,
        "pseudonymised": True,
        "channels": out,
    }


# When spans of several kinds cover a word, the most specific label wins.
_PRIORITY = ("PERSONNUMMER", "PHONE", "EMAIL", "ADDRESS", "PERSON", "NUMBER", "MARK", "UNHEARD")


def _label_for(word: Word, spans: Sequence[TimeSpan]) -> str | None:
    mid = (word.start + word.end) / 2
    hits = [s for s in spans if s.start <= mid <= s.end or _overlap(word, s) >= 0.5]
    if not hits:
        return None
    kinds = {s.entity_type for s in hits}
    for kind in _PRIORITY:
        if kind in kinds:
            return LABELS[kind]
    return LABELS.get(hits[0].entity_type, "[UPPGIFT]")


def _overlap(word: Word, span: TimeSpan) -> float:
    length = max(word.end - word.start, 1e-3)
    return max(0.0, min(word.end, span.end) - max(word.start, span.start)) / length
