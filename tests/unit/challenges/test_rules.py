"""Challenge cards: the goals as stated in issue 13, the check over measured values, and the ranking rules."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from cnnviz.challenges.rules import CHALLENGES, ChallengeError, Measured, get_challenge, rank


@dataclass(frozen=True)
class Row:
    nickname: str
    accuracy: float
    params: int
    passed: bool
    created_at: int


def test_the_four_challenges_of_the_issue() -> None:
    cards = {card.id: card for card in CHALLENGES}
    assert len(cards) == 4
    five_k = cards["mnist-5k"]
    assert (five_k.dataset, five_k.min_accuracy, five_k.max_params, five_k.max_epochs) == ("mnist", 0.98, 5000, None)
    fashion = cards["fashion-3-epochs"]
    assert (fashion.dataset, fashion.min_accuracy, fashion.max_params, fashion.max_epochs) == (
        "fashion_mnist", 0.90, None, 3,
    )
    kmnist = cards["kmnist-20k"]
    assert (kmnist.dataset, kmnist.min_accuracy, kmnist.max_params) == ("kmnist", 0.95, 20_000)
    fewest = cards["mnist-fewest-97"]
    assert (fewest.dataset, fewest.min_accuracy, fewest.ranking) == ("mnist", 0.97, "fewest_params")
    assert all(card.goal and card.why for card in CHALLENGES)


@pytest.mark.parametrize(
    ("challenge_id", "measured", "passed"),
    [
        ("mnist-5k", Measured(0.98, 5000, 12), True),  # both limits are inclusive
        ("mnist-5k", Measured(0.9799, 4000, 1), False),
        ("mnist-5k", Measured(0.99, 5001, 1), False),
        ("fashion-3-epochs", Measured(0.91, 10**6, 3), True),
        ("fashion-3-epochs", Measured(0.91, 100, 4), False),
        ("kmnist-20k", Measured(0.95, 20_000, 30), True),
        ("kmnist-20k", Measured(0.96, 20_001, 1), False),
        ("mnist-fewest-97", Measured(0.97, 10**6, 50), True),
        ("mnist-fewest-97", Measured(0.969, 10, 1), False),
    ],
)
def test_check_over_measured_values(challenge_id: str, measured: Measured, passed: bool) -> None:
    verdict = get_challenge(challenge_id).check(measured)
    assert verdict.passed is passed
    assert verdict.reasons  # a verdict always says why


def test_a_miss_names_every_unmet_condition() -> None:
    verdict = get_challenge("mnist-5k").check(Measured(0.5, 9000, 1))
    assert len(verdict.reasons) == 2
    assert "below 98%" in verdict.reasons[0] and "9,000 parameters" in verdict.reasons[1]


def test_unknown_challenge_and_impossible_measurements_are_refused() -> None:
    with pytest.raises(ChallengeError, match="Unknown challenge 'nope'"):
        get_challenge("nope")
    with pytest.raises(ChallengeError):
        Measured(1.5, 10, 1)
    with pytest.raises(ChallengeError):
        Measured(0.5, -1, 1)


def test_accuracy_ranking_passing_first_then_accuracy_then_fewer_params_then_earlier() -> None:
    rows = [
        Row("slow", 0.99, 4000, True, 3),
        Row("big", 0.995, 9000, False, 1),
        Row("best", 0.99, 3000, True, 4),
        Row("top", 0.992, 4900, True, 5),
        Row("first", 0.99, 3000, True, 2),
    ]
    ranked = rank(get_challenge("mnist-5k"), rows)
    assert [row.nickname for row in ranked] == ["top", "first", "best", "slow", "big"]


def test_fewest_params_ranking_and_best_entry_per_nickname() -> None:
    rows = [
        Row("ana", 0.975, 2000, True, 1),
        Row("bo", 0.99, 900, True, 2),
        Row("ana", 0.971, 800, True, 3),  # ana's better (smaller) entry
        Row("cy", 0.96, 100, False, 4),  # smallest, but below 97%
    ]
    ranked = rank(get_challenge("mnist-fewest-97"), rows)
    assert [(row.nickname, row.params) for row in ranked] == [("ana", 800), ("bo", 900), ("cy", 100)]
    assert len(rank(get_challenge("mnist-fewest-97"), rows, best_per_nickname=False)) == 4
