"""Challenge cards as data: the goal, and how a measured result passes and ranks on the leaderboard.

A challenge is checked only against numbers the server measured itself (see
:mod:`cnnviz.challenges.grading`): the test accuracy, the model's parameter count and
the number of epochs in its training record. Nothing a browser sends is trusted.

Two ranking rules:

* ``"accuracy"``: passing entries first, higher test accuracy first (fewer parameters, then
  the earlier submission, break ties);
* ``"fewest_params"``: passing entries first, fewer parameters first (higher accuracy, then
  the earlier submission, break ties).

Pure Python; no Keras, no Streamlit, no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Ranking = Literal["accuracy", "fewest_params"]


class ChallengeError(ValueError):
    """An unknown challenge id, or a measured result that makes no sense (negative parameters, say)."""


@dataclass(frozen=True)
class Measured:
    """What the server measured about a submitted model.

    Attributes:
        accuracy: test accuracy in [0, 1], from the server's own evaluation on the test split.
        params: the model's parameter count (``model.count_params()``).
        epochs: finished epochs in the model's training record (``len(history["loss"])``).
    """

    accuracy: float
    params: int
    epochs: int

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.accuracy) <= 1.0:
            raise ChallengeError(f"Expected an accuracy in [0, 1], got {self.accuracy!r}.")
        if int(self.params) < 0 or int(self.epochs) < 0:
            raise ChallengeError(
                f"Expected non-negative parameters and epochs, got {self.params!r} and {self.epochs!r}."
            )


@dataclass(frozen=True)
class Verdict:
    """Whether a measured result meets a challenge's goal, and in words why (not)."""

    passed: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Challenge:
    """One challenge card.

    Attributes:
        id: a short stable key stored with each submission (``"mnist-5k"``).
        title: the card's heading.
        dataset: the dataset it is played on, as :func:`cnnviz.core.datasets.load_dataset` names it.
        goal: the goal in one sentence.
        why: why the challenge is interesting, in one or two sentences for a learner.
        min_accuracy: the test accuracy to reach (inclusive), in [0, 1].
        max_params: the most parameters allowed, or ``None`` for no limit.
        max_epochs: the most training epochs allowed, or ``None`` for no limit.
        ranking: how the leaderboard orders entries (see the module docstring).
    """

    id: str
    title: str
    dataset: str
    goal: str
    why: str
    min_accuracy: float
    max_params: int | None = None
    max_epochs: int | None = None
    ranking: Ranking = "accuracy"

    def check(self, measured: Measured) -> Verdict:
        """Check a measured result against the goal; every unmet condition gives one reason."""
        reasons = []
        if measured.accuracy < self.min_accuracy:
            reasons.append(f"test accuracy {measured.accuracy:.2%} is below {self.min_accuracy:.0%}")
        if self.max_params is not None and measured.params > self.max_params:
            reasons.append(f"{measured.params:,} parameters is more than {self.max_params:,}")
        if self.max_epochs is not None and measured.epochs > self.max_epochs:
            reasons.append(f"{measured.epochs} epochs is more than {self.max_epochs}")
        if reasons:
            return Verdict(False, tuple(reasons))
        return Verdict(True, (f"goal met: {measured.accuracy:.2%} with {measured.params:,} parameters "
                              f"in {measured.epochs} epoch{'s' if measured.epochs != 1 else ''}",))


CHALLENGES: tuple[Challenge, ...] = (
    Challenge(
        id="mnist-5k",
        title="98% on MNIST with at most 5,000 parameters",
        dataset="mnist",
        goal="Reach 98% test accuracy on MNIST with a model of at most 5,000 parameters.",
        why="The Keras tutorial's network has over a million parameters. Convolutions share their weights "
        "across the image, so a few small filters and pooling can do nearly as well; the Dense layer is "
        "where parameters pile up.",
        min_accuracy=0.98,
        max_params=5_000,
    ),
    Challenge(
        id="fashion-3-epochs",
        title="90% on Fashion-MNIST in at most 3 epochs",
        dataset="fashion_mnist",
        goal="Reach 90% test accuracy on Fashion-MNIST after at most 3 training epochs.",
        why="Clothes are harder than digits (a shirt and a T-shirt look alike), and three passes over the data "
        "leave little room: learning rate, batch size and the optimizer matter as much as the design.",
        min_accuracy=0.90,
        max_epochs=3,
    ),
    Challenge(
        id="kmnist-20k",
        title="95% on KMNIST with at most 20,000 parameters",
        dataset="kmnist",
        goal="Reach 95% test accuracy on Kuzushiji-MNIST with a model of at most 20,000 parameters.",
        why="Each hiragana is written in many historical styles, so the network needs filters that generalise "
        "across hands; a parameter budget forces it to spend them on convolutions rather than a huge Dense layer.",
        min_accuracy=0.95,
        max_params=20_000,
    ),
    Challenge(
        id="mnist-fewest-97",
        title="The fewest parameters above 97% on MNIST",
        dataset="mnist",
        goal="Stay at or above 97% test accuracy on MNIST with as few parameters as you can: the smallest model wins.",
        why="The 'Small is enough' tutorial reaches 97.06% with two small conv layers and no Dense layer. "
        "How small can a network get before it stops seeing digits?",
        min_accuracy=0.97,
        ranking="fewest_params",
    ),
)


def get_challenge(challenge_id: str) -> Challenge:
    """Return the challenge with this id.

    Raises:
        ChallengeError: for an unknown id (the message lists the known ones).
    """
    for challenge in CHALLENGES:
        if challenge.id == challenge_id:
            return challenge
    known = ", ".join(repr(challenge.id) for challenge in CHALLENGES)
    raise ChallengeError(f"Unknown challenge {challenge_id!r}; expected one of {known}.")


def sort_key(challenge: Challenge, entry: Any) -> tuple:
    """The leaderboard order of one entry (smaller comes first).

    ``entry`` is anything with ``passed``, ``accuracy``, ``params`` and ``created_at`` attributes
    (a :class:`cnnviz.challenges.db.Entry`); ``created_at`` must compare with the other entries'.
    """
    if challenge.ranking == "fewest_params":
        return (not entry.passed, entry.params, -entry.accuracy, entry.created_at)
    return (not entry.passed, -entry.accuracy, entry.params, entry.created_at)


def rank(challenge: Challenge, entries: Iterable[Any], *, best_per_nickname: bool = True) -> list[Any]:
    """Order entries for the leaderboard; by default keep only each nickname's best entry.

    Args:
        challenge: whose ranking rule applies.
        entries: objects with ``nickname``, ``passed``, ``accuracy``, ``params`` and ``created_at``.
        best_per_nickname: keep the first (best) entry of each nickname, so resubmitting never
            pushes classmates down.

    Returns:
        The entries in leaderboard order, best first.
    """
    ordered = sorted(entries, key=lambda entry: sort_key(challenge, entry))
    if not best_per_nickname:
        return ordered
    seen: set[str] = set()
    kept = []
    for entry in ordered:
        if entry.nickname not in seen:
            seen.add(entry.nickname)
            kept.append(entry)
    return kept


def challenge_titles(challenges: Sequence[Challenge] = CHALLENGES) -> dict[str, str]:
    """``{id: title}`` for pickers."""
    return {challenge.id: challenge.title for challenge in challenges}


__all__ = [
    "CHALLENGES",
    "Challenge",
    "ChallengeError",
    "Measured",
    "Ranking",
    "Verdict",
    "challenge_titles",
    "get_challenge",
    "rank",
    "sort_key",
]
