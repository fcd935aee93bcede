"""The pseudonymisation pipeline: decode → per channel VAD + ASR → detect → decide → mask."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from callvault.redaction.asr import Recogniser, Recognition, Word
from callvault.redaction.audio import Audio, AudioSource, channel_for_asr
from callvault.redaction.detectors import DetectionContext, detectors_for
from callvault.redaction.dialogue import (
    acknowledgement_spans,
    answer_spans,
    caller_introduction_spans,
    introduction_spans,
    readback_spans,
    relation_spans,
    vocative_spans,
)
from callvault.redaction.masking import mask_audio
from callvault.redaction.spans import TimeSpan, merge_intervals
from callvault.redaction.transcript import pseudonymised_json, transcript_json

log = structlog.get_logger(__name__)

ROLES = ("agent", "customer")
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class CallMetadata:
    """What the telephony platform and the CRM said about the call (see CALL.meta.json)."""

    call_id: str | None = None
    language: str = "sv"
    agent_name: str | None = None
    customer_name: str | None = None
    customer_email: str | None = None
    customer_address: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CallMetadata:
        agent = data.get("agent") or {}
        customer = data.get("customer") or {}
        return cls(
            call_id=data.get("call_id"),
            language=str(data.get("language") or "sv"),
            agent_name=agent.get("name") if isinstance(agent, Mapping) else None,
            customer_name=customer.get("name") if isinstance(customer, Mapping) else None,
            customer_email=customer.get("email") if isinstance(customer, Mapping) else None,
            customer_address=customer.get("address") if isinstance(customer, Mapping) else None,
        )

    def known_names(self) -> tuple[str, ...]:
        names = [self.agent_name, self.customer_name]
        if self.customer_email:  # "anna.svensson@…" names the person too
            local = self.customer_email.split("@", 1)[0]
            names.append(" ".join(p for p in local.replace("_", ".").split(".") if p.isalpha()))
        return tuple(n for n in names if n)

    def vocabulary(self) -> list[str]:
        """Words that bias recognition: the names the call is likely to contain."""
        return [n for n in (self.agent_name, self.customer_name) if n]


@dataclass(frozen=True)
class Mark:
    """An interval a person marked as sensitive; channel None means every channel."""

    start: float
    end: float
    channel: int | None = None


@dataclass(frozen=True)
class RedactionOptions:
    mask: str = "bleep"
    pad_s: float = 0.2
    min_score: float = 0.5
    unheard_min_s: float = 0.6
    confident: float = 0.8  # a neighbouring word heard this surely bounds a span's padding
    organisation: tuple[str, ...] = ()  # its name is part of every greeting, not a person's


@dataclass(frozen=True)
class ChannelTranscript:
    channel: int
    role: str
    recognition: Recognition


class _Detections:
    spans: tuple[TimeSpan, ...]

    def detections(self) -> dict[str, Any]:
        """What was masked and why: times and kinds only, never the words."""
        return {
            "format": "callvault.detections/1",
            "spans": [
                {
                    "channel": s.channel,
                    "start": round(s.start, 3),
                    "end": round(s.end, 3),
                    "entity_type": s.entity_type,
                    "score": round(s.score, 3),
                    "source": s.source,
                }
                for s in self.spans
            ],
        }


@dataclass(frozen=True)
class CallAnalysis(_Detections):
    """Everything the pipeline decided about a call, before its audio is masked."""

    spans: tuple[TimeSpan, ...]
    channels: tuple[ChannelTranscript, ...]
    transcript: dict[str, Any] = field(repr=False)
    pseudonymised: dict[str, Any] = field(repr=False)

    @property
    def intervals(self) -> list[tuple[int, float, float]]:
        """What the masking stage masks: (channel, start_s, end_s), merged."""
        return merge_intervals(self.spans)


@dataclass(frozen=True)
class RedactionResult(_Detections):
    audio: Audio
    spans: tuple[TimeSpan, ...]
    channels: tuple[ChannelTranscript, ...]
    transcript: dict[str, Any] = field(repr=False)
    pseudonymised: dict[str, Any] = field(repr=False)


def role_of(channel: int, channels: int) -> str:
    return ROLES[channel] if channels == 2 else ("mixed" if channels == 1 else f"ch{channel}")


def recognise_channels(
    audio: AudioSource,
    meta: CallMetadata,
    recogniser: Recogniser,
    progress: Progress | None = None,
) -> list[ChannelTranscript]:
    """One channel at a time: only that channel's 16 kHz samples are in memory while the
    recogniser runs, and they are freed before the next channel is read."""
    out = []
    for ch in range(audio.channels):
        if progress:
            progress("recognise", ch / audio.channels)
            if hasattr(recogniser, "progress_hook"):  # finer progress for long files

                def hook(share: float, ch: int = ch) -> None:
                    assert progress is not None
                    progress("recognise", (ch + share) / audio.channels)

                recogniser.progress_hook = hook
        rec = recogniser.recognise(
            channel_for_asr(audio, ch), language=meta.language, vocabulary=meta.vocabulary()
        )
        out.append(ChannelTranscript(ch, role_of(ch, audio.channels), rec))
    if hasattr(recogniser, "progress_hook"):
        recogniser.progress_hook = None
    if progress:
        progress("recognise", 1.0)
    return out


def text_spans(words: Sequence[Word], channel: int, context: DetectionContext) -> list[TimeSpan]:
    """Run every text detector over the channel's words and map their findings to times."""
    text_parts: list[str] = []
    offsets: list[tuple[int, int]] = []
    pos = 0
    for w in words:
        offsets.append((pos, pos + len(w.text)))
        text_parts.append(w.text)
        pos += len(w.text) + 1
    text = " ".join(text_parts)
    spans = []
    for detector in detectors_for(context.language):
        for found in detector.detect(text, context):
            hit = [i for i, (s, e) in enumerate(offsets) if s < found.end and e > found.start]
            if hit:
                spans.append(
                    TimeSpan(
                        channel,
                        words[hit[0]].start,
                        words[hit[-1]].end,
                        found.entity_type,
                        found.score,
                        type(detector).__name__,
                    )
                )
    return spans


