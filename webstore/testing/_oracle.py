"""The oracle for hostile input: which keys and values the key-value API must accept.

An independent reading of the documented rules in :mod:`webstore.kv.codec` and
:func:`webstore.kv.store.validate_key`, plus the odd values :mod:`webstore.testing.hostile`
generates (they live here so the oracle and the replayer need no Hypothesis).
"""

from __future__ import annotations

import enum
from typing import Any

from webstore.errors import InvalidKey, WebstoreError
from webstore.kv import codec
from webstore.kv.store import MAX_KEY_LENGTH

__all__ = ["BadValue", "Deep", "expect_key", "expect_value"]


class BadValue:
    """An instance of a user class: never storable."""

    def __repr__(self) -> str:
        return "BadValue()"


class _Color(enum.IntEnum):
    RED = 1


class _Str(str):
    __slots__ = ()


class _Float(float):
    pass


class _Dict(dict):  # type: ignore[type-arg]
    pass


class _List(list):  # type: ignore[type-arg]
    pass


# -- the oracle -------------------------------------------------------------------------------


def _utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def expect_key(key: object) -> type[WebstoreError] | None:
    """The error a key must raise (``None``: it is valid)."""
    if type(key) is not str or not key or len(key) > MAX_KEY_LENGTH or not _utf8(key):
        return InvalidKey
    return None


def expect_value(value: Any) -> tuple[bool, Any]:
    """``(True, what get returns)`` for a storable value, ``(False, None)`` otherwise."""
    try:
        return True, _normal(value, 0, set())
    except _Unstorable:
        return False, None


class _Unstorable(Exception):
    pass


def _normal(v: Any, depth: int, active: set[int]) -> Any:
    t = type(v)
    if t is str:
        if not _utf8(v):
            raise _Unstorable
        return v
    if t in (bytes, bool, float, type(None)):
        return v
    if t is int:
        if not -(2**63) <= v < 2**64:
            raise _Unstorable
        return v
    if depth >= codec.MAX_DEPTH:  # documented: nesting deeper than MAX_DEPTH is refused
        raise _Unstorable
    if t in (dict, list, tuple):
        if id(v) in active:
            raise _Unstorable
        active.add(id(v))
        try:
            if t is dict:
                out = {}
                for k, x in v.items():
                    if not isinstance(k, str) or not _utf8(k):
                        raise _Unstorable
                    out[str(k)] = _normal(x, depth + 1, active)
                return out
            items = [_normal(x, depth + 1, active) for x in v]
            return tuple(items) if t is tuple else items
        finally:
            active.discard(id(v))
    if t is bytearray:
        return bytearray(v)
    bases: tuple[type[Any], ...] = (int, float, str, bytes, dict, list)
    for base in bases:  # subclasses come back as the base
        if isinstance(v, base):
            return _normal(base(v), depth, active)
    raise _Unstorable


def _nest(depth: int, kinds: str) -> Any:
    value: Any = "leaf"
    for i in range(depth):
        kind = kinds[i % len(kinds)]
        value = [value] if kind == "l" else (value,) if kind == "t" else {"k": value}
    return value


class Deep:
    """A deeply nested value with a short ``repr``, so failing examples stay printable.

    :meth:`HostileReplayer.apply` passes ``value`` (the real nested structure) to the store.
    """

    def __init__(self, depth: int, kinds: str) -> None:
        self.depth, self.kinds = depth, kinds
        self.value = _nest(depth, kinds)

    def __repr__(self) -> str:
        return f"Deep({self.depth}, {self.kinds!r})"


