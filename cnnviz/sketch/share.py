"""The Sketch page's share link: which model reads the drawing, as the URL parameter ``model``.

``model=session`` is this session's trained model (a new browser has none: the picker then shows the
page's first choice, the shipped MNIST model); ``model=<name>`` is the saved or shipped model ``models/<name>.keras``,
e.g. ``model=default_fashion_mnist``. The drawing itself is not in the link.
"""

from __future__ import annotations

import re

from cnnviz.core.share import Param, ParamTable

#: The model picker's widget key on the Sketch page, and its option for this session's model.
MODEL_KEY, SESSION_OPTION = "sketch_model", "session"
#: A saved model's option in the picker: ``"file:<name>"`` (see cnnviz.ui.models).
FILE_PREFIX = "file:"
#: The page's first choice when this session has not trained a model.
DEFAULT_CHOICE = f"{FILE_PREFIX}default_mnist"
#: The names the model store gives files (cnnviz.core.store): lower-case letters, digits, '_' and '-'.
MODEL_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,79}")


def _parse(text: str) -> str:
    name = text.strip()
    if name == SESSION_OPTION:
        return SESSION_OPTION
    name = name.removesuffix(".keras")
    if not MODEL_NAME.fullmatch(name):
        raise ValueError(f"{text!r} is not a model name.")
    return FILE_PREFIX + name


def _format(value: object) -> str:
    if value == SESSION_OPTION:
        return SESSION_OPTION
    if isinstance(value, str) and value.startswith(FILE_PREFIX):
        return value.removeprefix(FILE_PREFIX)
    raise ValueError(f"{value!r} is not a model choice.")


#: The Sketch page's share-link table.
SKETCH_TABLE = ParamTable((Param("model", MODEL_KEY, DEFAULT_CHOICE, _parse, _format),))
