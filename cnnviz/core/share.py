"""Share links: a page's settings as URL query parameters, and back, without Streamlit.

A page lists its shareable settings in a :class:`ParamTable`: one :class:`Param` per setting, each
naming its URL parameter (short, readable: ``lr``, ``b1f``), the session-state key of the widget it
restores (``train_lr``), its default and how to read and write it. The Streamlit side
(:mod:`cnnviz.ui.sharing`) only moves values between ``st.query_params``, this table and
``st.session_state``.

The rules a link follows:

* :meth:`ParamTable.encode` writes only the settings that differ from their defaults, so a page at
  its defaults has a bare URL and a link says what was changed.
* :meth:`ParamTable.decode` reads a link **without ever raising**: a value it cannot read (a typo, a
  number out of range, an option the widget does not offer, a truncated link) takes the default and
  its name is listed as ignored, as is a name the page does not know. A link therefore describes a
  whole page: what it does not name is at its default.

Example::

    table = ParamTable((integer("epochs", "train_epochs", 1, 30, 10), flag("bn", "train_bn", False)))
    table.encode({"train_epochs": 12, "train_bn": False})   # {"epochs": "12"}
    table.decode({"epochs": "12", "bn": "maybe", "x": "1"})
    # ({"train_epochs": 12, "train_bn": False}, ["bn", "x"])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

#: Stands for "this setting has no value in the session yet" (:meth:`Param.current` returns it).
MISSING: Any = object()

#: The longest URL value a parameter reads; a longer one is ignored (nothing the studio writes is near it).
MAX_VALUE_LENGTH = 2000


class ShareError(ValueError):
    """A parameter table that is wrongly built (two parameters with one name, say): a programming error."""


def _state_get(key: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda state: state.get(key, MISSING)


@dataclass(frozen=True)
class Param:
    """One shareable setting.

    Attributes:
        name: the URL parameter's name (``"lr"``).
        key: the session-state key of the widget it restores (``"train_lr"``); also the key of its value
            in :meth:`ParamTable.decode`'s result.
        default: the widget's value on first view; left out of links.
        parse: reads the URL text into a value; raises ``ValueError`` (or ``TypeError``) for text it refuses,
            including a value the widget does not offer.
        format: writes a value as URL text; ``parse(format(value)) == value`` for every value it accepts.
        current: reads the value from session state (default: ``state[key]``), or :data:`MISSING`.
    """

    name: str
    key: str
    default: Any
    parse: Callable[[str], Any]
    format: Callable[[Any], str] = str
    current: Callable[[Mapping[str, Any]], Any] | None = None

    def read(self, state: Mapping[str, Any]) -> Any:
        """This setting's value in ``state`` (session state), or :data:`MISSING`."""
        reader = self.current or _state_get(self.key)
        return reader(state)

    def text(self, value: Any) -> str | None:
        """``value`` as URL text, or ``None`` when this parameter cannot write it (it would not read it back)."""
        try:
            text = self.format(value)
            back = self.parse(text)
        except (TypeError, ValueError, KeyError, IndexError, ArithmeticError):
            return None
        return text if _same(back, value) else None


def _same(a: Any, b: Any) -> bool:
    """Equal, with floats equal to 1e-9 (a slider's 0.15000000000000002 is the link's 0.15)."""
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - arrays and odd objects compare as different
        return False


def choice(name: str, key: str, options: Sequence[Any], default: Any = MISSING, *,
           codes: Mapping[Any, str] | None = None) -> Param:
    """A setting with a fixed list of options (a select box, radio or select slider).

    The URL holds ``str(option)`` (or ``codes[option]`` when given, for options such as ``"= size"``); a
    text that is none of them is refused, so a link can never give a widget an option it does not have.

    Args:
        default: the option shown first (default: the first option, as Streamlit does).
    """
    options = tuple(options)
    if not options:
        raise ShareError(f"Parameter {name!r} needs at least one option.")
    text_of = {option: (codes or {}).get(option, str(option)) for option in options}
    option_of = {text: option for option, text in text_of.items()}
    if len(option_of) != len(options):
        raise ShareError(f"Parameter {name!r} writes two options the same way: {list(text_of.values())}.")

    def parse(text: str) -> Any:
        if text not in option_of:
            raise ValueError(f"{text!r} is not one of {list(option_of)}.")
        return option_of[text]

    def format_option(value: Any) -> str:
        for option, text in text_of.items():
            if option == value and isinstance(option, bool) == isinstance(value, bool):
                return text
        raise ValueError(f"{value!r} is not one of the options {list(options)}.")

    return Param(name, key, options[0] if default is MISSING else default, parse, format_option)


def integer(name: str, key: str, low: int, high: int, default: int) -> Param:
    """A whole number from ``low`` to ``high`` (a slider or number input of whole numbers)."""

    def parse(text: str) -> int:
        value = int(text.strip(), 10)
        if not low <= value <= high:
            raise ValueError(f"{value} is outside {low}..{high}.")
        return value

    def format_int(value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"Expected a whole number, got {value!r}.")
        return str(value)

    return Param(name, key, default, parse, format_int)


