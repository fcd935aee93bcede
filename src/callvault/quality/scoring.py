"""The score of an evaluation, one rule for API, pages, reports and calibration.

Each answered question gives points between 0 and 1:

* `yes_no`: yes = 1, no = 0;
* `scale`: an integer v from 1 to 5 counts (v - 1) / 4;
* `choice`: the chosen option's points (0 to 1).

N/A (`"na"`, where the question allows it) gives no points and no weight. The score is

    100 × Σ(weight × points) / Σ(weight)

over the answered questions that are not N/A, rounded half up to one decimal. If any *critical*
question is answered with 0 points ("no", 1 on the scale, or a 0-point option) the score is 0
and the evaluation is failed, whatever the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from callvault.errors import InvalidInput

NA = "na"
SCALE_MIN, SCALE_MAX = 1, 5


@dataclass(frozen=True)
class QuestionRule:
    """What scoring needs of a question."""

    kind: str
    weight: float
    critical: bool
    allow_na: bool
    option_points: Mapping[str, float]


@dataclass(frozen=True)
class Score:
    score: float
    failed: bool


def points_for(rule: QuestionRule, value: Any) -> tuple[str, float | None]:
    """The stored form of an answer and its points (None for N/A); InvalidInput if it does not
    fit the question."""
    if value == NA:
        if not rule.allow_na:
            raise InvalidInput("N/A is not allowed for this question")
        return NA, None
    if rule.kind == "yes_no":
        if value == "yes":
            return "yes", 1.0
        if value == "no":
            return "no", 0.0
        raise InvalidInput('a yes/no question takes "yes" or "no"')
    if rule.kind == "scale":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"a scale question takes an integer {SCALE_MIN}-{SCALE_MAX}")
        if not SCALE_MIN <= value <= SCALE_MAX:
            raise InvalidInput(f"a scale answer is from {SCALE_MIN} to {SCALE_MAX}")
        return str(value), (value - SCALE_MIN) / (SCALE_MAX - SCALE_MIN)
    if rule.kind == "choice":
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # an option named by a number
        if not isinstance(value, str) or value not in rule.option_points:
            raise InvalidInput("that option does not belong to this question")
        return value, float(rule.option_points[value])
    raise InvalidInput("unknown question kind")


def score(answers: Iterable[tuple[QuestionRule, float | None]]) -> Score:
    """The score of (question, points) pairs, N/A as None; see the module docstring."""
    weighted = Decimal(0)
    weights = Decimal(0)
    failed = False
    for rule, points in answers:
        if points is None:
            continue
        if rule.critical and points == 0:
            failed = True
        weighted += Decimal(str(rule.weight)) * Decimal(str(points))
        weights += Decimal(str(rule.weight))
    if failed:
        return Score(0.0, True)
    if weights == 0:
        raise InvalidInput("nothing to score: every answered question is N/A or weighs 0")
    value = (Decimal(100) * weighted / weights).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return Score(float(value), False)


def check_weights(weights: Sequence[float]) -> None:
    """A form needs questions, none weighing less than 0, and not all weighing 0."""
    if not weights:
        raise InvalidInput("a form needs at least one question")
    if any(w < 0 for w in weights):
        raise InvalidInput("a weight cannot be negative")
    if not any(w > 0 for w in weights):
        raise InvalidInput("at least one question must weigh more than 0")
