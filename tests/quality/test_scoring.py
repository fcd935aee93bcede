"""The score rule, as a table: 100 × Σ(weight × points) / Σ(weight) over answered, non-N/A
questions, one decimal (half up); a critical question with 0 points makes 0 and failed."""

from __future__ import annotations

from typing import Any

import pytest

from callvault.errors import InvalidInput
from callvault.quality.scoring import QuestionRule, check_weights, points_for, score

YES_NO = QuestionRule("yes_no", 1.0, False, True, {})
HEAVY = QuestionRule("yes_no", 3.0, False, False, {})
CRITICAL = QuestionRule("yes_no", 1.0, True, False, {})
SCALE = QuestionRule("scale", 2.0, False, True, {})
CRIT_SCALE = QuestionRule("scale", 1.0, True, False, {})
CHOICE = QuestionRule("choice", 1.0, False, False, {"good": 1.0, "part": 0.5, "none": 0.0})
ZERO = QuestionRule("yes_no", 0.0, False, False, {})


@pytest.mark.parametrize(
    ("answers", "expected", "failed"),
    [
        ([(YES_NO, "yes")], 100.0, False),
        ([(YES_NO, "no")], 0.0, False),
        ([(YES_NO, "yes"), (HEAVY, "no")], 25.0, False),  # 1×1 / (1+3)
        ([(YES_NO, "no"), (HEAVY, "yes")], 75.0, False),
        ([(SCALE, 1)], 0.0, False),
        ([(SCALE, 3)], 50.0, False),
        ([(SCALE, 4), (YES_NO, "yes")], 83.3, False),  # (2×0.75 + 1) / 3 = 83.33
        ([(SCALE, 5), (YES_NO, "na")], 100.0, False),  # N/A: no points, no weight
        ([(CHOICE, "part"), (YES_NO, "yes")], 75.0, False),
        ([(CHOICE, "part"), (HEAVY, "yes"), (YES_NO, "no")], 70.0, False),  # 3.5 / 5
        # (1 + 1 + 0 + 2×0.25) / 7 = 35.71
        ([(YES_NO, "yes"), (YES_NO, "yes"), (HEAVY, "no"), (SCALE, 2)], 35.7, False),
        ([(CRITICAL, "no"), (YES_NO, "yes"), (HEAVY, "yes")], 0.0, True),
        ([(CRITICAL, "yes"), (YES_NO, "no")], 50.0, False),
        ([(CRIT_SCALE, 1), (YES_NO, "yes")], 0.0, True),  # 1 on the scale = 0 points
        ([(CRIT_SCALE, 2), (YES_NO, "yes")], 62.5, False),
        ([(ZERO, "no"), (YES_NO, "yes")], 100.0, False),  # weight 0 counts for nothing
        # (0.25 + 2 + 5×0.3) / 8 = 46.875 → 46.9 (half up, not to even)
        (
            [
                (QuestionRule("scale", 1.0, False, False, {}), 2),
                (QuestionRule("yes_no", 2.0, False, False, {}), "yes"),
                (QuestionRule("choice", 5.0, False, False, {"a": 0.3}), "a"),
            ],
            46.9,
            False,
        ),
    ],
)
def test_score_table(
    answers: list[tuple[QuestionRule, Any]], expected: float, failed: bool
) -> None:
    pairs = [(rule, points_for(rule, value)[1]) for rule, value in answers]
    result = score(pairs)
    assert (result.score, result.failed) == (expected, failed)


def test_rounding_is_half_up_to_one_decimal() -> None:
    # exact scores 46.875, 12.25 and 12.249
    rules = [QuestionRule("choice", 8.0, False, False, {"a": 0.46875})]
    assert score([(rules[0], 0.46875)]).score == 46.9
    assert score([(rules[0], 0.12250)]).score == 12.3
    assert score([(rules[0], 0.12249)]).score == 12.2


@pytest.mark.parametrize(
    ("rule", "value", "message"),
    [
        (CRITICAL, "na", "N/A is not allowed"),
        (YES_NO, "maybe", "yes"),
        (YES_NO, 1, "yes"),
        (SCALE, 0, "from 1 to 5"),
        (SCALE, 6, "from 1 to 5"),
        (SCALE, "3", "integer"),
        (SCALE, True, "integer"),
        (CHOICE, "other", "option"),
    ],
)
def test_answers_that_do_not_fit_are_refused(rule: QuestionRule, value: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        points_for(rule, value)


def test_only_not_applicable_answers_cannot_be_scored() -> None:
    with pytest.raises(InvalidInput, match="nothing to score"):
        score([(YES_NO, None), (SCALE, None)])


@pytest.mark.parametrize(
    ("weights", "message"),
    [([], "at least one question"), ([0, 0], "more than 0"), ([1, -1], "negative")],
)
def test_form_weights(weights: list[float], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_weights(weights)
