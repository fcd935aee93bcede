"""The pipeline's stages on a fake recogniser: detection, decision and masking kept apart."""

from __future__ import annotations

import random

import numpy as np
import pytest

from callvault.redaction.asr import Recognition, RecognitionFailed, Word
from callvault.redaction.audio import Audio
from callvault.redaction.masking import mask_audio, mask_blocks
from callvault.redaction.pipeline import (
    CallMetadata,
    ChannelTranscript,
    Mark,
    RedactionOptions,
    detect,
    pad_within_heard_words,
    redact_call,
    unheard_spans,
    widen_over_unsure_words,
)
from callvault.redaction.spans import TimeSpan, merge_intervals
from tests.redaction.conftest import CrashingRecogniser, ScriptedRecogniser, words

RATE = 8000
META = CallMetadata(call_id="c1", language="sv", agent_name="Maria Ek", customer_name="Lena Holm")


def call(seconds: float = 12.0, channels: int = 2) -> Audio:
    t = np.arange(int(seconds * RATE)) / RATE
    cols = [0.3 * np.sin(2 * np.pi * (200 + 50 * c) * t) for c in range(channels)]
    return Audio(np.stack(cols, axis=1).astype(np.float32), RATE)


def test_names_numbers_and_answers_become_labels_and_masked_intervals() -> None:
    agent = words("hej jag heter Maria", 0.0) + words("vad är ditt personnummer", 3.0)
    agent += words("tack", 11.5)
    customer = words("åttio tolv arton nittioåtta sjuttiosju", 5.0) + words("tack så mycket", 9.5)
    result = redact_call(call(), META, ScriptedRecogniser([agent, customer]))
    texts = [c["text"] for c in result.pseudonymised["channels"]]
    assert texts[0] == "hej jag heter [NAMN] vad är ditt personnummer tack"
    assert "[PERSONNUMMER]" in texts[1] and "nitton" not in texts[1]
    assert texts[1].endswith("tack så mycket")
    kinds = {s.entity_type for s in result.spans}
    assert {"PERSON", "PERSONNUMMER"} <= kinds


def test_output_keeps_layout_rate_and_length_and_changes_only_masked_intervals() -> None:
    audio = call()
    result = redact_call(
        audio, META, ScriptedRecogniser([[], []]), marks=[Mark(2.0, 3.0, channel=1)]
    )
    out = result.audio
    assert out.samples.shape == audio.samples.shape and out.sample_rate == RATE
    assert np.array_equal(out.samples[:, 0], audio.samples[:, 0])
    changed = np.flatnonzero(out.samples[:, 1] != audio.samples[:, 1])
    assert changed.min() >= 2.0 * RATE - 1 and changed.max() <= 3.0 * RATE + 1


@pytest.mark.parametrize(
    ("before_p", "after_p", "expected"),
    [
        (0.5, 0.5, (1.8, 3.2)),  # unsure neighbours: full padding
        (0.95, 0.5, (1.9, 3.2)),  # a sure word before: padding stops where it ends
        (0.5, 0.95, (1.8, 3.1)),
        (0.95, 0.95, (1.9, 3.1)),
    ],
)
def test_padding_stops_at_a_confidently_heard_neighbour(
    before_p: float, after_p: float, expected: tuple[float, float]
) -> None:
    heard = [
        Word("före", 1.5, 1.9, before_p),
        Word("x", 2.0, 3.0, 0.2),
        Word("efter", 3.1, 3.5, after_p),
    ]
    span = TimeSpan(0, 2.0, 3.0, "PERSON", 0.9, "test")
    padded = pad_within_heard_words(span, 0.2, 10.0, heard, 0.9)
    assert (padded.start, padded.end) == pytest.approx(expected)


@pytest.mark.parametrize("mask", ["bleep", "silence"])
def test_masking_operators_replace_only_their_interval(mask: str) -> None:
    audio = call(4.0)
    out = mask_audio(audio, [(0, 1.0, 2.0)], mask)
    inside = out.samples[RATE : 2 * RATE, 0]
    assert not np.allclose(inside, audio.samples[RATE : 2 * RATE, 0])
    assert (np.abs(inside).max() == 0.0) == (mask == "silence")
    assert np.array_equal(out.samples[2 * RATE + 1 :, :], audio.samples[2 * RATE + 1 :, :])
    assert np.array_equal(out.samples[:, 1], audio.samples[:, 1])


def test_a_model_crash_mid_call_raises_and_returns_nothing() -> None:
    with pytest.raises(RecognitionFailed):
        redact_call(call(), META, CrashingRecogniser([words("hej", 0.0), []]))


def test_unheard_speech_is_masked_fail_closed() -> None:
    class Silent:
        def recognise(self, samples: object, *, language: str, vocabulary: object) -> Recognition:
            return Recognition((), ((1.0, 2.5),))

    result = redact_call(call(), META, Silent())
    assert {(s.channel, s.entity_type) for s in result.spans} == {(0, "UNHEARD"), (1, "UNHEARD")}


