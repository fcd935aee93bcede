"""The speech-recognition seam: a Recogniser Protocol and its faster-whisper implementation."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import structlog

from callvault.errors import ProcessingError
from callvault.redaction.audio import ASR_RATE, Samples

log = structlog.get_logger(__name__)
# faster-whisper logs every file's duration at INFO; our own events say what matters.
logging.getLogger("faster_whisper").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Word:
    """A recognised word with its time in the channel (seconds) and the model's confidence."""

    text: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class Recognition:
    """What the recogniser heard in one channel: words, and where voice activity was."""

    words: tuple[Word, ...]
    speech: tuple[tuple[float, float], ...]


# Voice activity and recognition look at two minutes at a time: faster-whisper copies and
# transforms whatever it is given whole (a 4-hour channel would need several GB), so a long
# call goes in windows and memory stays flat (Whisper base: about 50 MB a voiced minute of
# window). Calls up to two minutes are one window; Whisper decodes 30 s at a time anyway.
WINDOW_S = 120


class RecognitionFailed(ProcessingError):
    """Speech recognition failed."""

    code = "recognition_failed"


class Recogniser(Protocol):
    """Anything that turns 16 kHz mono samples into timed words (faster-whisper, a fake, ...)."""

    def recognise(
        self, samples: Samples, *, language: str, vocabulary: Sequence[str]
    ) -> Recognition: ...


@dataclass(frozen=True)
class RecognitionOptions:
    """How the recogniser decodes; the benchmark's bare baseline uses the same values."""

    beam_size: int = 1
    temperature: float = 0.0
    no_repeat_ngram_size: int = 3  # the name prompt otherwise sends greedy decoding into loops
    vad_min_silence_ms: int = 300
    vad_pad_ms: int = 150
    vad_threshold: float = 0.4


