"""The recogniser looks at a long call a window at a time, so its memory does not grow with
the call; calls up to a window long are seen whole, exactly as before."""

from __future__ import annotations

import numpy as np
import pytest

from callvault.redaction.asr import region_batches, windowed_speech_regions
from callvault.redaction.audio import Samples


class EveryOtherSecond:
    """A stand-in voice-activity detector: speech wherever the sample is 1, as regions."""

    def __init__(self) -> None:
        self.window_sizes: list[int] = []

    def __call__(self, window: Samples) -> list[dict[str, int]]:
        self.window_sizes.append(len(window))
        edges = np.flatnonzero(np.diff(np.concatenate([[0], window, [0]])))
        return [
            {"start": int(a), "end": int(b)} for a, b in zip(edges[::2], edges[1::2], strict=True)
        ]


def activity(pattern: str, unit: int = 10) -> Samples:
    return np.repeat(np.array([c == "#" for c in pattern], dtype=np.float32), unit)


@pytest.mark.parametrize("window", [30, 40, 70, 1000])
def test_speech_found_a_window_at_a_time_is_the_speech_of_the_whole_call(window: int) -> None:
    samples = activity("..###...####.#..######....#")
    whole = EveryOtherSecond()(samples)
    detect = EveryOtherSecond()

    found = windowed_speech_regions(samples, detect, window)

    assert found == whole  # regions cut by a window's edge are joined again
    assert max(detect.window_sizes) <= window


def test_a_call_shorter_than_a_window_is_seen_whole() -> None:
    detect = EveryOtherSecond()
    windowed_speech_regions(activity("#.#.#"), detect, 1000)
    assert detect.window_sizes == [50]


@pytest.mark.parametrize(
    ("lengths", "window", "expected"),
    [
        ([3, 3, 3], 10, [[3, 3, 3]]),
        ([4, 4, 4], 8, [[4, 4], [4]]),
        ([12, 2, 2], 8, [[12], [2, 2]]),  # a region longer than a window goes alone
        ([2, 12, 2], 8, [[2], [12], [2]]),
    ],
)
def test_regions_are_transcribed_in_batches_of_at_most_a_window(
    lengths: list[int], window: int, expected: list[list[int]]
) -> None:
    regions, at = [], 0
    for n in lengths:
        regions.append({"start": at, "end": at + n})
        at += n + 5
    batches = region_batches(regions, window)
    assert [[r["end"] - r["start"] for r in b] for b in batches] == expected
    assert [r for b in batches for r in b] == regions