@pytest.mark.parametrize(
    ("heard", "unheard"),
    [
        ([(1.0, 1.5), (4.5, 5.0)], [(1.5, 4.5)]),  # 3 s of speech between two words: skipped
        ([(1.0, 1.5), (2.5, 3.0), (4.0, 5.0)], []),  # short pauses between words are nothing
        ([(3.5, 4.0)], [(1.0, 3.5)]),  # a skipped stretch at the start of the region
        ([], [(1.0, 5.0)]),  # a whole region with no words
    ],
)
def test_speech_that_no_word_covers_is_unheard(
    heard: list[tuple[float, float]], unheard: list[tuple[float, float]]
) -> None:
    rec = Recognition(tuple(Word("ord", a, b, 0.9) for a, b in heard), ((1.0, 5.0),))
    spans = unheard_spans(rec, 0, min_s=0.6)
    assert [(s.start, s.end) for s in spans] == unheard
    assert {s.entity_type for s in spans} <= {"UNHEARD"}


def test_padding_is_applied_by_the_decision_stage() -> None:
    result = redact_call(
        call(),
        META,
        ScriptedRecogniser([[], []]),
        options=RedactionOptions(pad_s=0.5),
        marks=[Mark(4.0, 5.0)],
    )
    assert merge_intervals(result.spans) == [(0, 4.0, 5.0), (1, 4.0, 5.0)]  # marks: exact


@pytest.mark.parametrize(
    ("probabilities", "expected"),
    [
        ([0.9, 0.2, 0.3, 0.9, 0.9], (1.0, 3.35)),  # grows over the unsure words before it
        ([0.9, 0.9, 0.9, 0.9, 0.9], None),  # confident neighbours stay audible
    ],
)
def test_number_spans_grow_over_unsure_neighbours(
    probabilities: list[float], expected: tuple[float, float] | None
) -> None:
    ws = [Word(f"w{i}", i * 1.0 * 0.5 + 0.5 * i, i + 0.35, p) for i, p in enumerate(probabilities)]
    ws = [Word(f"w{i}", float(i), i + 0.35, p) for i, p in enumerate(probabilities)]
    span = TimeSpan(1, 3.0, 3.35, "NUMBER", 0.6, "test")
    grown = widen_over_unsure_words([span], ws, max_gap_s=1.0)
    assert ((grown[0].start, grown[0].end) if grown else None) == expected


VOCABULARY = [
    "hej",
    "det",
    "är",
    "jag",
    "heter",
    "mitt",
    "namn",
    "min",
    "son",
    "sambo",
    "tack",
    "ok",
    "okej",
    "stämmer",
    "ditt",
    "nummer",
    "personnummer",
    "adress",
    "e-post",
    "vad",
    "heter",
    "du",
    "noll",
    "sju",
    "fem",
    "tjugo",
    "Anna",
    "Svensson",
    "Qwrr",
    "zzt",
    ",",
    ".",
    "?",
]


@pytest.mark.parametrize("seed", range(40))
def test_detection_never_fails_and_keeps_spans_inside_the_call(seed: int) -> None:
    """Whatever the recogniser makes of a call (random words, times, confidences, punctuation),
    every rule returns well-formed spans on the right channels and inside the speech."""
    rng = random.Random(seed)  # noqa: S311  (test data, not secrets)

    def channel() -> Recognition:
        t, heard = 0.0, []
        for _ in range(rng.randint(0, 60)):
            t += rng.choice([0.05, 0.1, 0.5, 1.2, 2.5])
            text = rng.choice(VOCABULARY) + rng.choice(["", "", ",", ".", "?"])
            length = rng.uniform(0.1, 0.6)
            heard.append(Word(text, t, t + length, rng.random()))
            t += length
        speech = tuple((w.start - 0.1, w.end + 0.1) for w in heard if rng.random() < 0.8)
        return Recognition(tuple(heard), speech + ((t + 1.0, t + 3.0),))

    heard = [ChannelTranscript(0, "agent", channel()), ChannelTranscript(1, "customer", channel())]
    spans = detect(heard, META, RedactionOptions())
    end = max([0.0] + [b for ct in heard for _, b in ct.recognition.speech])
    for span in spans:
        assert span.channel in (0, 1)
        assert 0.0 <= span.start <= span.end <= end + 1.0


@pytest.mark.parametrize("mask", ["bleep", "silence"])
@pytest.mark.parametrize("block", [1000, 8000, 65536])
def test_masking_block_by_block_equals_masking_the_whole_call(mask: str, block: int) -> None:
    audio = call(10.0)
    intervals = [(0, 0.9, 2.37), (1, 1.5, 8.2), (0, 7.999, 8.0), (1, 9.5, 11.0), (2, 1.0, 2.0)]
    whole = mask_audio(audio, intervals, mask).samples
    blocks = list(mask_blocks(audio.blocks(block), RATE, audio.frames, 2, intervals, mask))
    assert np.array_equal(np.concatenate(blocks), whole)
    assert not np.shares_memory(blocks[0], audio.samples)  # the call itself is left as it was