WIDENED_KINDS = frozenset({"NUMBER", "PHONE", "PERSONNUMMER", "ADDRESS", "EMAIL"})


def widen_over_unsure_words(
    spans: Sequence[TimeSpan],
    words: Sequence[Word],
    *,
    unsure: float = 0.5,
    max_words: int = 6,
    max_gap_s: float = 0.6,
) -> list[TimeSpan]:
    """Numbers come with street names, towns and e-mail parts the model could not make out:
    a span of those kinds grows over the adjacent words it was unsure of (fail closed)."""
    out = []
    for span in spans:
        if span.entity_type not in WIDENED_KINDS:
            continue
        inside = [i for i, w in enumerate(words) if w.start < span.end and w.end > span.start]
        if not inside:
            continue
        first = _reach(words, inside[0], -1, unsure, max_words, max_gap_s)
        last = _reach(words, inside[-1], 1, unsure, max_words, max_gap_s)
        if first < inside[0] or last > inside[-1]:
            out.append(
                TimeSpan(
                    span.channel,
                    min(span.start, words[first].start),
                    max(span.end, words[last].end),
                    span.entity_type,
                    span.score,
                    "widened",
                )
            )
    return out


def _reach(
    words: Sequence[Word], i: int, step: int, unsure: float, max_words: int, max_gap_s: float
) -> int:
    edge = i
    j = i + step
    taken = 0
    while 0 <= j < len(words) and taken < max_words:
        prev = words[j - step]
        gap = (words[j].start - prev.end) if step > 0 else (prev.start - words[j].end)
        if gap > max_gap_s:
            break
        if words[j].probability < unsure:
            edge = j
        elif not (
            len(words[j].text) <= 4
            and 0 <= j + step < len(words)
            and words[j + step].probability < unsure
        ):
            break
        taken += 1
        j += step
    return edge


def unheard_spans(
    rec: Recognition, channel: int, min_s: float, gap_s: float = 1.5
) -> list[TimeSpan]:
    """Voice activity the recogniser turned into no words: fail closed and mask it. That is a
    whole region with no words (from `min_s`), or a stretch of a region with words around it
    that no word covers (from `gap_s`: a run of speech the model skipped)."""
    spans = []
    timed = sorted((w.start, w.end) for w in rec.words)
    starts = [a for a, _ in timed]
    longest = max((b - a for a, b in timed), default=0.0)
    for start, end in rec.speech:
        # the words that overlap the region, found by bisection (long calls have many of both)
        lo, hi = bisect_left(starts, start - longest), bisect_left(starts, end)
        inside = [(a, b) for a, b in timed[lo:hi] if b > start]
        if not inside:
            if end - start >= min_s:
                spans.append(TimeSpan(channel, start, end, "UNHEARD", 0.6, "unheard"))
            continue
        edge = start
        for w_start, w_end in [*inside, (end, end)]:
            if w_start - edge >= gap_s:
                spans.append(TimeSpan(channel, edge, w_start, "UNHEARD", 0.6, "unheard"))
            edge = max(edge, w_end)
    return spans


