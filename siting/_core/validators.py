"""Check one option's value and name it when it is wrong: ``where must be ..., got value``.

Every checker takes the value and where it came from (``"day_minutes"`` for a keyword,
``"problems[0].day_minutes"`` for a scenario key) and returns the value in its checked type,
or raises `InputError`. The scenario reader and the library's option objects use the same
checkers, so a rule and its message are written once.
"""

from __future__ import annotations

import codecs
import difflib
import math
from collections.abc import Callable, Iterable
from typing import Any

from siting._core.errors import InputError

Checker = Callable[[Any, str], Any]


def fail(where: str, wanted: str, value: Any) -> InputError:
    """The error for a value that is not what `where` wants."""
    return InputError(f"{where} must be {wanted}, got {value!r}")


def did_you_mean(word: str, allowed: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest allowed word, or nothing."""
    close = difflib.get_close_matches(word, list(allowed), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def is_number(value: Any) -> bool:
    """An int or float that is not a bool (True would pass as 1)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_int(value: Any) -> bool:
    """A Python int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def positive(value: Any, where: str) -> float:
    """A finite number > 0."""
    if not (is_number(value) and math.isfinite(value) and value > 0):
        raise fail(where, "a number > 0", value)
    return float(value)


def non_negative(value: Any, where: str) -> float:
    """A finite number >= 0."""
    if not (is_number(value) and math.isfinite(value) and value >= 0):
        raise fail(where, "a number >= 0", value)
    return float(value)


def fraction(value: Any, where: str) -> float:
    """A share such as a MIP gap: 0.01 is 1%, so 5 (meant as 5%) is refused, not read as 500%."""
    if not (is_number(value) and 0 <= value <= 1):
        raise fail(where, "a fraction from 0 to 1 (0.05 is 5%)", value)
    return float(value)


def at_least_one(value: Any, where: str) -> float:
    """A finite number >= 1 (a circuity factor: roads are never shorter than the line)."""
    if not (is_number(value) and math.isfinite(value) and value >= 1):
        raise fail(where, "a number >= 1", value)
    return float(value)


def positive_int(value: Any, where: str) -> int:
    """An integer >= 1."""
    if not (is_int(value) and value >= 1):
        raise fail(where, "an integer >= 1", value)
    return int(value)


def seed(value: Any, where: str) -> int:
    """A random seed every solver takes: an integer from 0 to 2**31 - 1."""
    if not (is_int(value) and 0 <= value < 2**31):
        raise fail(where, "an integer from 0 to 2147483647", value)
    return int(value)


def days_per_week(value: Any, where: str) -> int:
    """Working days a week: an integer from 1 to 7."""
    if not (is_int(value) and 1 <= value <= 7):
        raise fail(where, "an integer from 1 to 7", value)
    return int(value)


def boolean(value: Any, where: str) -> bool:
    """True or false, not 1 or "yes"."""
    if not isinstance(value, bool):
        raise fail(where, "true or false", value)
    return value


def text(value: Any, where: str) -> str:
    """A non-empty string, stripped."""
    if not (isinstance(value, str) and value.strip()):
        raise fail(where, "a non-empty string", value)
    return value.strip()


def encoding(value: Any, where: str) -> str:
    """The name of a text encoding Python knows (``"utf-8"``, ``"latin-1"``, ``"cp1252"``)."""
    name = text(value, where)
    try:
        codecs.lookup(name)
    except LookupError:
        raise fail(where, "a text encoding such as 'utf-8' or 'latin-1'", value) from None
    return name


def codes(what: str) -> Checker:
    """A list of ids or codes; whole numbers are accepted and read as text (GeoNames ids)."""

    def check(value: Any, where: str) -> tuple[str, ...]:
        ok = isinstance(value, list | tuple) and all(
            (isinstance(v, str) and v.strip()) or is_int(v) for v in value
        )
        if not ok:
            raise fail(where, f"a list of {what} (strings)", value)
        return tuple(str(v).strip() for v in value)

    return check


def choice(*options: str) -> Checker:
    """One of `options`, with a did-you-mean for a near miss."""

    def check(value: Any, where: str) -> str:
        if value not in options:
            error = fail(where, f"one of {', '.join(map(repr, options))}", value)
            raise InputError(f"{error}{did_you_mean(str(value), options)}")
        return str(value)

    return check


def optional(check: Checker) -> Checker:
    """None, or what `check` accepts."""

    def check_optional(value: Any, where: str) -> Any:
        return None if value is None else check(value, where)

    return check_optional
