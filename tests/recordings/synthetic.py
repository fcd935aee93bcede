"""Synthetic test audio and metadata: sine tones and noise, invented names and numbers."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import soundfile as sf

from callvault.recordings.service import IngestMetadata


def tone(seconds: float = 1.0, rate: int = 16000, channels: int = 2, seed: int = 0) -> np.ndarray:
    """Agent and customer as two tones plus a little noise; deterministic for a seed."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    columns = [
        0.3 * np.sin(2 * np.pi * (220 + 40 * c + seed % 50) * t)
        + 0.02 * rng.standard_normal(len(t))
        for c in range(channels)
    ]
    return np.stack(columns, axis=1)


def encode(
    samples: np.ndarray, fmt: str = "WAV", subtype: str = "PCM_16", rate: int = 16000
) -> bytes:
    out = io.BytesIO()
    sf.write(out, samples, rate, format=fmt, subtype=subtype)
    return out.getvalue()


def wav(seconds: float = 1.0, channels: int = 2, seed: int = 0, rate: int = 16000) -> bytes:
    return encode(tone(seconds, rate, channels, seed), rate=rate)


def pcm16(data: bytes) -> np.ndarray:
    """Decode any accepted audio to int16 samples (for exact comparisons)."""
    samples, _ = sf.read(io.BytesIO(data), dtype="int16", always_2d=True)
    return np.asarray(samples)


def meta_doc(call_id: str, start: datetime, **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "call_id": call_id,
        "language": "sv",
        "from": "+46701234567",
        "to": "+46812345678",
        "agent": {"id": "agent-007", "name": "Agnes Testsson"},
        "customer": {
            "name": "Kalle Exempel",
            "phone": "+46701234567",
            "email": "kalle@example.invalid",
            "address": "Testgatan 1, 123 45 Exempelstad",
        },
        "started_at": start.isoformat(),
        "consent": {
            "digit": "1",
            "prompt_version": "v1",
            "at": (start - timedelta(seconds=20)).isoformat(),
        },
        "purposes": None,
        "team": "support-1",
    }
    doc.update(overrides)
    return doc


def meta(call_id: str, start: datetime, **overrides: Any) -> IngestMetadata:
    return IngestMetadata.model_validate(meta_doc(call_id, start, **overrides))