def number(name: str, key: str, low: float, high: float, default: float, *, step: float | None = None) -> Param:
    """A finite number from ``low`` to ``high``; with ``step``, only multiples of it (a slider's stops).

    Values are rounded to 6 decimals, as a slider's ``0.05`` steps add up to ``0.15000000000000002``.
    """

    def parse(text: str) -> float:
        value = float(text.strip())
        if not math.isfinite(value) or not low <= value <= high:
            raise ValueError(f"{text!r} is not a number from {low:g} to {high:g}.")
        if step is not None and abs(value / step - round(value / step)) > 1e-6:
            raise ValueError(f"{value:g} is not a multiple of {step:g}.")
        return round(value, 6)

    def format_number(value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"Expected a number, got {value!r}.")
        return f"{round(float(value), 6):g}"

    return Param(name, key, float(default), parse, format_number)


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def flag(name: str, key: str, default: bool) -> Param:
    """On or off (a checkbox or toggle): ``1``/``0`` in links; ``true``/``false``, ``yes``/``no`` are read too."""

    def parse(text: str) -> bool:
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"{text!r} is not 1 or 0.")

    def format_flag(value: Any) -> str:
        if not isinstance(value, bool):
            raise TypeError(f"Expected True or False, got {value!r}.")
        return "1" if value else "0"

    return Param(name, key, bool(default), parse, format_flag)


def _query_text(value: Any) -> str | None:
    """The text of one query value: a string, or the last of a list of strings (``?a=1&a=2`` reads 2)."""
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else None
    if not isinstance(value, str) or len(value) > MAX_VALUE_LENGTH:
        return None
    return value


Finish = Callable[[dict[str, Any], Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class ParamTable:
    """A page's shareable settings.

    Attributes:
        params: the settings, each with a distinct URL name and session-state key.
        finish: optional: turns decoded values (by key) and the current session state into the session-state
            updates to make, for settings kept in something other than one widget each (the Kernels page's
            bank of kernels). Default: set each key to its value.
    """

    params: tuple[Param, ...]
    finish: Finish | None = field(default=None)

    def __post_init__(self) -> None:
        for attribute in ("name", "key"):
            seen = [getattr(param, attribute) for param in self.params]
            doubles = sorted({value for value in seen if seen.count(value) > 1})
            if doubles:
                raise ShareError(f"Each parameter needs its own {attribute}; {doubles} appear twice.")

    @property
    def names(self) -> frozenset[str]:
        """The URL names this table reads."""
        return frozenset(param.name for param in self.params)

    def defaults(self) -> dict[str, Any]:
        """Every setting's default, by session-state key."""
        return {param.key: param.default for param in self.params}

    def decode(self, query: Any) -> tuple[dict[str, Any], list[str]]:
        """Read a link's query parameters; never raises.

        Args:
            query: ``{name: text}`` (or ``{name: [texts]}``, the last one counts), e.g. ``st.query_params.to_dict()``.
                Anything else reads as no parameters.

        Returns:
            (values by session-state key, every setting included: defaults where the link said nothing or could
            not be read; the names that were ignored, sorted: unreadable values and names this table does not know).
        """
        values = self.defaults()
        ignored: list[str] = []
        try:
            items = list(query.items()) if isinstance(query, Mapping) else []
        except Exception:  # noqa: BLE001 - a mapping whose items() fails reads as an empty link
            items = []
        by_name = {param.name: param for param in self.params}
        for name, raw in items:
            param = by_name.get(name) if isinstance(name, str) else None
            if param is None:
                ignored.append(str(name)[:40])
                continue
            text = _query_text(raw)
            try:
                if text is None:
                    raise ValueError("not text")
                values[param.key] = param.parse(text)
            except Exception:  # noqa: BLE001 - a hand-edited link must never break the page: default instead
                ignored.append(name)
        return values, sorted(set(ignored))

    def encode(self, values: Mapping[str, Any]) -> dict[str, str]:
        """The query parameters of ``values`` (by session-state key): only settings that differ from the default.

        A value a parameter cannot write (missing, or not one it would read back) is left out.
        """
        query: dict[str, str] = {}
        for param in self.params:
            value = values.get(param.key, MISSING)
            if value is MISSING:
                continue
            text = param.text(value)
            if text is None or param.text(param.default) == text:
                continue
            query[param.name] = text
        return query

    def current(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The settings' values in ``state`` (session state), by key; settings without a value are left out."""
        values = {}
        for param in self.params:
            value = param.read(state)
            if value is not MISSING:
                values[param.key] = value
        return values

    def updates(self, values: dict[str, Any], state: Mapping[str, Any]) -> dict[str, Any]:
        """The session-state entries to set so the widgets show ``values`` (see :attr:`finish`)."""
        return self.finish(values, state) if self.finish is not None else dict(values)

    def mentions(self, query: Any) -> bool:
        """Whether ``query`` names at least one of this table's parameters."""
        return isinstance(query, Mapping) and any(name in self.names for name in list(query))


def query_string(query: Mapping[str, str]) -> str:
    """``query`` as the text after ``?`` (``a=1&b=x+y``), in the table's order; ``""`` for none."""
    return urlencode(list(query.items()))


__all__ = [
    "MISSING", "Param", "ParamTable", "ShareError", "choice", "flag", "integer", "number", "query_string",
]
