"""Which models cnnviz ships: decided here, by name and SHA-256, never by a file in the models folder.

A sidecar's ``"default": true`` only says what its writer claimed. A copied model with a forged
sidecar would otherwise be listed as "Shipped", sorted first and chosen by default (issue 16,
finding 4). A model is shipped when its file name is one of :data:`SHIPPED_MODELS` **and** its
``.keras`` bytes have the SHA-256 recorded here.

When ``tools/train_default_models.py`` makes new shipped models, this manifest is updated with
their checksums (``sha256sum models/default_*.keras``) in the same commit;
``tests/unit/core/test_store_shipped.py`` fails until it is.

User models may not take a shipped name or a look-alike of one: :func:`name_key` folds case,
Unicode compatibility forms (full-width letters) and separators, so ``default-mnist``,
``Default_MNIST`` and ``ｄｅｆａｕｌｔ＿ｍｎｉｓｔ`` all collide with ``default_mnist``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True)
class ShippedModel:
    """One model shipped with cnnviz.

    Attributes:
        name: the file stem in ``models/`` (``default_mnist``).
        dataset: the dataset it was trained on (a ``load_dataset`` name).
        sha256: the SHA-256 of its ``.keras`` file, 64 lower-case hex digits.
    """

    name: str
    dataset: str
    sha256: str


#: The shipped models, in the order learners meet them (MNIST first: every tutorial starts there).
SHIPPED_MODELS: Final[Mapping[str, ShippedModel]] = MappingProxyType(
    {
        model.name: model
        for model in (
            ShippedModel("default_mnist", "mnist", "c35c9f957d760042d1aafce206b792c06b94085567bfe6ee3138d7fe82ffdc1c"),
            ShippedModel(
                "default_fashion_mnist", "fashion_mnist",
                "431326ec4b15616273b566403e4d1ce47feec00314ff0f910f90e9ce81bfae1a",
            ),
            ShippedModel(
                "default_kmnist", "kmnist", "fb9d08fa5ace97f26d4aec923e5f49b1492f54d77f43fc179043a0d900dc181d"
            ),
        )
    }
)
#: The name every shipped model starts with; user models may not (nor with a look-alike of it).
SHIPPED_PREFIX: Final[str] = "default_"

_NOT_LETTER_OR_DIGIT: Final = re.compile(r"[\W_]+", re.UNICODE)


def _folded(name: str) -> str:
    folded = unicodedata.normalize("NFKC", str(name)).casefold()
    return "".join(ch for ch in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(ch))


def name_key(name: str) -> str:
    """Fold a name to what a reader sees: NFKC, case-folded, accents and separators removed.

    ``name_key("Default-MNIST") == name_key("default_mnist") == name_key("ｄｅｆａｕｌｔ＿ｍｎｉｓｔ")``
    == ``"defaultmnist"``.

    Args:
        name: any text.

    Returns:
        str: letters and digits only ("" for a name without any).
    """
    return _NOT_LETTER_OR_DIGIT.sub("", _folded(name))


_SHIPPED_KEYS: Final[Mapping[str, str]] = MappingProxyType({name_key(name): name for name in SHIPPED_MODELS})


def shipped_lookalike(name: str) -> str | None:
    """The shipped name that ``name`` is or looks like, or ``None``.

    ``name`` looks like a shipped model when, folded with :func:`name_key`, it equals a shipped
    name (``default-mnist``, ``DefaultMNIST``), or when it starts with the shipped prefix once
    case, full-width forms and separators are folded (``Default-cifar``, ``ｄｅｆａｕｌｔ＿x``).

    Returns:
        str | None: the shipped name it collides with (``"default_..."`` for a prefix look-alike).
    """
    key = name_key(name)
    if key in _SHIPPED_KEYS:
        return _SHIPPED_KEYS[key]
    if _NOT_LETTER_OR_DIGIT.sub("_", _folded(name)).startswith(SHIPPED_PREFIX):
        return f"{SHIPPED_PREFIX}..."
    return None


def is_shipped(name: str, sha256: str) -> bool:
    """True when ``name`` is a shipped model's name and ``sha256`` its recorded checksum."""
    model = SHIPPED_MODELS.get(name)
    return model is not None and model.sha256 == sha256


def shipped_for(dataset: str) -> ShippedModel | None:
    """The model shipped for ``dataset`` (``None`` when there is none)."""
    return next((model for model in SHIPPED_MODELS.values() if model.dataset == dataset), None)


__all__ = ["SHIPPED_MODELS", "SHIPPED_PREFIX", "ShippedModel", "is_shipped", "name_key", "shipped_for",
           "shipped_lookalike"]