class FasterWhisperRecogniser:
    """Whisper through faster-whisper/CTranslate2, from a local directory only (never downloads)."""

    def __init__(
        self,
        model_path: Path,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        threads: int = 2,
        options: RecognitionOptions | None = None,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from faster_whisper import WhisperModel

        self.options = options or RecognitionOptions()
        try:
            self.model = WhisperModel(
                str(model_path),
                device=device,
                compute_type=compute_type,
                cpu_threads=threads,
                local_files_only=True,
            )
        except Exception as exc:  # ctranslate2 raises RuntimeError/ValueError for bad models
            from callvault.redaction.model import ModelUnavailable

            raise ModelUnavailable("the speech model could not be loaded") from exc
        self._lock = threading.Lock()
        # Set by the caller for long files: called with the share of the channel decoded so far.
        self.progress_hook: Callable[[float], None] | None = None

    def speech_regions(self, samples: Samples) -> list[dict[str, int]]:
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        opts = VadOptions(
            threshold=self.options.vad_threshold,
            min_silence_duration_ms=self.options.vad_min_silence_ms,
            speech_pad_ms=self.options.vad_pad_ms,
        )

        def detect(window: Samples) -> list[dict[str, int]]:
            found: list[dict[str, int]] = get_speech_timestamps(window, opts)
            return found

        return windowed_speech_regions(samples, detect, WINDOW_S * ASR_RATE)

    def recognise(
        self, samples: Samples, *, language: str, vocabulary: Sequence[str]
    ) -> Recognition:
        try:
            return self._recognise(samples, language, vocabulary)
        except ProcessingError:
            raise
        except Exception as exc:  # translate ctranslate2/onnx errors at the seam
            raise RecognitionFailed("speech recognition failed") from exc

    def _recognise(self, samples: Samples, language: str, vocabulary: Sequence[str]) -> Recognition:

        regions = self.speech_regions(samples)
        speech = tuple((r["start"] / ASR_RATE, r["end"] / ASR_RATE) for r in regions)
        if not regions:
            return Recognition((), ())
        prompt = _prompt(vocabulary)
        words: list[Word] = []
        voiced_total = max(sum(r["end"] - r["start"] for r in regions) / ASR_RATE, 1e-6)
        voiced_before = 0.0
        for batch in region_batches(regions, WINDOW_S * ASR_RATE):
            voiced = np.concatenate([samples[r["start"] : r["end"]] for r in batch])
            with self._lock:  # one CTranslate2 model, used by one call at a time per process
                words += self._transcribe(
                    voiced, batch, language, prompt, voiced_before, voiced_total
                )
            voiced_before += len(voiced) / ASR_RATE
            del voiced
        return Recognition(tuple(w for w in words if w.text), speech)

    def _transcribe(
        self,
        voiced: Samples,
        regions: list[dict[str, int]],
        language: str,
        prompt: str | None,
        voiced_before: float,
        voiced_total: float,
    ) -> list[Word]:
        """The words of one window of voiced audio, at their times in the whole channel."""
        from faster_whisper.vad import SpeechTimestampsMap

        segments, _info = self.model.transcribe(
            voiced,
            language=language,
            beam_size=self.options.beam_size,
            temperature=[self.options.temperature],
            no_repeat_ngram_size=self.options.no_repeat_ngram_size,
            word_timestamps=True,
            vad_filter=False,
            initial_prompt=prompt,
            hotwords=None,
            condition_on_previous_text=False,
        )
        timemap = SpeechTimestampsMap(regions, ASR_RATE)
        words: list[Word] = []
        for segment in segments:
            if self.progress_hook is not None:
                self.progress_hook(min(1.0, (voiced_before + segment.end) / voiced_total))
            for w in segment.words or ():
                chunk = timemap.get_chunk_index((w.start + w.end) / 2)
                words.append(
                    Word(
                        text=w.word.strip(),
                        start=timemap.get_original_time(w.start, chunk),
                        end=timemap.get_original_time(w.end, chunk),
                        probability=float(w.probability),
                    )
                )
        return words


def windowed_speech_regions(
    samples: Samples, detect: Callable[[Samples], list[dict[str, int]]], window: int
) -> list[dict[str, int]]:
    """Voice activity found a window at a time (sample positions in the whole channel); a
    region the window's edge cut in two is joined again."""
    if len(samples) <= window:
        return detect(samples)
    regions: list[dict[str, int]] = []
    for offset in range(0, len(samples), window):
        for found in detect(samples[offset : offset + window]):
            start, end = found["start"] + offset, found["end"] + offset
            if regions and start <= regions[-1]["end"]:
                regions[-1]["end"] = max(regions[-1]["end"], end)
            else:
                regions.append({"start": start, "end": end})
    return regions


def region_batches(regions: list[dict[str, int]], window: int) -> list[list[dict[str, int]]]:
    """Consecutive speech regions grouped into batches of at most `window` voiced samples (a
    longer region goes alone), so each transcription sees a bounded amount of audio."""
    batches: list[list[dict[str, int]]] = []
    size = 0
    for region in regions:
        length = region["end"] - region["start"]
        if not batches or size + length > window:
            batches.append([])
            size = 0
        batches[-1].append(region)
        size += length
    return batches


def _prompt(vocabulary: Sequence[str]) -> str | None:
    names = [v for v in dict.fromkeys(v.strip() for v in vocabulary) if v]
    if not names:
        return None
    return "Kundtjänst. " + ", ".join(names) + "."


RecogniserFactory = Callable[[], Recogniser]


def open_recogniser(settings: Any) -> Recogniser:
    """The configured recogniser (faster-whisper on the configured or bundled model)."""
    from callvault.redaction.model import model_dir

    return FasterWhisperRecogniser(
        model_dir(settings),
        device=settings.asr_device,
        compute_type=settings.asr_compute_type,
        threads=settings.asr_threads,
    )


_cache: dict[tuple[str, str, str, int], Recogniser] = {}
_cache_lock = threading.Lock()


def shared_recogniser(settings: Any) -> Recogniser:
    """One loaded model per process and configuration (loading costs seconds)."""
    from callvault.redaction.model import model_dir

    key = (
        str(model_dir(settings)),
        settings.asr_device,
        settings.asr_compute_type,
        settings.asr_threads,
    )
    with _cache_lock:
        if key not in _cache:
            _cache[key] = open_recogniser(settings)
        return _cache[key]