def detect(
    channels: Sequence[ChannelTranscript], meta: CallMetadata, options: RedactionOptions
) -> list[TimeSpan]:
    context = DetectionContext(language=meta.language, known_names=meta.known_names())
    spans: list[TimeSpan] = []
    for ct in channels:
        found = text_spans(ct.recognition.words, ct.channel, context)
        spans += found
        spans += widen_over_unsure_words(found, ct.recognition.words)
        spans += unheard_spans(ct.recognition, ct.channel, options.unheard_min_s)
        spans += relation_spans(ct.recognition, channel=ct.channel, language=meta.language)
        spans += vocative_spans(ct.recognition, channel=ct.channel, language=meta.language)
    roles = {ct.role: ct for ct in channels}
    if "agent" in roles and "customer" in roles:
        spans += answer_spans(
            roles["agent"].recognition,
            roles["customer"].recognition,
            customer_channel=roles["customer"].channel,
            language=meta.language,
        )
        spans += introduction_spans(
            roles["agent"].recognition,
            agent_channel=roles["agent"].channel,
            language=meta.language,
            found=spans,
            organisation=options.organisation,
        )
        spans += acknowledgement_spans(
            roles["agent"].recognition,
            roles["customer"].recognition,
            agent_channel=roles["agent"].channel,
            language=meta.language,
            found=spans,
        )
        spans += readback_spans(
            roles["agent"].recognition,
            agent_channel=roles["agent"].channel,
            language=meta.language,
        )
        spans += caller_introduction_spans(
            roles["customer"].recognition,
            customer_channel=roles["customer"].channel,
            language=meta.language,
            found=spans,
        )
    return spans


def pad_within_heard_words(
    span: TimeSpan, pad_s: float, duration_s: float, words: Sequence[Word], confident: float
) -> TimeSpan:
    """Pad a span against imprecise word times, but not into a neighbouring word the model was
    confident of: that word was heard as itself, so it is not part of the identifier."""
    start, end = max(0.0, span.start - pad_s), min(duration_s, span.end + pad_s)
    before = [w for w in words if w.end <= span.start + 0.01]
    after = [w for w in words if w.start >= span.end - 0.01]
    if before and before[-1].probability >= confident and before[-1].end > start:
        start = min(span.start, before[-1].end)
    if after and after[0].probability >= confident and after[0].start < end:
        end = max(span.end, after[0].start)
    return TimeSpan(span.channel, start, end, span.entity_type, span.score, span.source)


def decide(
    spans: Sequence[TimeSpan],
    marks: Sequence[Mark],
    audio: AudioSource,
    options: RedactionOptions,
    words: Mapping[int, Sequence[Word]] | None = None,
) -> list[TimeSpan]:
    """Keep confident findings and every mark, padded; the masking stage takes these as they are.

    Given the channels' words, padding stops at a confidently heard neighbouring word.
    """
    heard = words or {}
    kept = [
        pad_within_heard_words(
            s, options.pad_s, audio.duration_s, heard.get(s.channel, ()), options.confident
        )
        for s in spans
        if s.score >= options.min_score
    ]
    for m in marks:
        for ch in range(audio.channels) if m.channel is None else [m.channel]:
            kept.append(
                TimeSpan(ch, max(0.0, m.start), min(audio.duration_s, m.end), "MARK", 1.0, "mark")
            )
    return sorted(kept, key=lambda s: (s.channel, s.start))


def analyse_call(
    audio: AudioSource,
    meta: CallMetadata,
    recogniser: Recogniser,
    *,
    options: RedactionOptions | None = None,
    marks: Sequence[Mark] = (),
    progress: Progress | None = None,
) -> CallAnalysis:
    """Recognise, detect and decide on audio read in blocks; the masking is the caller's (a
    stream with `masking.mask_blocks`, or `redact_call` in memory). Raises on any failure."""
    options = options or RedactionOptions()
    channels = recognise_channels(audio, meta, recogniser, progress)
    found = detect(channels, meta, options)
    spans = decide(
        found, marks, audio, options, {ct.channel: ct.recognition.words for ct in channels}
    )
    words = [(ct.channel, ct.role, ct.recognition.words) for ct in channels]
    log.info(
        "call_redacted",
        spans=len(spans),
        masked_s=round(float(sum(e - s for _, s, e in merge_intervals(spans))), 2),
    )
    return CallAnalysis(
        spans=tuple(spans),
        channels=tuple(channels),
        transcript=transcript_json(meta.call_id, meta.language, words),
        pseudonymised=pseudonymised_json(meta.call_id, meta.language, words, spans),
    )


def redact_call(
    audio: Audio,
    meta: CallMetadata,
    recogniser: Recogniser,
    *,
    options: RedactionOptions | None = None,
    marks: Sequence[Mark] = (),
    progress: Progress | None = None,
) -> RedactionResult:
    """The whole pipeline on decoded audio; raises on any failure (the caller stores nothing)."""
    options = options or RedactionOptions()
    analysis = analyse_call(
        audio, meta, recogniser, options=options, marks=marks, progress=progress
    )
    if progress:
        progress("mask", 1.0)
    return RedactionResult(
        audio=mask_audio(audio, analysis.intervals, options.mask),
        spans=analysis.spans,
        channels=analysis.channels,
        transcript=analysis.transcript,
        pseudonymised=analysis.pseudonymised,
    )
