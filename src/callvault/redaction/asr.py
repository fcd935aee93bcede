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
        regions: list[dict[str, int]] = get_speech_timestamps(samples, opts)
        return regions

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
        from faster_whisper.vad import SpeechTimestampsMap

        regions = self.speech_regions(samples)
        speech = tuple((r["start"] / ASR_RATE, r["end"] / ASR_RATE) for r in regions)
        if not regions:
            return Recognition((), ())
        voiced = np.concatenate([samples[r["start"] : r["end"]] for r in regions])
        prompt = _prompt(vocabulary)
        with self._lock:  # one CTranslate2 model, used by one call at a time per process
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
            voiced_s = max(len(voiced) / ASR_RATE, 1e-6)
            for segment in segments:
                if self.progress_hook is not None:
                    self.progress_hook(min(1.0, segment.end / voiced_s))
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
        return Recognition(tuple(w for w in words if w.text), speech)


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
